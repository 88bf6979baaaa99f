package samtemplate

import (
	"encoding/json"
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

	"github.com/kehu-dev/kehu/internal/setup"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/sender"
	"github.com/kehu-dev/kehu/shared/store"
)

// marker keeps an intrinsic as a readable marker ("GetAtt:ConfidentialKey.Arn",
// "Ref:CustomerTable") so the test can see what a policy points at.
func marker(kind string) intrinsics.IntrinsicHandler {
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

// Intrinsics are kept as markers, parameters resolve to their defaults.
func open(t *testing.T) *cloudformation.Template {
	t.Helper()
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

// rawResource returns a resource's properties as the template writes them,
// every intrinsic a marker ("Ref:SweepSchedule" too): for what goformation's
// types leave out (a stream event's FilterCriteria and FunctionResponseTypes
// make it no event type goformation knows).
func rawResource(t *testing.T, name string) map[string]any {
	t.Helper()
	src, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := intrinsics.ProcessYAML(src, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": marker("Ref"), "Fn::GetAtt": marker("GetAtt"), "Fn::Sub": marker("Sub"),
			"Fn::Not": marker("Not"), "Fn::Equals": marker("Equals"), "Fn::If": marker("If"),
		},
	})
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	var doc struct {
		Parameters map[string]map[string]any
		Resources  map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	r, ok := doc.Resources[name]
	if !ok {
		t.Fatalf("template.yaml has no resource %s", name)
	}
	return r.Properties
}

// parameterDefault returns a template parameter's default.
func parameterDefault(t *testing.T, name string) any {
	t.Helper()
	p, ok := open(t).Parameters[name]
	if !ok {
		t.Fatalf("template.yaml has no parameter %s", name)
	}
	return p.Default
}

// Each function's own code decides which variables it reads: declare it
// here for every function in the template.
var functionEnv = map[string]struct {
	required, optional []string
}{
	"FormIntakeFunction":    {config.Required, config.Optional},
	"WebhookIntakeFunction": {config.WebhookRequired, slices.Concat(config.Optional, config.WebhookOptional)},
	"SetupFunction":         {setup.Env, nil},
	"SegmenterFunction":     {config.SegmenterRequired, config.SegmenterOptional},
	"SweepFunction":         {config.SegmenterRequired, config.SegmenterOptional},
	"SurveyIntakeFunction":  {config.Required, config.Optional},
	"SurveySenderFunction":  {sender.Required, sender.Optional},
	"PrivacyFunction":       {privacy.Required, privacy.Optional},
	"PrivacySweepFunction":  {privacy.SweepRequired, privacy.SweepOptional},
}

// What each variable must point at, wherever it is set.
var envValues = map[string]string{
	config.EnvTable:           "Ref:CustomerTable",
	config.EnvConfidentialKey: "GetAtt:ConfidentialKey.Arn",
	config.EnvRestrictedKey:   "GetAtt:RestrictedKey.Arn",
	config.EnvBlindIndexKey:   "GetAtt:BlindIndexKey.Arn",
	config.EnvSecretsKey:      "GetAtt:SecretsKey.Arn",
}

// buildTarget is the package the Makefile's build-<function> target builds
// (sam build runs `make build-<LogicalId>`), such as "./functions/form-intake".
func buildTarget(t *testing.T, function string) string {
	t.Helper()
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^build-` + regexp.QuoteMeta(function) + `:\n\t.*-o \$\(ARTIFACTS_DIR\)/bootstrap (\./functions/[a-z0-9-]+)$`).FindSubmatch(makefile)
	if target == nil {
		t.Fatalf("Makefile has no build-%s target building a ./functions package into $(ARTIFACTS_DIR)/bootstrap", function)
	}
	return string(target[1])
}

// httpFunctions returns the functions behind the HTTP API, sorted.
func httpFunctions(tpl *cloudformation.Template) []string {
	var out []string
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		if behindHTTPAPI(fn) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func behindHTTPAPI(fn *serverless.Function) bool {
	for _, ev := range fn.Events {
		if ev.Type == "HttpApi" {
			return true
		}
	}
	return false
}

func TestFunctionsBuildAndConfigure(t *testing.T) {
	tpl := open(t)
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	size := regexp.MustCompile(`(?m)^size:.*\n(?:\t.*\n)*?\t.*for fn in ([a-z0-9 -]+); do`).FindSubmatch(makefile)
	if size == nil {
		t.Fatal("Makefile has no size target looping `for fn in …; do` over the functions")
	}
	fns := tpl.GetAllServerlessFunctionResources()
	if len(fns) == 0 {
		t.Fatal("no functions in template.yaml")
	}
	if g, ok := tpl.Globals["Function"].(*global.Function); ok && g.Environment != nil && len(g.Environment.Variables) > 0 {
		t.Errorf("Globals set environment variables %v for every function; set each function's own", g.Environment.Variables)
	}
	for name, fn := range fns {
		t.Run(name, func(t *testing.T) {
			if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
				t.Fatalf("BuildMethod %v, want makefile", fn.AWSCloudFormationMetadata["BuildMethod"])
			}
			// sam build runs `make build-<LogicalId>`; its recipe names the package.
			target := buildTarget(t, name)
			// `make size` reports every function's bootstrap.
			if pkg := strings.TrimPrefix(target, "./functions/"); !slices.Contains(strings.Fields(string(size[1])), pkg) {
				t.Errorf("make size does not build %s (it builds %s)", pkg, size[1])
			}
			main, err := os.ReadFile(filepath.Join("../..", target, "main.go"))
			if err != nil || !strings.Contains(string(main), "package main") || !strings.Contains(string(main), "lambda.Start(") {
				t.Fatalf("%s/main.go is not a Lambda main package: %v", target, err)
			}
			want, ok := functionEnv[name]
			if !ok {
				t.Fatalf("declare in functionEnv which environment variables %s's code reads", name)
			}
			env := map[string]string{}
			if fn.Environment != nil {
				env = fn.Environment.Variables
			}
			for _, v := range want.required {
				if env[v] == "" {
					t.Errorf("environment variable %s is not set", v)
				}
			}
			for v, value := range env {
				if !slices.Contains(want.required, v) && !slices.Contains(want.optional, v) {
					t.Errorf("environment variable %s is set but the code never reads it", v)
				}
				if w, ok := envValues[v]; ok && value != w {
					t.Errorf("%s is %q, want %q", v, value, w)
				}
			}
		})
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
	for _, name := range []string{"ConfidentialKey", "RestrictedKey", "BlindIndexKey", "SecretsKey"} {
		k, err := tpl.GetKMSKeyWithName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k.EnableKeyRotation == nil || !*k.EnableKeyRotation {
			t.Errorf("%s has no key rotation", name)
		}
		// Deleting a key loses everything wrapped under it (the table is
		// retained, so its keys are too).
		if k.AWSCloudFormationDeletionPolicy != "Retain" || k.AWSCloudFormationUpdateReplacePolicy != "Retain" {
			t.Errorf("%s is not retained on delete and replace", name)
		}
	}
}

// Every function has its log group, with the stack's retention: created
// before the function first runs, so the function's logs do not land in a
// group kept forever.
func TestFunctionsHaveLogGroups(t *testing.T) {
	tpl := open(t)
	groups := map[string]int{} // function -> log groups
	for name, lg := range tpl.GetAllLogsLogGroupResources() {
		if lg.LogGroupName == nil {
			continue
		}
		m := regexp.MustCompile(`^Sub:/aws/lambda/\$\{(\w+)\}$`).FindStringSubmatch(*lg.LogGroupName)
		if m == nil {
			continue
		}
		groups[m[1]]++
		if lg.RetentionInDays == nil {
			t.Errorf("%s keeps %s's logs forever", name, m[1])
		}
	}
	for name := range tpl.GetAllServerlessFunctionResources() {
		if groups[name] != 1 {
			t.Errorf("%s has %d log groups /aws/lambda/${%s}, want one", name, groups[name], name)
		}
	}
}

// Each function's HTTP API routes, as the code and the local gateway serve
// them.
var routes = map[string][]string{
	"FormIntakeFunction":    {"OPTIONS /v1/forms/{formId}/submissions", "POST /v1/forms/{formId}/submissions"},
	"WebhookIntakeFunction": {"GET /v1/webhooks/{sourceId}", "HEAD /v1/webhooks/{sourceId}", "POST /v1/webhooks/{sourceId}"},
	// The local gateway serves these from httpapi.SurveyRoutes.
	"SurveyIntakeFunction": sortedKeys(httpapi.SurveyRoutes),
	"PrivacyFunction":      slices.Sorted(slices.Values(httpapi.PrivacyRoutes)),
}

func TestRoutesMatchLocalGateway(t *testing.T) {
	tpl := open(t)
	gw, err := os.ReadFile("../../cmd/devstack/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := httpFunctions(tpl), sortedKeys(routes); !slices.Equal(got, want) {
		t.Errorf("functions behind the HTTP API %v, want %v", got, want)
	}
	for name, want := range routes {
		t.Run(name, func(t *testing.T) {
			fn, err := tpl.GetServerlessFunctionWithName(name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for ev, e := range fn.Events {
				p := e.Properties.HttpApiEvent
				if e.Type != "HttpApi" || p == nil || p.Method == nil || p.Path == nil {
					t.Errorf("event %s is not an HTTP API route", ev)
					continue
				}
				got = append(got, *p.Method+" "+*p.Path)
				if p.ApiId == nil || *p.ApiId != "Ref:HttpApi" {
					t.Errorf("event %s is not on the stack's HttpApi", ev)
				}
				// The handlers read API Gateway's 2.0 payload.
				if v := p.PayloadFormatVersion; v == nil || *v != "2.0" {
					t.Errorf("event %s does not set PayloadFormatVersion 2.0", ev)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("routes %v, want %v", got, want)
			}
			for _, r := range want {
				_, fromTable := httpapi.SurveyRoutes[r]
				fromList := slices.Contains(httpapi.PrivacyRoutes, r)
				if !strings.Contains(string(gw), `"`+r+`"`) && !(fromTable && strings.Contains(string(gw), "range httpapi.SurveyRoutes")) &&
					!(fromList && strings.Contains(string(gw), "range httpapi.PrivacyRoutes")) {
					t.Errorf("the local gateway does not serve %s", r)
				}
			}
		})
	}
}
