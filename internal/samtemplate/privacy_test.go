package samtemplate

import (
	"slices"
	"strings"
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
	for _, role := range []string{"SalesServiceRole", "ComplianceRole", functionRole(t, tpl, "SurveySenderFunction"),
		functionRole(t, tpl, "PrivacyFunction"), functionRole(t, tpl, "PrivacySweepFunction")} {
		if !appenders[role] {
			t.Errorf("%s decrypts but cannot write the audit", role)
		}
	}
}

// The actions that write an audit record and those that read one. IAM
// cannot require the attribute_not_exists condition the code puts on an
// audit record, so a principal that may both list the audit and put may
// put over a record it found (another actor, purpose or fields). Audit
// sort keys are a time and a random id: a writer that cannot read cannot
// name an existing record. ConditionCheckItem neither writes nor returns
// an item.
var (
	auditWrites = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
		"dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}
	auditReads = []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Scan", "dynamodb:PartiQLSelect"}
)

// mayMatchPrefix reports whether a LeadingKeys pattern (StringLike: * and ?
// wildcards) may match a key starting with prefix. It errs towards yes: a
// pattern whose literal head is a prefix of prefix ("A*", "*", "AUD?T#1")
// may.
func mayMatchPrefix(pattern, prefix string) bool {
	head, _, wild := strings.Cut(strings.ReplaceAll(pattern, "?", "*"), "*")
	if !wild {
		return strings.HasPrefix(pattern, prefix)
	}
	return strings.HasPrefix(head, prefix) || strings.HasPrefix(prefix, head)
}

// reachesAudit returns the actions among actions that a statement allows
// on some AUDIT# item: with no LeadingKeys condition it reaches every
// partition; a Scan carries no partition key, so no condition limits it.
func reachesAudit(s statement, actions []string) []string {
	if s.Effect != "Allow" {
		return nil
	}
	keys, limited := leadingKeys(s)
	reaches := !limited || slices.ContainsFunc(keys, func(k string) bool { return mayMatchPrefix(k, "AUDIT#") })
	var out []string
	for _, a := range actions {
		if s.allows(a) && (reaches || a == "dynamodb:Scan") {
			out = append(out, a)
		}
	}
	return out
}

// auditConflicts says how a principal's statements let it both write and
// read the audit, or "" when they do not.
func auditConflicts(sts []statement) string {
	var writes, reads []string
	for _, s := range sts {
		for _, a := range reachesAudit(s, auditWrites) {
			writes = append(writes, s.String()+" "+a)
		}
		for _, a := range reachesAudit(s, auditReads) {
			reads = append(reads, s.String()+" "+a)
		}
	}
	if len(writes) == 0 || len(reads) == 0 {
		return ""
	}
	return "writes AUDIT# (" + strings.Join(writes, ", ") + ") and reads it (" + strings.Join(reads, ", ") + ")"
}

// Append-only against the roles themselves: no principal — operator role
// or function role, in any of its policies together — may both write and
// read AUDIT#. The readers of data append (TestAuditIsAppendOnly); the
// auditor reads (TestAuditorReadsAuditWithoutKMS).
func TestAuditWritersCannotReadIt(t *testing.T) {
	tpl := open(t)
	ids := identityPolicies(t, tpl)
	if len(ids) < 10 {
		t.Fatalf("found policies for only %d principals", len(ids))
	}
	for role, sts := range ids {
		if c := auditConflicts(sts); c != "" {
			t.Errorf("%s %s: it could put over a record it lists", role, c)
		}
	}
}

