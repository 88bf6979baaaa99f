package samtemplate

import (
	"slices"
	"strings"
	"testing"

	"github.com/kehu-dev/kehu/internal/localkms"
	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/source"
)

// The template's name for the table, as the test's markers show it.
const tableRef = "Ref:CustomerTable"

// The encryption context the code sends with each key: the very context,
// from the code's own functions, so the template cannot drift from it.
func codeContexts() map[string]map[string]string {
	return map[string]map[string]string{
		"ConfidentialKey": envelope.Context(tableRef, customer.Confidential),
		"RestrictedKey":   envelope.Context(tableRef, customer.Restricted),
		"BlindIndexKey":   blindindex.Context(tableRef),
		"SecretsKey":      source.Context(tableRef, "any-source"),
	}
}

// Context names whose value differs from one use of the key to the next,
// so no policy can pin them: a pin would refuse every other value.
var unpinned = map[string][]string{
	"SecretsKey": {"kehu:source"}, // one secret per source
}

// Context names a key's statements pin to one of several values: the
// blind-index key wraps two secrets, each statement names which.
var pinnedToOneOf = map[string]map[string][]string{
	"BlindIndexKey": {"kehu:purpose": {blindindex.PurposeBlindIndex, blindindex.PurposeIntakeKeys, link.PurposeLinkSecret}},
}

// The keys and the encryption context every use of each must be pinned
// to: the code's context less what varies.
func keyContexts(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := codeContexts()
	for key, names := range pinnedToOneOf {
		for n := range names {
			delete(out[key], n)
		}
	}
	for key, names := range unpinned {
		for _, n := range names {
			if _, ok := out[key][n]; !ok {
				t.Errorf("%s of %s is not in the context the code sends (%v)", n, key, out[key])
			}
			delete(out[key], n)
		}
	}
	return out
}

// The operator roles people assume.
var operatorRoles = []string{"SalesServiceRole", "ComplianceRole", "AuditorRole", "AnalystRole", "AdminRole"}

// Key administration actions that would let whoever holds them grant
// themselves a use of the key: the account's statement delegates them to
// IAM, so no IAM policy in the template may give them.
var escalationActions = []string{"kms:CreateGrant", "kms:PutKeyPolicy", "kms:ReplicateKey", "kms:ImportKeyMaterial"}

