package samtemplate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
)

// This file reads every policy in template.yaml — key policies, role
// policies, standalone IAM policies — into one shape, so the tests below
// can ask who may do what from the template alone.

// statement is one policy statement, normalised.
type statement struct {
	Where       string // "RestrictedKey key policy", "FormIntakePolicy", "AdminRole/manage-definitions"
	Sid         string
	Effect      string
	Principals  []string // key and trust policies: AWS principals as markers; "*" for anyone
	Services    []string // trust policies: service principals
	Actions     []string
	NotAction   []string
	Resources   []string
	NotResource []string
	Condition   map[string]map[string][]string // operator -> key -> values
}

func (s statement) String() string {
	return fmt.Sprintf("%s statement %q", s.Where, s.Sid)
}

// list turns a policy value that may be one item or a list into a list.
func list(v interface{}) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []interface{}:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case []string:
		return x
	}
	return []string{fmt.Sprint(v)}
}

// parse reads a policy document.
func parse(t *testing.T, where string, doc interface{}) []statement {
	t.Helper()
	d, ok := doc.(map[string]interface{})
	if !ok {
		t.Fatalf("%s: policy document is %T, not an object", where, doc)
	}
	var raws []interface{}
	switch st := d["Statement"].(type) {
	case []interface{}:
		raws = st
	case map[string]interface{}:
		raws = []interface{}{st}
	default:
		t.Fatalf("%s: no statements", where)
	}
	var out []statement
	for _, raw := range raws {
		m, ok := raw.(map[string]interface{})
		if !ok {
			t.Fatalf("%s: statement is %T", where, raw)
		}
		s := statement{Where: where, Sid: fmt.Sprint(m["Sid"]), Effect: fmt.Sprint(m["Effect"]),
			Actions: list(m["Action"]), NotAction: list(m["NotAction"]),
			Resources: list(m["Resource"]), NotResource: list(m["NotResource"]),
			Condition: map[string]map[string][]string{}}
		switch p := m["Principal"].(type) {
		case nil:
		case string:
			s.Principals = []string{p} // "*"
		case map[string]interface{}:
			s.Principals = list(p["AWS"])
			s.Services = list(p["Service"])
			for k := range p {
				if k != "AWS" && k != "Service" {
					s.Principals = append(s.Principals, "*") // Federated, CanonicalUser: not ours
				}
			}
		default:
			t.Fatalf("%s: principal is %T", s, p)
		}
		if m["NotPrincipal"] != nil {
			s.Principals = append(s.Principals, "*") // everyone but someone: too wide to reason about
		}
		cond, _ := m["Condition"].(map[string]interface{})
		for op, kv := range cond {
			keys, _ := kv.(map[string]interface{})
			s.Condition[op] = map[string][]string{}
			for k, v := range keys {
				s.Condition[op][k] = list(v)
			}
		}
		out = append(out, s)
	}
	return out
}

// keyPolicies returns each KMS key's policy statements.
func keyPolicies(t *testing.T, tpl *cloudformation.Template) map[string][]statement {
	t.Helper()
	out := map[string][]statement{}
	for name, k := range tpl.GetAllKMSKeyResources() {
		if k.KeyPolicy == nil {
			t.Fatalf("%s has no key policy", name)
		}
		out[name] = parse(t, name+" key policy", k.KeyPolicy)
	}
	return out
}

// identityPolicies returns the statements of every identity policy in the
// template, by the logical id of the role it is attached to. A policy
// attached to users or groups, or a function with SAM's Policies, shows up
// under a name no test expects, and fails.
func identityPolicies(t *testing.T, tpl *cloudformation.Template) map[string][]statement {
	t.Helper()
	out := map[string][]statement{}
	for name, r := range tpl.GetAllIAMRoleResources() {
		if out[name] == nil {
			out[name] = []statement{} // a role with no policy is listed too
		}
		for _, p := range r.Policies {
			out[name] = append(out[name], parse(t, name+"/"+p.PolicyName, p.PolicyDocument)...)
		}
	}
	attach := func(name string, doc interface{}, roles, users, groups []string) {
		sts := parse(t, name, doc)
		for _, r := range roles {
			role := strings.TrimPrefix(r, "Ref:")
			out[role] = append(out[role], sts...)
		}
		for _, u := range append(slices.Clone(users), groups...) {
			out["user-or-group:"+u] = append(out["user-or-group:"+u], sts...)
		}
	}
	for name, p := range tpl.GetAllIAMPolicyResources() {
		attach(name, p.PolicyDocument, p.Roles, p.Users, p.Groups)
	}
	for name, p := range tpl.GetAllIAMManagedPolicyResources() {
		attach(name, p.PolicyDocument, p.Roles, p.Users, p.Groups)
	}
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		if fn.Policies != nil {
			out["sam-generated-role-of:"+name] = append(out["sam-generated-role-of:"+name], statement{Where: name + " Policies", Sid: "SAM"})
		}
	}
	return out
}

