package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
)

// The segmenter's one event: the table's stream, profile changes only.
// What goformation's types cannot hold (FilterCriteria,
// FunctionResponseTypes) is read from the raw template.
const segmenterFunction, sweepFunction = "SegmenterFunction", "SweepFunction"

// event returns a function's only event, as the template writes it.
func event(t *testing.T, function string) (string, map[string]any) {
	t.Helper()
	evs, _ := rawResource(t, function)["Events"].(map[string]any)
	if len(evs) != 1 {
		t.Fatalf("%s has events %v, want exactly one", function, sortedKeys(evs))
	}
	for _, ev := range evs {
		e, _ := ev.(map[string]any)
		props, _ := e["Properties"].(map[string]any)
		return fmt.Sprint(e["Type"]), props
	}
	panic("unreachable")
}

// The stream event: the table's own stream, from the oldest record kept,
// small batches, a failing record reported alone (by its sequence number:
// the handler's events.DynamoDBEventResponse), an erroring batch split, and
// retries and record age bounded, then the batch described on the queue.
func TestSegmenterStream(t *testing.T) {
	typ, props := event(t, segmenterFunction)
	if typ != "DynamoDB" {
		t.Fatalf("the segmenter's event is %s, want DynamoDB (the table's stream)", typ)
	}
	want := map[string]any{
		"Stream":                         "GetAtt:CustomerTable.StreamArn",
		"StartingPosition":               "TRIM_HORIZON",
		"BatchSize":                      100,
		"MaximumBatchingWindowInSeconds": 1,
		"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
		"BisectBatchOnFunctionError":     true,
		// Bounded: -1 (the default) retries and keeps a record until it
		// leaves the stream, blocking its shard for up to a day.
		"MaximumRetryAttempts":      5,
		"MaximumRecordAgeInSeconds": 3600,
	}
	for k, w := range want {
		if got, ok := props[k]; !ok || !sameJSON(got, w) {
			t.Errorf("%s is %v, want %v", k, props[k], w)
		}
	}
	if _, ok := props["Enabled"]; ok && props["Enabled"] != true {
		t.Error("the stream event is disabled")
	}
	dest := props["DestinationConfig"]
	if got := fmt.Sprint(dig(dest, "OnFailure", "Destination")); got != "GetAtt:SegmenterDeadLetterQueue.Arn" {
		t.Errorf("on-failure destination is %s, want the SegmenterDeadLetterQueue's ARN", got)
	}
	// Only the segmenter reads the stream.
	for name, fn := range open(t).GetAllServerlessFunctionResources() {
		for ev, e := range fn.Events {
			if name != segmenterFunction && (e.Type == "DynamoDB" || e.Type == "Kinesis") {
				t.Errorf("%s's event %s reads a stream", name, ev)
			}
		}
	}
}

// sameJSON reports whether two values encode to the same JSON (so the
// template's 1209600, read as a float64, equals the int 1209600).
func sameJSON(a, b any) bool {
	x, errA := json.Marshal(a)
	y, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(x) == string(y)
}

