package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/store"
)

// Intrinsics are kept as readable markers ("GetAtt:ConfidentialKey.Arn",
// "Ref:CustomerTable") so the test can see what a policy points at.
func open(t *testing.T) *cloudformation.Template {
	t.Helper()
	marker := func(kind string) intrinsics.IntrinsicHandler {
		return func(name string, input interface{}, _ interface{}) interface{} {
			switch v := input.(type) {
			case string:
				return kind + ":" + v
			case []interface{}:
				parts := make([]string, len(v))
				for i, p := range v {
					parts[i] = fmt.Sprint(p)
				}
				return kind + ":" + strings.Join(parts, ".")
			}
			return kind + ":" + fmt.Sprint(input)
		}
	}
	tpl, err := goformation.OpenWithOptions("../../template.yaml", &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": func(name string, input interface{}, tpl interface{}) interface{} {
				// Parameters resolve to their defaults (typed), resources to markers.
				params, _ := tpl.(map[string]interface{})["Parameters"].(map[string]interface{})
				if p, ok := params[fmt.Sprint(input)].(map[string]interface{}); ok {
					return p["Default"]
				}
				return marker("Ref")(name, input, tpl)
			},
			"Fn::GetAtt": marker("GetAtt"), "Fn::Sub": marker("Sub"),
			"Fn::Not": marker("Not"), "Fn::Equals": marker("Equals"),
			"Fn::If": func(_ string, input interface{}, _ interface{}) interface{} {
				if v, ok := input.([]interface{}); ok && len(v) == 3 {
					return v[1] // the branch taken when the condition holds
				}
				return nil
			},
		},
	})
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

func globalEnv(t *testing.T, tpl *cloudformation.Template) map[string]string {
	fn, ok := tpl.Globals["Function"].(*global.Function)
	if !ok || fn.Environment == nil {
		return map[string]string{}
	}
	return fn.Environment.Variables
}

func TestFunctionsBuildAndConfigure(t *testing.T) {
	tpl := open(t)
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	fns := tpl.GetAllServerlessFunctionResources()
	if len(fns) == 0 {
		t.Fatal("no functions in template.yaml")
	}
	known := append(slices.Clone(config.Required), config.Optional...)
	for name, fn := range fns {
		t.Run(name, func(t *testing.T) {
			if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
				t.Fatalf("BuildMethod %v, want makefile", fn.AWSCloudFormationMetadata["BuildMethod"])
			}
			// sam build runs `make build-<LogicalId>`; its recipe names the package.
			target := regexp.MustCompile(`(?m)^build-` + name + `:\n\t.*-o \$\(ARTIFACTS_DIR\)/bootstrap (\./functions/[a-z0-9-]+)$`).FindSubmatch(makefile)
			if target == nil {
				t.Fatalf("Makefile has no build-%s target building a ./functions package into $(ARTIFACTS_DIR)/bootstrap", name)
			}
			main, err := os.ReadFile(filepath.Join("../..", string(target[1]), "main.go"))
			if err != nil || !strings.Contains(string(main), "package main") || !strings.Contains(string(main), "lambda.Start(") {
				t.Fatalf("%s/main.go is not a Lambda main package: %v", target[1], err)
			}
			env := globalEnv(t, tpl)
			if fn.Environment != nil {
				for k, v := range fn.Environment.Variables {
					env[k] = v
				}
			}
			for _, v := range config.Required {
				if env[v] == "" {
					t.Errorf("environment variable %s is not set", v)
				}
			}
			for v := range env {
				if !slices.Contains(known, v) {
					t.Errorf("environment variable %s is set but the code never reads it", v)
				}
			}
			if env[config.EnvTable] != "Ref:CustomerTable" {
				t.Errorf("TABLE_NAME is %q", env[config.EnvTable])
			}
		})
	}
}

type statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Condition map[string]interface{}
}

func statements(t *testing.T, fn *serverless.Function) []statement {
	t.Helper()
	if fn.Policies == nil || fn.Policies.IAMPolicyDocumentArray == nil {
		t.Fatal("function has no inline policy document")
	}
	var out []statement
	for _, doc := range *fn.Policies.IAMPolicyDocumentArray {
		for _, raw := range doc.Statement {
			m, _ := raw.(map[string]interface{})
			s := statement{Effect: fmt.Sprint(m["Effect"]), Actions: strs(m["Action"]), Resources: strs(m["Resource"])}
			s.Condition, _ = m["Condition"].(map[string]interface{})
			out = append(out, s)
		}
	}
	return out
}

