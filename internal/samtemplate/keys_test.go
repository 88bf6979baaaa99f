package samtemplate

import (
	"slices"
	"testing"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
)

// The template's name for the table, as the test's markers show it.
const tableRef = "Ref:CustomerTable"

// The keys and the encryption context every use of each must be pinned to:
// the very context the code sends, so the template cannot drift from it.
func keyContexts() map[string]map[string]string {
	return map[string]map[string]string{
		"ConfidentialKey": envelope.Context(tableRef, customer.Confidential),
		"RestrictedKey":   envelope.Context(tableRef, customer.Restricted),
		"BlindIndexKey":   blindindex.Context(tableRef),
	}
}

// Who may decrypt under each key, from its key policy: exactly these.
func TestKeyReaders(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	ids := identityPolicies(t, tpl)
	intake := functionRole(t, tpl, "FormIntakeFunction")
	cases := []struct {
		key     string
		readers []string
	}{
		{"RestrictedKey", []string{"ComplianceRole"}},
		{"ConfidentialKey", []string{"SalesServiceRole", "ComplianceRole"}},
		{"BlindIndexKey", []string{intake, "SalesServiceRole", "ComplianceRole", "AdminRole"}},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			sts, ok := kps[tc.key]
			if !ok {
				t.Fatalf("no key %s", tc.key)
			}
			got := principals(sts, decryptActions)
			if !slices.Equal(sortedKeys(got), setOf(tc.readers...)) {
				t.Errorf("the key policy lets %v decrypt, want exactly %v; granted by %v", sortedKeys(got), setOf(tc.readers...), got)
			}
			// Nor can an IAM policy add a reader: none names the key for a
			// decrypt, and the account's own statement delegates none.
			for role, rs := range ids {
				for _, s := range rs {
					if a, ok := s.allowsAny(decryptActions); ok && s.onKey(tc.key) {
						t.Errorf("%s (attached to %s) grants %s on %s", s, role, a, tc.key)
					}
				}
			}
			for _, s := range sts {
				if slices.ContainsFunc(s.Principals, isAccountRoot) {
					if a, ok := s.allowsAny(cryptoActions); ok {
						t.Errorf("%s lets the account (so any IAM policy) %s", s, a)
					}
				}
			}
		})
	}
}

// The intake function may generate data keys under the tier keys but
// never decrypt under them: a compromised intake cannot read what is stored.
func TestIntakeGeneratesButCannotDecrypt(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	intake := functionRole(t, tpl, "FormIntakeFunction")
	for _, key := range []string{"ConfidentialKey", "RestrictedKey"} {
		t.Run(key, func(t *testing.T) {
			if _, ok := principals(kps[key], []string{"kms:GenerateDataKey"})[intake]; !ok {
				t.Errorf("%s cannot generate data keys under %s", intake, key)
			}
			if by, ok := principals(kps[key], decryptActions)[intake]; ok {
				t.Errorf("%s may decrypt under %s: %v", intake, key, by)
			}
		})
	}
}

// Every use of a key, in its key policy or in any IAM policy, is pinned by
// StringEquals to the encryption context the code sends: the table and the
// key's tier (or the blind index's purpose). A data key generated for one
// tier or table cannot be asked for under another.
func TestKeyUseIsPinned(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	ids := identityPolicies(t, tpl)
	contexts := keyContexts()
	for key, sts := range kps {
		t.Run(key, func(t *testing.T) {
			want, ok := contexts[key]
			if !ok {
				t.Fatalf("declare in keyContexts the encryption context of %s", key)
			}
			var uses []statement
			for _, s := range sts {
				if _, ok := s.allowsAny(cryptoActions); ok {
					uses = append(uses, s)
				}
			}
			for _, rs := range ids {
				for _, s := range rs {
					if _, ok := s.allowsAny(cryptoActions); ok && s.onKey(key) {
						uses = append(uses, s)
					}
				}
			}
			if len(uses) == 0 {
				t.Fatal("nobody may use the key")
			}
			for _, s := range uses {
				eq := s.Condition["StringEquals"]
				for name, value := range want {
					if got := eq["kms:EncryptionContext:"+name]; !slices.Equal(got, []string{value}) {
						t.Errorf("%s: StringEquals kms:EncryptionContext:%s is %v, want [%s]", s, name, got, value)
					}
				}
			}
		})
	}
	if len(kps) != len(contexts) {
		t.Errorf("template has keys %v, want %v", sortedKeys(kps), sortedKeys(contexts))
	}
}

// Each key has one statement for its administration: the account, the
// administration actions and nothing that uses the key. So an IAM
// administrator can manage the key but not decrypt with it.
func TestKeyAdministrationCannotUseKeys(t *testing.T) {
	tpl := open(t)
	for key, sts := range keyPolicies(t, tpl) {
		t.Run(key, func(t *testing.T) {
			admins := 0
			for _, s := range sts {
				if slices.Contains(s.Principals, "*") && s.Effect == "Allow" {
					t.Errorf("%s allows anyone", s)
				}
				if !slices.ContainsFunc(s.Principals, isAccountRoot) || s.Effect != "Allow" {
					continue
				}
				admins++
				if len(s.NotAction) > 0 {
					t.Errorf("%s uses NotAction", s)
				}
				if !slices.Equal(setOf(s.Actions...), setOf(adminActions...)) {
					t.Errorf("%s allows %v, want the administration actions %v", s, s.Actions, adminActions)
				}
				for _, a := range cryptoActions {
					if s.allows(a) {
						t.Errorf("%s allows %s", s, a)
					}
				}
			}
			if admins != 1 {
				t.Errorf("%d statements for the account, want one (key administration)", admins)
			}
		})
	}
}