// functionRole is the logical id of the role a function runs as.
func functionRole(t *testing.T, tpl *cloudformation.Template, fn string) string {
	t.Helper()
	f, err := tpl.GetServerlessFunctionWithName(fn)
	if err != nil {
		t.Fatal(err)
	}
	if f.Role == nil || !strings.HasPrefix(*f.Role, "GetAtt:") || !strings.HasSuffix(*f.Role, ".Arn") {
		t.Fatalf("%s has no explicit role (Role: !GetAtt <Role>.Arn)", fn)
	}
	return strings.TrimSuffix(strings.TrimPrefix(*f.Role, "GetAtt:"), ".Arn")
}

// principalRole is the role logical id a principal marker names, or the
// marker itself.
func principalRole(p string) string {
	if strings.HasPrefix(p, "GetAtt:") && strings.HasSuffix(p, ".Arn") {
		return strings.TrimSuffix(strings.TrimPrefix(p, "GetAtt:"), ".Arn")
	}
	return p
}

// isAccountRoot: the account as a principal (its root user and, through
// it, every IAM identity whose own policies allow the action).
func isAccountRoot(p string) bool {
	return p == "Sub:arn:${AWS::Partition}:iam::${AWS::AccountId}:root" || p == "Ref:AWS::AccountId" ||
		regexp.MustCompile(`^(arn:aws[a-z-]*:iam::)?\d{12}(:root)?$`).MatchString(p)
}

// IAM action names match case-insensitively, with * and ? as wildcards.
func actionMatches(pattern, action string) bool {
	re := "(?i)^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(action)
}

// allows reports whether an Allow statement covers action (Action or
// NotAction).
func (s statement) allows(action string) bool {
	if s.Effect != "Allow" {
		return false
	}
	if len(s.NotAction) > 0 {
		return !slices.ContainsFunc(s.NotAction, func(p string) bool { return actionMatches(p, action) })
	}
	return slices.ContainsFunc(s.Actions, func(p string) bool { return actionMatches(p, action) })
}

// allowsAny reports the first of actions the statement allows.
func (s statement) allowsAny(actions []string) (string, bool) {
	for _, a := range actions {
		if s.allows(a) {
			return a, true
		}
	}
	return "", false
}

// onKey reports whether an identity policy statement's resources cover the
// key with that logical id.
func (s statement) onKey(key string) bool {
	if len(s.NotResource) > 0 {
		return !slices.ContainsFunc(s.NotResource, func(r string) bool { return strings.Contains(r, key) })
	}
	for _, r := range s.Resources {
		if r == "*" || strings.Contains(r, key) || (strings.Contains(r, "kms") && strings.Contains(r, "*")) {
			return true
		}
	}
	return false
}

// Every KMS action that uses a key's material, by the names a policy may
// give them. A statement matching any of them (kms:*, kms:ReEncrypt*,
// kms:Gen*, …) is using the key.
var cryptoActions = []string{
	"kms:Decrypt", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
	"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
	"kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
	"kms:GenerateMac", "kms:VerifyMac", "kms:Sign", "kms:Verify", "kms:DeriveSharedSecret",
}

// Actions that reveal what a key protects: decrypting, or re-encrypting it
// under a key the caller can decrypt.
var decryptActions = []string{"kms:Decrypt", "kms:ReEncryptFrom"}

// The key administration statement's actions, and nothing else.
var adminActions = []string{
	"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
	"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
}

// principals returns the roles (or other principals) an Allow statement
// grants action to, in a key policy.
func principals(sts []statement, actions []string) map[string][]string {
	out := map[string][]string{}
	for _, s := range sts {
		if a, ok := s.allowsAny(actions); ok {
			for _, p := range s.Principals {
				out[principalRole(p)] = append(out[principalRole(p)], fmt.Sprintf("%s (%s)", s, a))
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func setOf(xs ...string) []string {
	out := slices.Clone(xs)
	sort.Strings(out)
	return slices.Compact(out)
}
