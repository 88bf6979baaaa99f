package samtemplate

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kehu-dev/kehu/shared/metrics"
)

// functionNames returns the names the functions give their metrics (the
// `const function = "…"` of each functions/*/main.go).
func functionNames(t *testing.T) []string {
	t.Helper()
	mains, _ := filepath.Glob("../../functions/*/main.go")
	var out []string
	for _, m := range mains {
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if c := regexp.MustCompile(`(?m)^const function = "([a-z0-9-]+)"`).FindSubmatch(src); c != nil {
			out = append(out, string(c[1]))
		}
	}
	return out
}

// handlerSource is the Go source of the functions and the packages they share.
func handlerSource(t *testing.T) string {
	t.Helper()
	return string(bytes.Join(sources(t, "../../shared/*/*.go", "../../functions/*/*.go"), nil))
}

// sources reads the non-test Go files the globs match.
func sources(t *testing.T, globs ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, glob := range globs {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, src)
		}
	}
	return out
}

// CloudWatch matches a metric's exact dimension set. Each alarm on kehu's
// own metrics must name a set that the lines the handler writes are
// published under: a 5xx line carries outcome error and a reason, and one
// of its dimension sets must equal the alarm's, names and values.
func TestAlarmsSeeTheirMetrics(t *testing.T) {
	tpl := open(t)
	names := functionNames(t)
	src := handlerSource(t)
	n := 0
	for name, a := range tpl.GetAllCloudWatchAlarmResources() {
		if a.Namespace == nil || *a.Namespace != metrics.Namespace {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			want := map[string]string{}
			for _, d := range a.Dimensions {
				want[d.Name] = d.Value
			}
			fn := want["function"]
			if !slices.Contains(names, fn) {
				t.Fatalf("dimension function=%q names no function (they are %v)", fn, names)
			}
			if a.MetricName == nil {
				t.Fatal("no metric name")
			}
			if !regexp.MustCompile(`\{Name: "` + regexp.QuoteMeta(*a.MetricName) + `"`).MatchString(src) {
				t.Fatalf("metric %s is not one the code emits (no metrics.Count{Name: %q, …})", *a.MetricName, *a.MetricName)
			}
			for _, reason := range []string{"unavailable", "internal", "not-configured"} {
				var buf bytes.Buffer
				metrics.New(&buf, fn).Emit(map[string]string{"outcome": "error", "reason": reason}, metrics.Count{Name: *a.MetricName, Value: 1})
				var line map[string]any
				if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
					t.Fatal(err)
				}
				var directive struct {
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
						Metrics    []struct{ Name string }
					}
				}
				raw, _ := json.Marshal(line["_aws"])
				if err := json.Unmarshal(raw, &directive); err != nil {
					t.Fatal(err)
				}
				matched := false
				var sets []map[string]string
				for _, d := range directive.CloudWatchMetrics {
					if d.Namespace != *a.Namespace || !slices.ContainsFunc(d.Metrics, func(m struct{ Name string }) bool { return m.Name == *a.MetricName }) {
						continue
					}
					for _, set := range d.Dimensions {
						got := map[string]string{}
						for _, k := range set {
							got[k], _ = line[k].(string)
						}
						sets = append(sets, got)
						matched = matched || maps.Equal(got, want)
					}
				}
				if !matched {
					t.Errorf("reason %s: the line is published under %v; the alarm watches %v", reason, sets, want)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no alarm on the kehu namespace")
	}
}

// Every function has an alarm on its Lambda Errors; every function behind
// the HTTP API one on its Throttles; and an alarm that says it watches
// throttles watches Throttles.
func TestLambdaAlarms(t *testing.T) {
	tpl := open(t)
	watched := map[string][]string{} // "Ref:<Function>" -> metric names
	for name, a := range tpl.GetAllCloudWatchAlarmResources() {
		if a.Namespace == nil || *a.Namespace != "AWS/Lambda" {
			continue
		}
		metric := ""
		if a.MetricName != nil {
			metric = *a.MetricName
		}
		desc := ""
		if a.AlarmDescription != nil {
			desc = *a.AlarmDescription
		}
		says := strings.Contains(strings.ToLower(name+" "+desc), "throttl")
		if says != (metric == "Throttles") {
			t.Errorf("%s (%q) watches %s", name, desc, metric)
		}
		for _, d := range a.Dimensions {
			if d.Name == "FunctionName" {
				watched[d.Value] = append(watched[d.Value], metric)
			}
		}
	}
	for name, fn := range tpl.GetAllServerlessFunctionResources() {
		want := []string{"Errors"}
		for _, ev := range fn.Events {
			if ev.Type == "HttpApi" && !slices.Contains(want, "Throttles") {
				want = append(want, "Throttles")
			}
		}
		for _, m := range want {
			if !slices.Contains(watched["Ref:"+name], m) {
				t.Errorf("no alarm on %s's Lambda %s", name, m)
			}
		}
	}
}

// What each function behind the HTTP API counts its requests in: the
// function dimension its main gives its metrics (`const function`), and
// the metric its handler emits with an outcome (error for a 5xx answer).
var requestMetrics = map[string]struct{ function, metric string }{
	"FormIntakeFunction":    {"form-intake", "Submissions"},
	"WebhookIntakeFunction": {"webhook-intake", "Webhooks"},
	"SurveyIntakeFunction":  {"survey-intake", "LinkRequests"},
	"PrivacyFunction":       {"privacy", "PrivacyRequests"},
}

// Every function behind the HTTP API has an alarm on its 5xx answers: its
// request metric in the kehu namespace, dimensions exactly {function,
// outcome=error}. (TestAlarmsSeeTheirMetrics checks that the handler's
// lines are published under that set.)
func TestHTTPFunctionsAlarmOn5xx(t *testing.T) {
	tpl := open(t)
	fns := httpFunctions(tpl)
	if !slices.Equal(fns, sortedKeys(requestMetrics)) {
		t.Errorf("functions behind the HTTP API %v, want %v", fns, sortedKeys(requestMetrics))
	}
	for _, name := range fns {
		t.Run(name, func(t *testing.T) {
			want, ok := requestMetrics[name]
			if !ok {
				t.Fatalf("declare in requestMetrics the metric %s counts its requests in", name)
			}
			main, err := os.ReadFile(filepath.Join("../..", buildTarget(t, name), "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			if c := regexp.MustCompile(`(?m)^const function = "([a-z0-9-]+)"`).FindSubmatch(main); c == nil || string(c[1]) != want.function {
				t.Errorf("%s's main does not declare const function = %q", name, want.function)
			}
			dims := map[string]string{"function": want.function, "outcome": "error"}
			var alarms []string
			for an, a := range tpl.GetAllCloudWatchAlarmResources() {
				got := map[string]string{}
				for _, d := range a.Dimensions {
					got[d.Name] = d.Value
				}
				if a.Namespace != nil && *a.Namespace == metrics.Namespace && a.MetricName != nil && *a.MetricName == want.metric && maps.Equal(got, dims) {
					alarms = append(alarms, an)
				}
			}
			if len(alarms) != 1 {
				t.Errorf("alarms on %s %s %v: %v, want one", metrics.Namespace, want.metric, dims, alarms)
			}
		})
	}
}