// Who may decrypt under each key, from its key policy: exactly these.
func TestKeyReaders(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	ids := identityPolicies(t, tpl)
	intake := functionRole(t, tpl, "FormIntakeFunction")
	webhook := functionRole(t, tpl, "WebhookIntakeFunction")
	survey := functionRole(t, tpl, "SurveyIntakeFunction")
	sender := functionRole(t, tpl, "SurveySenderFunction")
	priv, privSweep := functionRole(t, tpl, "PrivacyFunction"), functionRole(t, tpl, "PrivacySweepFunction")
	cases := []struct {
		key     string
		readers []string
	}{
		// The person's own copy holds their restricted values (privacy); an
		// erasure searches for a child's identifiers, sealed restricted
		// (privacy sweep).
		{"RestrictedKey", []string{"ComplianceRole", priv, privSweep}},
		// The survey sender reads the address it emails; the privacy sweep
		// the identifiers it must find to erase.
		{"ConfidentialKey", []string{"SalesServiceRole", "ComplianceRole", sender, priv, privSweep}},
		{"BlindIndexKey", []string{intake, webhook, survey, sender, priv, "SalesServiceRole", "ComplianceRole", "AdminRole", functionRole(t, tpl, "SetupFunction")}},
		// Webhook sources' secrets: the webhook function only, no person.
		{"SecretsKey", []string{webhook}},
	}
	if got, want := len(cases), len(kps); got != want {
		t.Errorf("%d keys with declared readers, the template has %d (%v)", got, want, sortedKeys(kps))
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
			// decrypt, or for a grant or a key policy that would add one,
			// and the account's own statement delegates no decrypt.
			for role, rs := range ids {
				for _, s := range rs {
					if a, ok := s.allowsAny(append(slices.Clone(decryptActions), escalationActions...)); ok && s.onKey(tc.key) {
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

// No person can read a webhook source's secret: no operator role may
// decrypt under the secrets key, nor grant itself a use of it, in the key
// policy or in its IAM policies. The admin wraps secrets and only wraps.
func TestNoPersonReadsWebhookSecrets(t *testing.T) {
	tpl := open(t)
	sts, ok := keyPolicies(t, tpl)["SecretsKey"]
	if !ok {
		t.Fatal("no SecretsKey")
	}
	ids := identityPolicies(t, tpl)
	readers := principals(sts, decryptActions)
	for _, role := range operatorRoles {
		t.Run(role, func(t *testing.T) {
			if by, ok := readers[role]; ok {
				t.Errorf("%s may decrypt webhook secrets: %v", role, by)
			}
			for _, s := range ids[role] {
				if a, ok := s.allowsAny(append(slices.Clone(cryptoActions), escalationActions...)); ok && s.onKey("SecretsKey") {
					t.Errorf("%s grants %s %s on the secrets key", s, role, a)
				}
			}
		})
	}
	if _, ok := principals(sts, []string{"kms:Encrypt"})["AdminRole"]; !ok {
		t.Error("AdminRole cannot wrap a webhook secret (kms:Encrypt): kehu sources put would fail")
	}
}

// Everything each key may be used for, by whom, from its key policy:
// exactly these uses (a new use is a decision, made here).
func TestKeyUses(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	form := functionRole(t, tpl, "FormIntakeFunction")
	webhook := functionRole(t, tpl, "WebhookIntakeFunction")
	setupRole := functionRole(t, tpl, "SetupFunction")
	survey := functionRole(t, tpl, "SurveyIntakeFunction")
	sender := functionRole(t, tpl, "SurveySenderFunction")
	priv, privSweep := functionRole(t, tpl, "PrivacyFunction"), functionRole(t, tpl, "PrivacySweepFunction")
	want := map[string][]string{
		"ConfidentialKey": {
			form + " kms:GenerateDataKey", webhook + " kms:GenerateDataKey", survey + " kms:GenerateDataKey",
			"ComplianceRole kms:GenerateDataKey", // replaying a quarantined webhook
			"SalesServiceRole kms:Decrypt", "ComplianceRole kms:Decrypt",
			sender + " kms:Decrypt",                           // the address it emails
			priv + " kms:Decrypt", privSweep + " kms:Decrypt", // the person's copy; what an erasure must find
		},
		"RestrictedKey": {
			form + " kms:GenerateDataKey", webhook + " kms:GenerateDataKey", survey + " kms:GenerateDataKey",
			"ComplianceRole kms:GenerateDataKey", // replaying a quarantined webhook
			"ComplianceRole kms:Decrypt",
			priv + " kms:Decrypt", privSweep + " kms:Decrypt", // the person's copy; an erasure's search
		},
		"BlindIndexKey": {
			form + " kms:Decrypt", webhook + " kms:Decrypt", survey + " kms:Decrypt", sender + " kms:Decrypt", priv + " kms:Decrypt",
			"SalesServiceRole kms:Decrypt", "ComplianceRole kms:Decrypt", "AdminRole kms:Decrypt",
			setupRole + " kms:Decrypt", setupRole + " kms:Encrypt",
		},
		"SecretsKey": {
			"AdminRole kms:Encrypt", // kehu sources put, kehu sources secret add
			webhook + " kms:Decrypt",
		},
	}
	if !slices.Equal(sortedKeys(kps), sortedKeys(want)) {
		t.Errorf("template keys %v, want %v", sortedKeys(kps), sortedKeys(want))
	}
	for key, sts := range kps {
		t.Run(key, func(t *testing.T) {
			var got []string
			for _, a := range cryptoActions {
				for p := range principals(sts, []string{a}) {
					if !isAccountRoot(p) {
						got = append(got, p+" "+a)
					}
				}
			}
			if got, want := setOf(got...), setOf(want[key]...); !slices.Equal(got, want) {
				t.Errorf("the key policy allows %v, want exactly %v", got, want)
			}
		})
	}
}

// The functions behind the HTTP API may generate data keys under the tier
// keys but never decrypt under them: a compromised intake function cannot
// read what is stored.
func TestIntakeGeneratesButCannotDecrypt(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	fns := httpFunctions(tpl)
	if len(fns) < 2 {
		t.Fatalf("functions behind the HTTP API: %v; want form-intake and webhook-intake at least", fns)
	}
	for _, fn := range fns {
		if fn == "PrivacyFunction" {
			continue // not an intake function: it reads the person's own copy (TestKeyReaders)
		}
		intake := functionRole(t, tpl, fn)
		for _, key := range []string{"ConfidentialKey", "RestrictedKey"} {
			t.Run(fn+"/"+key, func(t *testing.T) {
				if _, ok := principals(kps[key], []string{"kms:GenerateDataKey"})[intake]; !ok {
					t.Errorf("%s cannot generate data keys under %s", intake, key)
				}
				if by, ok := principals(kps[key], decryptActions)[intake]; ok {
					t.Errorf("%s may decrypt under %s: %v", intake, key, by)
				}
			})
		}
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
	contexts := keyContexts(t)
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
				for name, values := range pinnedToOneOf[key] {
					if got := eq["kms:EncryptionContext:"+name]; len(got) != 1 || !slices.Contains(values, got[0]) {
						t.Errorf("%s: StringEquals kms:EncryptionContext:%s is %v, want one of %v", s, name, got, values)
					}
				}
				for name, value := range want {
					if got := eq["kms:EncryptionContext:"+name]; !slices.Equal(got, []string{value}) {
						t.Errorf("%s: StringEquals kms:EncryptionContext:%s is %v, want [%s]", s, name, got, value)
					}
				}
				// Nor is anything else pinned: a name the code does not
				// send, or one whose value varies (a source's id), would
				// refuse the code's own requests.
				for op, kv := range s.Condition {
					for k := range kv {
						name, ok := strings.CutPrefix(k, "kms:EncryptionContext:")
						_, oneOf := pinnedToOneOf[key][name]
						if _, pinned := want[name]; ok && !pinned && !oneOf {
							t.Errorf("%s: %s %s constrains a context name the code does not send with one fixed value (pinned: %v)", s, op, k, sortedKeys(want))
						}
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

// Each key's alias: alias/<stack name>-<this>. The local stack's aliases
// are the same for the stack name kehu.
var keyAliases = map[string]string{
	"ConfidentialKey": "confidential",
	"RestrictedKey":   "restricted",
	"BlindIndexKey":   "blind-index",
	"SecretsKey":      "secrets",
}

// Every key has its alias and its ARN as a stack output (<Key>Arn), which
// the CLI's KMS_KEY_* settings take; local/kms.json has the same keys.
func TestKeyAliasesAndOutputs(t *testing.T) {
	tpl := open(t)
	aliases := map[string][]string{} // key -> alias names
	for _, a := range tpl.GetAllKMSAliasResources() {
		key := strings.TrimPrefix(a.TargetKeyId, "Ref:")
		aliases[key] = append(aliases[key], a.AliasName)
	}
	cfg, err := localkms.LoadConfig("../../local/kms.json")
	if err != nil {
		t.Fatal(err)
	}
	var local, wantLocal []string
	for _, k := range cfg.Keys {
		local = append(local, k.Alias)
	}
	for key := range keyPolicies(t, tpl) {
		suffix, ok := keyAliases[key]
		if !ok {
			t.Errorf("declare in keyAliases the alias of %s", key)
			continue
		}
		if want := "Sub:alias/${AWS::StackName}-" + suffix; !slices.Equal(aliases[key], []string{want}) {
			t.Errorf("%s has aliases %v, want [%s]", key, aliases[key], want)
		}
		out, ok := tpl.Outputs[key+"Arn"]
		if v, _ := out.Value.(string); !ok || v != "GetAtt:"+key+".Arn" {
			t.Errorf("output %sArn is %v, want the key's ARN", key, out.Value)
		}
		wantLocal = append(wantLocal, "alias/kehu-"+suffix)
	}
	if !slices.Equal(setOf(local...), setOf(wantLocal...)) {
		t.Errorf("local/kms.json has keys %v, want %v", setOf(local...), setOf(wantLocal...))
	}
}

// The blind-index key wraps two secrets. The identity secret (operators
// find customers with it) and the intake keys, whose internal secret keys
// the value fingerprints, consent proofs and request hashes: whoever held
// it could test guesses (a restricted income, an ID number) against a
// profile's fingerprints. Exactly these may unwrap each.
func TestIntakeKeysReaders(t *testing.T) {
	tpl := open(t)
	sts := keyPolicies(t, tpl)["BlindIndexKey"]
	byPurpose := map[string][]string{}
	for _, s := range sts {
		if _, ok := s.allowsAny(decryptActions); !ok {
			continue
		}
		purpose := s.Condition["StringEquals"]["kms:EncryptionContext:kehu:purpose"]
		if len(purpose) != 1 {
			t.Fatalf("%s: decrypt not pinned to one purpose", s)
		}
		for _, p := range s.Principals {
			byPurpose[purpose[0]] = append(byPurpose[purpose[0]], strings.TrimSuffix(strings.TrimPrefix(p, "GetAtt:"), ".Arn"))
		}
	}
	want := map[string][]string{
		blindindex.PurposeIntakeKeys: {functionRole(t, tpl, "FormIntakeFunction"), functionRole(t, tpl, "WebhookIntakeFunction"),
			functionRole(t, tpl, "SurveyIntakeFunction"), "ComplianceRole"},
		blindindex.PurposeBlindIndex: {"SalesServiceRole", "ComplianceRole", "AdminRole", functionRole(t, tpl, "SetupFunction")},
		// The links kehu emails: made by the sender, checked by the survey
		// function; no person holds the secret.
		link.PurposeLinkSecret: {functionRole(t, tpl, "SurveyIntakeFunction"), functionRole(t, tpl, "SurveySenderFunction"), functionRole(t, tpl, "PrivacyFunction")},
	}
	for purpose, readers := range want {
		if got := setOf(byPurpose[purpose]...); !slices.Equal(got, setOf(readers...)) {
			t.Errorf("%s: %v may decrypt, want exactly %v", purpose, got, setOf(readers...))
		}
	}
	if len(byPurpose) != len(want) {
		t.Errorf("purposes %v", sortedKeys(byPurpose))
	}
}

// The segmenter and the sweep read general-tier attributes and consent
// states only: they hold no KMS permission at all. No key policy names
// their roles, for any action; no IAM statement of theirs allows any KMS
// action on anything; no key is in their environment; and nothing they
// touch is encrypted under a key they would need (the table's encryption
// is DynamoDB's own key, the dead-letter queue's SQS's).
func TestSegmentersHoldNoKMS(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	ids := identityPolicies(t, tpl)
	for _, fn := range []string{segmenterFunction, sweepFunction} {
		t.Run(fn, func(t *testing.T) {
			role := functionRole(t, tpl, fn)
			for key, sts := range kps {
				for _, s := range sts {
					if slices.ContainsFunc(s.Principals, func(p string) bool { return principalRole(p) == role }) {
						t.Errorf("%s names %s (on %s)", s, role, key)
					}
				}
			}
			kmsAction := func(a string) bool {
				return strings.HasPrefix(strings.ToLower(a), "kms:") || actionMatches(a, "kms:Decrypt")
			}
			for _, s := range ids[role] {
				if s.Effect != "Allow" {
					continue
				}
				if len(s.NotAction) > 0 {
					t.Errorf("%s uses NotAction", s)
				}
				if slices.ContainsFunc(s.Actions, kmsAction) {
					t.Errorf("%s gives %s KMS actions %v", s, role, s.Actions)
				}
			}
			f, _ := tpl.GetServerlessFunctionWithName(fn)
			if f.Environment != nil {
				for v, value := range f.Environment.Variables {
					for key := range kps {
						if strings.Contains(value, key) {
							t.Errorf("environment variable %s names %s", v, key)
						}
					}
				}
			}
		})
	}
	table, err := tpl.GetDynamoDBTableWithName("CustomerTable")
	if err != nil {
		t.Fatal(err)
	}
	if sse := table.SSESpecification; sse != nil && sse.KMSMasterKeyId != nil {
		t.Errorf("the table is encrypted under %s: reading its stream would need that key", *sse.KMSMasterKeyId)
	}
}
