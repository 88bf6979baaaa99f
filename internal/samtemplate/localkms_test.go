package samtemplate

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/kehu-dev/kehu/internal/localkms"
)

// Each principal of local/kms.json and the template roles it stands for.
var localPrincipals = map[string][]string{
	"kehu-intake":  {"FormIntakeRole"},
	"kehu-webhook": {"WebhookIntakeRole"},
	"kehu-setup":   {"SetupRole"},
	"kehu-survey":  {"SurveyIntakeRole"},
	"kehu-sender":  {"SurveySenderRole"},
	// The privacy function, and locally also its sweep (a subset of it).
	"kehu-privacy":    {"PrivacyRole", "PrivacySweepRole"},
	"kehu-sales":      {"SalesServiceRole"},
	"kehu-compliance": {"ComplianceRole"},
	"kehu-analyst":    {"AnalystRole"},
	// Locally the operator's `kehu setup` (and the local stack's own
	// seeding, sources' secrets too) runs as the admin, doing what
	// SetupRole does on deploy.
	"kehu-admin": {"AdminRole", "SetupRole"},
}

// The KMS actions compared: every use of a key, and DescribeKey.
var comparedActions = append(slices.Clone(cryptoActions), "kms:DescribeKey")

// pins renders the encryption context a statement pins, without the table
// (the local stack's table differs per test, so only tier and purpose are
// pinned locally).
func pins(ctx map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ctx)) {
		if k != "kehu:table" {
			out = append(out, k+"="+ctx[k])
		}
	}
	return "{" + strings.Join(out, ",") + "}"
}

func statementPins(s statement) string {
	ctx := map[string]string{}
	for k, v := range s.Condition["StringEquals"] {
		if name, ok := strings.CutPrefix(k, "kms:EncryptionContext:"); ok && len(v) == 1 {
			ctx[name] = v[0]
		}
	}
	return pins(ctx)
}

// templateGrants is what the template lets role do with each key: from the
// key policies that name it, and from its IAM policies for the actions the
// key's account statement delegates to IAM.
func templateGrants(role string, kps map[string][]statement, ids map[string][]statement) []string {
	var out []string
	for key, sts := range kps {
		for _, s := range sts {
			if !slices.ContainsFunc(s.Principals, func(p string) bool { return principalRole(p) == role }) {
				continue
			}
			for _, a := range comparedActions {
				if s.allows(a) {
					out = append(out, fmt.Sprintf("%s %s %s", a, key, statementPins(s)))
				}
			}
		}
		for _, s := range ids[role] {
			for _, a := range comparedActions {
				delegated := slices.ContainsFunc(sts, func(k statement) bool {
					return k.allows(a) && slices.ContainsFunc(k.Principals, isAccountRoot)
				})
				if s.allows(a) && s.onKey(key) && delegated {
					out = append(out, fmt.Sprintf("%s %s %s", a, key, statementPins(s)))
				}
			}
		}
	}
	return setOf(out...)
}

// local/kms.json mirrors the template: each local principal may do exactly
// what the roles it stands for may do, key by key, with the same tier or
// purpose pinned.
func TestLocalKMSMirrorsTemplate(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	ids := identityPolicies(t, tpl)
	cfg, err := localkms.LoadConfig("../../local/kms.json")
	if err != nil {
		t.Fatal(err)
	}
	// The local stack's key aliases stand in for the template's keys.
	fc := localkms.FunctionConfig("t")
	keyOf := map[string]string{fc.ConfidentialKey: "ConfidentialKey", fc.RestrictedKey: "RestrictedKey", fc.BlindIndexKey: "BlindIndexKey",
		localkms.SecretsAlias: "SecretsKey"}
	for _, k := range cfg.Keys {
		if _, ok := keyOf[k.Alias]; !ok {
			t.Errorf("local key %s has no template key", k.Alias)
		}
	}

	mapped := map[string]bool{}
	for _, p := range cfg.Principals {
		t.Run(p.Name, func(t *testing.T) {
			roles, ok := localPrincipals[p.Name]
			if !ok {
				t.Fatalf("declare in localPrincipals which template roles %s stands for", p.Name)
			}
			var want []string
			for _, r := range roles {
				if _, ok := tpl.GetAllIAMRoleResources()[r]; !ok {
					t.Fatalf("no role %s in the template", r)
				}
				mapped[r] = true
				want = append(want, templateGrants(r, kps, ids)...)
			}
			var got []string
			for _, g := range p.Allow {
				keys := g.Keys
				if slices.Contains(keys, "*") {
					keys = slices.Collect(maps.Keys(keyOf))
				}
				for _, a := range comparedActions {
					if !slices.Contains(g.Actions, a) && !slices.Contains(g.Actions, "kms:*") {
						continue
					}
					for _, alias := range keys {
						key, ok := keyOf[alias]
						if !ok {
							t.Errorf("grant on unknown key %s", alias)
							continue
						}
						got = append(got, fmt.Sprintf("%s %s %s", a, key, pins(g.Context)))
					}
				}
			}
			got, want = setOf(got...), setOf(want...)
			t.Logf("%s may: %v", p.Name, got)
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("local grant %q is not in the template for %v", g, roles)
				}
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("the template grants %v %q, the local KMS does not", roles, w)
				}
			}
		})
	}
	// A role the template grants no use of any key (the segmenter's, the
	// sweep's) needs no local principal: locally it never calls KMS, and the
	// local KMS refuses whoever it does not know.
	for r := range tpl.GetAllIAMRoleResources() {
		if grants := templateGrants(r, kps, ids); !mapped[r] && len(grants) > 0 {
			t.Errorf("role %s has no local principal, and the template grants it %v", r, grants)
		}
	}
}