// dig follows keys through nested objects.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// The template's event filter and the handler's IsProfileChange (which the
// local stream runner also applies) agree on every record of
// events/segmenter and on the records the filter exists to keep out: the
// ledger's, the segmenter's own SEGMENTS state (else each write would
// invoke it again), memberships, and keys of the wrong type.
func TestSegmenterFilterMatchesHandler(t *testing.T) {
	_, props := event(t, segmenterFunction)
	filters, _ := dig(props, "FilterCriteria", "Filters").([]any)
	if len(filters) != 1 {
		t.Fatalf("FilterCriteria has filters %v, want one", filters)
	}
	var pattern map[string]any
	if err := json.Unmarshal([]byte(fmt.Sprint(dig(filters[0], "Pattern"))), &pattern); err != nil {
		t.Fatalf("filter pattern: %v", err)
	}
	wantPattern := map[string]any{"dynamodb": map[string]any{"Keys": map[string]any{"sk": map[string]any{"S": []any{"PROFILE"}}}}}
	if !reflect.DeepEqual(pattern, wantPattern) {
		t.Errorf("filter pattern %v, want %v", pattern, wantPattern)
	}

	files, _ := filepath.Glob("../../events/segmenter/*.json")
	if len(files) == 0 {
		t.Fatal("no events in events/segmenter")
	}
	type record struct {
		name string
		raw  map[string]any
	}
	var records []record
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct{ Records []map[string]any }
		if err := json.Unmarshal(src, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, r := range ev.Records {
			records = append(records, record{fmt.Sprintf("%s#%d", filepath.Base(f), i), r})
		}
	}
	// The same record under other keys.
	rekey := func(name string, keys map[string]any) record {
		r := map[string]any{}
		raw, _ := json.Marshal(records[0].raw)
		_ = json.Unmarshal(raw, &r)
		r["dynamodb"].(map[string]any)["Keys"] = keys
		return record{name, r}
	}
	cust := map[string]any{"S": "CUST#4f7d6a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"}
	records = append(records,
		rekey("ledger entry", map[string]any{"pk": cust, "sk": map[string]any{"S": "LEDGER#2026-11-20T08:00:00Z#a"}}),
		rekey("segment state", map[string]any{"pk": cust, "sk": map[string]any{"S": "SEGMENTS"}}),
		rekey("membership", map[string]any{"pk": map[string]any{"S": "SEG#value:A#3"}, "sk": map[string]any{"S": "4f7d6a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"}}),
		rekey("numeric sk", map[string]any{"pk": cust, "sk": map[string]any{"N": "1"}}),
		rekey("lower-case sk", map[string]any{"pk": cust, "sk": map[string]any{"S": "profile"}}),
		rekey("no sk", map[string]any{"pk": cust}),
	)
	kept := 0
	for _, r := range records {
		raw, _ := json.Marshal(r.raw)
		var typed events.DynamoDBEventRecord
		if err := json.Unmarshal(raw, &typed); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		filter, handler := matches(t, pattern, r.raw), segmenter.IsProfileChange(typed)
		if filter != handler {
			t.Errorf("%s: the template's filter passes it %v, the handler's IsProfileChange %v", r.name, filter, handler)
		}
		if filter {
			kept++
		}
	}
	if kept == 0 || kept == len(records) {
		t.Errorf("the filter keeps %d of %d records; the fixtures should have both kinds", kept, len(records))
	}
}

// matches applies a Lambda event filter pattern to a record: every key of
// the pattern is in the record, an object matches an object, and a list of
// literal values matches a value equal to one of them. Other filter rules
// (prefix, numeric, exists…) are not modelled: the test refuses them.
func matches(t *testing.T, pattern, value any) bool {
	t.Helper()
	switch p := pattern.(type) {
	case map[string]any:
		v, ok := value.(map[string]any)
		if !ok {
			return false
		}
		for k, sub := range p {
			got, ok := v[k]
			if !ok || !matches(t, sub, got) {
				return false
			}
		}
		return true
	case []any:
		for _, lit := range p {
			switch lit.(type) {
			case map[string]any, []any:
				t.Fatalf("filter rule %v is not modelled by this test", lit)
			}
			if reflect.DeepEqual(lit, value) {
				return true
			}
		}
		return false
	}
	t.Fatalf("filter pattern leaf %v is not a list", pattern)
	return false
}

