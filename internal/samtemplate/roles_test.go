package samtemplate

import (
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
)

// The managed policies a function's role may carry: logs and traces.
var functionManagedPolicies = []string{
	"Sub:arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
	"Sub:arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess",
}

// Every function runs as its own role: Lambda may assume it, it carries the
// basic execution and X-Ray policies only, and its permissions are one
// separate IAM policy the function waits for (DependsOn).
func TestFunctionRoles(t *testing.T) {
	tpl := open(t)
	roles := tpl.GetAllIAMRoleResources()
	seen := map[string]string{}
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		t.Run(name, func(t *testing.T) {
			if fn.Policies != nil {
				t.Error("the function has SAM Policies; its permissions belong in its role's policy")
			}
			role := functionRole(t, tpl, name)
			if other, ok := seen[role]; ok {
				t.Errorf("shares its role %s with %s", role, other)
			}
			seen[role] = name
			r, ok := roles[role]
			if !ok {
				t.Fatalf("role %s is not an AWS::IAM::Role of the template", role)
			}
			for _, s := range parse(t, role+" trust policy", r.AssumeRolePolicyDocument) {
				if s.Effect == "Allow" && (len(s.Principals) > 0 || !slices.Equal(s.Services, []string{"lambda.amazonaws.com"})) {
					t.Errorf("%s trusts %v %v, want lambda.amazonaws.com only", s, s.Principals, s.Services)
				}
			}
			if len(r.Policies) > 0 {
				t.Errorf("%s has inline policies; put them in its AWS::IAM::Policy", role)
			}
			for _, m := range r.ManagedPolicyArns {
				if !slices.Contains(functionManagedPolicies, m) {
					t.Errorf("%s carries managed policy %s", role, m)
				}
			}
			var policies []string
			for pname, p := range tpl.GetAllIAMPolicyResources() {
				if slices.Contains(p.Roles, "Ref:"+role) {
					policies = append(policies, pname)
				}
			}
			if len(policies) != 1 {
				t.Fatalf("%s has policies %v, want one", role, policies)
			}
			if !slices.Contains(fn.AWSCloudFormationDependsOn, policies[0]) {
				t.Errorf("the function does not DependsOn its policy %s", policies[0])
			}
		})
	}
}

// The operator roles: only the operator principal may assume them, and only
// with MFA.
func TestOperatorRolesNeedMFA(t *testing.T) {
	tpl := open(t)
	roles := tpl.GetAllIAMRoleResources()
	for _, name := range operatorRoles {
		t.Run(name, func(t *testing.T) {
			r, ok := roles[name]
			if !ok {
				t.Fatal("no such role")
			}
			sts := parse(t, name+" trust policy", r.AssumeRolePolicyDocument)
			for _, s := range sts {
				if s.Effect != "Allow" {
					continue
				}
				if len(s.Services) > 0 || !slices.Equal(s.Principals, []string{"Sub:arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}) {
					// OperatorPrincipalArn's default: the account.
					t.Errorf("%s trusts %v %v, want the operator principal (default: the account)", s, s.Principals, s.Services)
				}
				if mfa := s.Condition["Bool"]["aws:MultiFactorAuthPresent"]; !slices.Equal(mfa, []string{"true"}) {
					t.Errorf("%s does not require MFA (aws:MultiFactorAuthPresent %v)", s, mfa)
				}
			}
			if len(sts) == 0 {
				t.Error("no trust policy")
			}
		})
	}
}

// Deploying creates the blind-index secret: a custom resource backed by the
// setup function, for this table and key, which every function that
// unwraps it (form and webhook intake) waits for.
func TestDeployCreatesBlindIndexSecret(t *testing.T) {
	tpl := open(t)
	custom, ok := tpl.Resources["BlindIndexSecret"].(*cloudformation.CustomResource)
	if !ok || custom.Type != "Custom::BlindIndexSecret" {
		t.Fatalf("no Custom::BlindIndexSecret resource BlindIndexSecret")
	}
	want := map[string]string{"ServiceToken": "GetAtt:SetupFunction.Arn", "TableName": tableRef, "KeyId": "GetAtt:BlindIndexKey.Arn"}
	for k, v := range want {
		if got, _ := custom.Properties[k].(string); got != v {
			t.Errorf("property %s is %q, want %q", k, got, v)
		}
	}
	setupFn, err := tpl.GetServerlessFunctionWithName("SetupFunction")
	if err != nil {
		t.Fatal(err)
	}
	if setupFn.Environment == nil || setupFn.Environment.Variables["KMS_KEY_BLIND_INDEX"] != want["KeyId"] || setupFn.Environment.Variables["TABLE_NAME"] != want["TableName"] {
		t.Error("the setup function is not configured for the resource's table and key")
	}
	// Its log group exists before its first run, or that run creates it
	// and the log group resource then fails.
	var logGroup string
	for name, lg := range tpl.GetAllLogsLogGroupResources() {
		if lg.LogGroupName != nil && strings.Contains(*lg.LogGroupName, "${SetupFunction}") {
			logGroup = name
		}
	}
	if logGroup == "" || !slices.Contains(custom.AWSCloudFormationDependsOn, logGroup) {
		t.Errorf("BlindIndexSecret does not DependsOn the setup function's log group (%q)", logGroup)
	}
	kps := keyPolicies(t, tpl)
	readers := principals(kps["BlindIndexKey"], decryptActions)
	waiting := 0
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		if _, reads := readers[functionRole(t, tpl, name)]; !reads || name == "SetupFunction" { // setup makes it
			continue
		}
		waiting++
		if !slices.Contains(fn.AWSCloudFormationDependsOn, "BlindIndexSecret") {
			t.Errorf("%s unwraps the blind-index secret but does not DependsOn BlindIndexSecret: it could start before the secret exists", name)
		}
	}
	if waiting < 2 {
		t.Errorf("%d functions unwrap the blind-index secret; want form-intake and webhook-intake", waiting)
	}
}