func strs(v interface{}) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []interface{}:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// The intake functions may generate data keys under the tier keys but hold
// no kms:Decrypt on them; nothing gets kms:* or a wildcard resource.
func TestIntakeCannotDecryptTiers(t *testing.T) {
	tpl := open(t)
	tierKeys := []string{"GetAtt:ConfidentialKey.Arn", "GetAtt:RestrictedKey.Arn"}
	intakeFns := 0
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		t.Run(name, func(t *testing.T) {
			isIntake := false
			for _, ev := range fn.Events {
				isIntake = isIntake || ev.Type == "HttpApi"
			}
			generates := false
			for _, s := range statements(t, fn) {
				for _, r := range s.Resources {
					if r == "*" && s.Effect == "Allow" {
						t.Errorf("statement allows %v on every resource", s.Actions)
					}
				}
				for _, a := range s.Actions {
					if a == "kms:*" || a == "*" || a == "dynamodb:*" {
						t.Errorf("wildcard action %s", a)
					}
					for _, r := range s.Resources {
						if isIntake && slices.Contains(tierKeys, r) && (strings.HasPrefix(a, "kms:Decrypt") || a == "kms:ReEncrypt*" || a == "kms:ReEncryptFrom") {
							t.Errorf("intake function holds %s on %s", a, r)
						}
						if slices.Contains(tierKeys, r) && a == "kms:GenerateDataKey" {
							generates = true
						}
					}
				}
			}
			if isIntake {
				intakeFns++
				if !generates {
					t.Error("intake function cannot generate data keys under the tier keys")
				}
			}
		})
	}
	if intakeFns == 0 {
		t.Fatal("no intake function found")
	}
}

func TestTableMatchesCode(t *testing.T) {
	tpl := open(t)
	table, err := tpl.GetDynamoDBTableWithName("CustomerTable")
	if err != nil {
		t.Fatal(err)
	}
	want := store.TableDefinition("x")
	for i, k := range want.KeySchema {
		if table.KeySchema[i].AttributeName != *k.AttributeName || table.KeySchema[i].KeyType != string(k.KeyType) {
			t.Errorf("key %d: %v, want %s %s", i, table.KeySchema[i], *k.AttributeName, k.KeyType)
		}
	}
	if table.StreamSpecification == nil || table.StreamSpecification.StreamViewType != "NEW_AND_OLD_IMAGES" {
		t.Error("stream is not NEW_AND_OLD_IMAGES")
	}
	if table.TimeToLiveSpecification == nil || table.TimeToLiveSpecification.AttributeName == nil || *table.TimeToLiveSpecification.AttributeName != store.TTL || !table.TimeToLiveSpecification.Enabled {
		t.Errorf("TTL is not on %s", store.TTL)
	}
	if p := table.PointInTimeRecoverySpecification; p == nil || p.PointInTimeRecoveryEnabled == nil || !*p.PointInTimeRecoveryEnabled {
		t.Error("point-in-time recovery is off")
	}
	if table.BillingMode == nil || *table.BillingMode != "PAY_PER_REQUEST" {
		t.Error("billing mode is not on-demand")
	}
}

func TestOneKeyPerTier(t *testing.T) {
	tpl := open(t)
	for _, name := range []string{"ConfidentialKey", "RestrictedKey", "BlindIndexKey"} {
		k, err := tpl.GetKMSKeyWithName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k.EnableKeyRotation == nil || !*k.EnableKeyRotation {
			t.Errorf("%s has no key rotation", name)
		}
	}
}

func TestRoutesMatchLocalGateway(t *testing.T) {
	tpl := open(t)
	fn, err := tpl.GetServerlessFunctionWithName("FormIntakeFunction")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, ev := range fn.Events {
		if p := ev.Properties.HttpApiEvent; p != nil {
			routes = append(routes, *p.Method+" "+*p.Path)
		}
	}
	slices.Sort(routes)
	want := []string{"OPTIONS /v1/forms/{formId}/submissions", "POST /v1/forms/{formId}/submissions"}
	if !slices.Equal(routes, want) {
		t.Fatalf("routes %v, want %v", routes, want)
	}
	gw, err := os.ReadFile("../../cmd/devstack/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range want {
		if !strings.Contains(string(gw), `"`+r+`"`) {
			t.Errorf("the local gateway does not serve %s", r)
		}
	}
}