// The check itself, on policies shaped like the template's: the
// compliance role as it was (append in one statement, list in another)
// is caught, as are wildcards and unconditioned statements; a writer
// with no read of AUDIT#, and a reader with no write, pass.
func TestAuditConflicts(t *testing.T) {
	on := func(sid string, actions []string, keys ...string) statement {
		s := statement{Where: "test", Sid: sid, Effect: "Allow", Actions: actions, Resources: []string{"GetAtt:CustomerTable.Arn"},
			Condition: map[string]map[string][]string{}}
		if len(keys) > 0 {
			s.Condition["ForAllValues:StringLike"] = map[string][]string{"dynamodb:LeadingKeys": keys}
		}
		return s
	}
	put, query := []string{"dynamodb:PutItem"}, []string{"dynamodb:Query"}
	cases := []struct {
		name     string
		sts      []statement
		conflict bool
	}{
		{"compliance as it was", []statement{
			on("ReadCustomers", []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}, "CUST#*", "DKEY#*"),
			on("AppendAuditRecords", put, "AUDIT#*"),
			on("ReadAuditAndRequests", query, "AUDIT#*", "REQUESTS")}, true},
		{"one statement", []statement{on("Both", []string{"dynamodb:PutItem", "dynamodb:GetItem"}, "AUDIT#*")}, true},
		{"a read of every partition", []statement{on("Append", put, "AUDIT#*"), on("ReadAll", query, "*")}, true},
		{"a read with no condition", []statement{on("Append", put, "AUDIT#*"), on("ReadAll", []string{"dynamodb:BatchGetItem"})}, true},
		{"a write with no condition", []statement{on("WriteAll", []string{"dynamodb:UpdateItem"}), on("ReadAudit", query, "AUDIT#*")}, true},
		{"a scan", []statement{on("Append", put, "AUDIT#*"), on("Scan", []string{"dynamodb:Scan"}, "CUST#*")}, true},
		{"a wildcard action", []statement{on("Append", []string{"dynamodb:*"}, "AUDIT#*")}, true},
		{"a wildcard key", []statement{on("Append", put, "A*"), on("ReadOne", []string{"dynamodb:GetItem"}, "AUDIT#c1")}, true},
		{"one customer's audit", []statement{on("Delete", []string{"dynamodb:DeleteItem"}, "AUDIT#c1"), on("Read", query, "AUDIT#c?")}, true},
		{"appends only", []statement{on("Append", put, "AUDIT#*"), on("ReadCustomers", query, "CUST#*", "REVIEW*", "CONFIG")}, false},
		{"reads only", []statement{on("ReadAudit", query, "AUDIT#*"), on("GetRequests", []string{"dynamodb:GetItem"}, "REQ#*")}, false},
		{"a check is no write", []statement{on("Check", []string{"dynamodb:ConditionCheckItem"}, "AUDIT#*"), on("ReadAudit", query, "AUDIT#*")}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := auditConflicts(tc.sts); (got != "") != tc.conflict {
				t.Errorf("auditConflicts = %q, want a conflict: %v", got, tc.conflict)
			}
		})
	}
}

// `kehu audit ID` runs as the auditor: it may read AUDIT# (and the
// requests, which hold no personal value) and nothing else — no write at
// all, and no KMS: no key policy names it, no IAM statement of its allows
// a KMS action. It sees who read which fields and tiers, never a value.
// And it is the only reader of the audit, besides the analysts' general
// attributes (keys and kinds; TestAnalystReadsGeneralTierOnly).
func TestAuditorReadsAuditWithoutKMS(t *testing.T) {
	tpl := open(t)
	ids := identityPolicies(t, tpl)
	sts, ok := ids["AuditorRole"]
	if !ok || len(sts) == 0 {
		t.Fatal("no AuditorRole, or it has no policy")
	}
	var reads []string
	for _, s := range sts {
		if s.Effect != "Allow" {
			continue
		}
		if len(s.NotAction) > 0 {
			t.Errorf("%s uses NotAction", s)
		}
		for _, a := range s.Actions {
			if !strings.HasPrefix(strings.ToLower(a), "dynamodb:") {
				t.Errorf("%s allows %s", s, a)
			}
		}
		if a, ok := s.allowsAny(ddbWrites); ok {
			t.Errorf("%s allows %s", s, a)
		}
		reads = append(reads, reachesAudit(s, auditReads)...)
	}
	if !slices.Contains(reads, "dynamodb:Query") {
		t.Error("AuditorRole cannot query AUDIT#: kehu audit would fail")
	}
	for key, kp := range keyPolicies(t, tpl) {
		for _, s := range kp {
			if slices.ContainsFunc(s.Principals, func(p string) bool { return principalRole(p) == "AuditorRole" }) {
				t.Errorf("%s names AuditorRole (on %s)", s, key)
			}
		}
	}
	for role, rs := range ids {
		if role == "AuditorRole" || role == "AnalystRole" {
			continue
		}
		for _, s := range rs {
			if r := reachesAudit(s, auditReads); len(r) > 0 {
				t.Errorf("%s lets %s %v the audit; only the auditor reads it", s, role, r)
			}
		}
	}
}