// The segmenter's on-failure destination: a queue kept 14 days, encrypted
// with SQS's own keys (a customer-managed key would need a KMS permission
// the segmenter must not hold), and an alarm as soon as a message is on it.
func TestSegmenterDeadLetterQueue(t *testing.T) {
	const queue = "SegmenterDeadLetterQueue"
	q := rawResource(t, queue)
	if q["SqsManagedSseEnabled"] != true {
		t.Errorf("%s: SqsManagedSseEnabled is %v, want true", queue, q["SqsManagedSseEnabled"])
	}
	if k, ok := q["KmsMasterKeyId"]; ok {
		t.Errorf("%s is encrypted under %v: the segmenter would need that key", queue, k)
	}
	if got := q["MessageRetentionPeriod"]; !sameJSON(got, 1209600) {
		t.Errorf("%s keeps messages %v seconds, want 1209600 (14 days)", queue, got)
	}
	var alarms []string
	for name, a := range open(t).GetAllCloudWatchAlarmResources() {
		dims := map[string]string{}
		for _, d := range a.Dimensions {
			dims[d.Name] = d.Value
		}
		if a.Namespace == nil || *a.Namespace != "AWS/SQS" || dims["QueueName"] != "GetAtt:"+queue+".QueueName" {
			continue
		}
		if a.MetricName == nil || *a.MetricName != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		alarms = append(alarms, name)
		if len(dims) != 1 {
			t.Errorf("%s has dimensions %v, want QueueName alone (SQS publishes no other set)", name, dims)
		}
		if a.Threshold == nil || *a.Threshold != 1 || a.ComparisonOperator != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s does not fire on one message (threshold %v, %s)", name, rawResource(t, name)["Threshold"], a.ComparisonOperator)
		}
		if a.Statistic == nil || (*a.Statistic != "Maximum" && *a.Statistic != "Sum") {
			t.Errorf("%s uses statistic %v", name, a.Statistic)
		}
		if actions := fmt.Sprint(rawResource(t, name)["AlarmActions"]); !strings.Contains(actions, "Ref:AlarmTopicArn") {
			t.Errorf("%s notifies %s, want the alarm topic", name, actions)
		}
	}
	if len(alarms) != 1 {
		t.Errorf("alarms on %s's visible messages: %v, want one", queue, alarms)
	}
}

// The sweep runs on an EventBridge schedule, daily unless the SweepSchedule
// parameter says otherwise, and has no other trigger.
func TestSweepSchedule(t *testing.T) {
	typ, props := event(t, sweepFunction)
	var expr any
	switch typ {
	case "Schedule":
		expr = props["Schedule"]
	case "ScheduleV2":
		expr = props["ScheduleExpression"]
	default:
		t.Fatalf("the sweep's event is %s, want an EventBridge schedule (Schedule or ScheduleV2)", typ)
	}
	if expr != "Ref:SweepSchedule" {
		t.Errorf("the sweep's schedule is %v, want the parameter SweepSchedule", expr)
	}
	if got := parameterDefault(t, "SweepSchedule"); got != "rate(1 day)" {
		t.Errorf("SweepSchedule defaults to %v, want rate(1 day)", got)
	}
	if e, ok := props["Enabled"]; ok && e != true {
		t.Error("the schedule is disabled")
	}
	if s, ok := props["State"]; ok && s != "ENABLED" {
		t.Errorf("the schedule's state is %v", s)
	}
}

