package samtemplate

import (
	"slices"
	"testing"
)

// Audit records cannot be altered by the roles that read data: every
// statement reaching AUDIT# allows appending (PutItem; the code conditions
// it on the item's absence) or reading, never UpdateItem, DeleteItem or a
// batch write.
func TestAuditIsAppendOnly(t *testing.T) {
	tpl := open(t)
	allowed := []string{"dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem"}
	appenders := map[string]bool{}
	for role, sts := range identityPolicies(t, tpl) {
		for _, s := range sts {
			keys, ok := leadingKeys(s)
			if !ok || s.Effect != "Allow" || !slices.ContainsFunc(keys, func(k string) bool { return within("AUDIT#x", []string{k}) }) {
				continue
			}
			for _, a := range s.Actions {
				if !slices.Contains(allowed, a) {
					t.Errorf("%s lets %s %s audit records", s, role, a)
				}
				if a == "dynamodb:PutItem" {
					appenders[role] = true
				}
			}
		}
	}
	// Whoever may decrypt a tier appends to the audit.
	for _, role := range []string{"SalesServiceRole", "ComplianceRole", functionRole(t, tpl, "SurveySenderFunction")} {
		if !appenders[role] {
			t.Errorf("%s decrypts but cannot write the audit", role)
		}
	}
}