// The stream's actions carry no partition key, so no LeadingKeys condition
// limits them: only the segmenter's role may read the stream, on the
// table's stream alone, and it has every action the event source mapping
// needs. Likewise only it may send to its dead-letter queue, and nothing
// else of SQS.
func TestStreamAndQueueAccess(t *testing.T) {
	tpl := open(t)
	ids := identityPolicies(t, tpl)
	role := functionRole(t, tpl, segmenterFunction)
	isSQS := func(s statement) bool {
		return slices.ContainsFunc(s.Actions, func(a string) bool {
			return strings.HasPrefix(strings.ToLower(a), "sqs:") || actionMatches(a, "sqs:SendMessage")
		}) || (len(s.NotAction) > 0 && s.allows("sqs:SendMessage"))
	}
	var streamActions, sqsActions []string
	for r, sts := range ids {
		for _, s := range sts {
			if s.Effect != "Allow" {
				continue
			}
			if _, ok := s.allowsAny(ddbStream); ok {
				if r != role {
					t.Errorf("%s lets %s read the table's stream", s, r)
				}
				if len(s.NotResource) > 0 || !slices.Equal(s.Resources, []string{"GetAtt:CustomerTable.StreamArn"}) {
					t.Errorf("%s allows stream actions on %v, want the table's stream alone", s, s.Resources)
				}
				for _, a := range ddbStream {
					if s.allows(a) {
						streamActions = append(streamActions, a)
					}
				}
			}
			if isSQS(s) {
				if r != role {
					t.Errorf("%s gives %s SQS actions", s, r)
				}
				if len(s.NotAction) > 0 || !slices.Equal(s.Actions, []string{"sqs:SendMessage"}) {
					t.Errorf("%s allows SQS %v, want sqs:SendMessage alone", s, slices.Concat(s.Actions, s.NotAction))
				}
				if len(s.NotResource) > 0 || !slices.Equal(s.Resources, []string{"GetAtt:SegmenterDeadLetterQueue.Arn"}) {
					t.Errorf("%s allows SQS on %v, want the segmenter's dead-letter queue alone", s, s.Resources)
				}
				sqsActions = append(sqsActions, s.Actions...)
			}
		}
	}
	if got := setOf(streamActions...); !slices.Equal(got, setOf(ddbStream...)) {
		t.Errorf("%s may %v on the stream, want %v (the event source mapping needs each)", role, got, setOf(ddbStream...))
	}
	if !slices.Contains(sqsActions, "sqs:SendMessage") {
		t.Errorf("%s cannot send to its on-failure destination", role)
	}
}

// The segment thresholds, retention periods included, are one template
// parameter: every function whose code reads SEGMENT_THRESHOLDS (the
// segmenter, the sweep, the privacy sweep) gets it from SegmentThresholds,
// so a customer's segments and the retention that erases them never
// disagree. Its default is empty (the code's defaults) or a document the
// code accepts.
func TestSegmentThresholdsFromOneParameter(t *testing.T) {
	const param = "SegmentThresholds"
	var readers []string
	for name, env := range functionEnv {
		if slices.Contains(env.required, config.EnvThresholds) || slices.Contains(env.optional, config.EnvThresholds) {
			readers = append(readers, name)
		}
	}
	if want := []string{"PrivacyFunction", "PrivacySweepFunction", segmenterFunction, sweepFunction}; !slices.Equal(setOf(readers...), setOf(want...)) {
		t.Errorf("functions reading %s: %v, want %v", config.EnvThresholds, setOf(readers...), setOf(want...))
	}
	for _, name := range readers {
		vars, _ := dig(rawResource(t, name), "Environment", "Variables").(map[string]any)
		if got := vars[config.EnvThresholds]; got != "Ref:"+param {
			t.Errorf("%s sets %s to %v, want the parameter %s", name, config.EnvThresholds, got, param)
		}
	}
	p, ok := open(t).Parameters[param]
	if !ok {
		t.Fatalf("template.yaml has no parameter %s", param)
	}
	if p.Type != "String" {
		t.Errorf("%s is a %s, want a String", param, p.Type)
	}
	if doc, _ := p.Default.(string); doc != "" {
		if _, err := segment.ParseThresholds([]byte(doc)); err != nil {
			t.Errorf("%s's default is refused by the code: %v", param, err)
		}
	} else if p.Default == nil {
		t.Errorf("%s has no default; want empty (the code's defaults)", param)
	}
	// Empty is the code's defaults, not an error.
	cfg, err := segmenter.ConfigFromEnv(func(k string) string {
		return map[string]string{config.EnvTable: "t", config.EnvThresholds: ""}[k]
	})
	if err != nil || !reflect.DeepEqual(cfg.Thresholds, segment.Defaults()) {
		t.Errorf("an empty %s: %v, thresholds %+v; want the defaults", config.EnvThresholds, err, cfg.Thresholds)
	}
}
