package streams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/google/uuid"
)

// local is one test's table with a NEW_AND_OLD_IMAGES stream on DynamoDB
// Local.
type local struct {
	t       *testing.T
	table   string
	db      *dynamodb.Client
	streams *countingStreams
	arn     string
	logs    syncBuffer
}

// countingStreams counts GetRecords calls on the real client and keeps the
// event names DynamoDB Local returned.
type countingStreams struct {
	*dynamodbstreams.Client
	getRecords atomic.Int64
	mu         sync.Mutex
	names      []string
}

func (c *countingStreams) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	c.getRecords.Add(1)
	out, err := c.Client.GetRecords(ctx, in, optFns...)
	if err == nil {
		c.mu.Lock()
		for _, r := range out.Records {
			c.names = append(c.names, string(r.EventName))
		}
		c.mu.Unlock()
	}
	return out, err
}

func (c *countingStreams) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.names)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLocal(t *testing.T) *local {
	t.Helper()
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") == "" {
		t.Skip("integration test: needs DynamoDB Local; run `make test` (it sets AWS_ENDPOINT_URL_DYNAMODB) or set AWS_ENDPOINT_URL_DYNAMODB yourself")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")), // DynamoDB Local takes any
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, awsconfig.WithRegion("us-east-1"))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	l := &local{t: t, table: "streams-test-" + uuid.NewString()[:8],
		db:      dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }),
		streams: &countingStreams{Client: NewClient(cfg)}}
	_, err = l.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(l.table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode:         ddbtypes.BillingModePayPerRequest,
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages},
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = l.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(l.table)})
		if t.Failed() {
			t.Logf("runner log:\n%s", l.logs.String())
		}
	})
	out, err := l.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.table)})
	if err != nil {
		t.Fatal(err)
	}
	l.arn = aws.ToString(out.Table.LatestStreamArn)
	return l
}

// runner is a Runner on the test's table with short waits.
func (l *local) runner(h Handler) *Runner {
	return &Runner{Streams: l.streams, DB: l.db, Table: l.table, Handler: h,
		Poll: 20 * time.Millisecond, Backoff: 5 * time.Millisecond,
		Log: slog.New(slog.NewJSONHandler(&l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

func (l *local) put(item map[string]ddbtypes.AttributeValue) {
	l.t.Helper()
	item["sk"] = &ddbtypes.AttributeValueMemberS{Value: "profile"}
	if _, err := l.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(l.table), Item: item}); err != nil {
		l.t.Fatalf("put: %v", err)
	}
}

func (l *local) putKeys(keys ...string) {
	l.t.Helper()
	for _, k := range keys {
		l.put(map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: k}})
	}
}

func (l *local) keyOf(pk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: "profile"}}
}

// collector keeps every record a handler was given.
type collector struct {
	mu      sync.Mutex
	records []events.DynamoDBEventRecord
}

func (c *collector) Handle(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, ev.Records...)
	return events.DynamoDBEventResponse{}, nil
}

func (c *collector) Records() []events.DynamoDBEventRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.records)
}

// normalized is v as generic JSON with set members sorted: DynamoDB does not
// keep the order of a set.
func normalized(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.([]any); ok && (k == "SS" || k == "NS" || k == "BS") {
					sort.Slice(s, func(i, j int) bool { return fmt.Sprint(s[i]) < fmt.Sprint(s[j]) })
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(g)
	return g
}

func sameImage(t *testing.T, what string, got map[string]events.DynamoDBAttributeValue, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if g := normalized(t, got); !reflect.DeepEqual(g, normalized(t, w)) {
		b, _ := json.Marshal(got)
		t.Errorf("%s\n got %s\nwant %s", what, b, want)
	}
}

func TestLocalDeliversChangesInOrder(t *testing.T) {
	l := newLocal(t)
	item := map[string]ddbtypes.AttributeValue{
		"pk":   &ddbtypes.AttributeValueMemberS{Value: "customer#1"},
		"s":    &ddbtypes.AttributeValueMemberS{Value: "华东"},
		"n":    &ddbtypes.AttributeValueMemberN{Value: "1234.50"},
		"b":    &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"bool": &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"null": &ddbtypes.AttributeValueMemberNULL{Value: true},
		"l":    &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberS{Value: "x"}, &ddbtypes.AttributeValueMemberN{Value: "2"}}},
		"m":    &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"inner": &ddbtypes.AttributeValueMemberBOOL{Value: false}}},
		"ss":   &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bs":   &ddbtypes.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
	}
	c := &collector{}
	r := l.runner(c.Handle)
	start(t, r)
	before := time.Now()

	l.put(item)
	ctx := context.Background()
	_, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.table), Key: l.keyOf("customer#1"),
		UpdateExpression:          aws.String("SET s = :s REMOVE #null ADD ss :c"),
		ExpressionAttributeNames:  map[string]string{"#null": "null"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberS{Value: "华南"}, ":c": &ddbtypes.AttributeValueMemberSS{Value: []string{"c"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(l.table), Key: l.keyOf("customer#1")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "three records", func() bool { return len(c.Records()) >= 3 })
	recs := c.Records()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}

	// DynamoDB stores numbers normalized: 1234.50 comes back as 1234.5.
	const keys = `{"pk": {"S": "customer#1"}, "sk": {"S": "profile"}}`
	const inserted = `{"pk": {"S": "customer#1"}, "sk": {"S": "profile"}, "s": {"S": "华东"}, "n": {"N": "1234.5"}, "b": {"B": "AAEC"},
		"bool": {"BOOL": true}, "null": {"NULL": true}, "l": {"L": [{"S": "x"}, {"N": "2"}]}, "m": {"M": {"inner": {"BOOL": false}}},
		"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AQ==", "AgM="]}}`
	const modified = `{"pk": {"S": "customer#1"}, "sk": {"S": "profile"}, "s": {"S": "华南"}, "n": {"N": "1234.5"}, "b": {"B": "AAEC"},
		"bool": {"BOOL": true}, "l": {"L": [{"S": "x"}, {"N": "2"}]}, "m": {"M": {"inner": {"BOOL": false}}},
		"ss": {"SS": ["a", "b", "c"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AQ==", "AgM="]}}`
	want := []struct {
		name     string
		new, old string // "" for none
	}{
		{"INSERT", inserted, ""},
		{"MODIFY", modified, inserted},
		{"REMOVE", "", modified},
	}
	region := strings.Split(l.arn, ":")[3]
	t.Logf("stream %s (region %q)", l.arn, region)
	ids := map[string]bool{}
	for i, w := range want {
		rec := recs[i]
		if rec.EventName != w.name {
			t.Errorf("record %d: EventName %q, want %q", i, rec.EventName, w.name)
		}
		sameImage(t, fmt.Sprintf("record %d Keys", i), rec.Change.Keys, keys)
		if w.new == "" {
			if rec.Change.NewImage != nil {
				t.Errorf("record %d: NewImage %v, want none", i, rec.Change.NewImage)
			}
		} else {
			sameImage(t, fmt.Sprintf("record %d NewImage", i), rec.Change.NewImage, w.new)
		}
		if w.old == "" {
			if rec.Change.OldImage != nil {
				t.Errorf("record %d: OldImage %v, want none", i, rec.Change.OldImage)
			}
		} else {
			sameImage(t, fmt.Sprintf("record %d OldImage", i), rec.Change.OldImage, w.old)
		}
		if rec.EventSource != "aws:dynamodb" || rec.EventSourceArn != l.arn || rec.AWSRegion != region || rec.EventVersion == "" || rec.UserIdentity != nil {
			t.Errorf("record %d: source %q, ARN %q, region %q, version %q, identity %v", i, rec.EventSource, rec.EventSourceArn, rec.AWSRegion, rec.EventVersion, rec.UserIdentity)
		}
		if rec.EventID == "" || ids[rec.EventID] {
			t.Errorf("record %d: EventID %q empty or repeated", i, rec.EventID)
		}
		ids[rec.EventID] = true
		if rec.Change.StreamViewType != "NEW_AND_OLD_IMAGES" || rec.Change.SizeBytes <= 0 || rec.Change.SequenceNumber == "" {
			t.Errorf("record %d: view %q, size %d, sequence number %q", i, rec.Change.StreamViewType, rec.Change.SizeBytes, rec.Change.SequenceNumber)
		}
		// DynamoDB Local truncates the time to the minute.
		if at := rec.Change.ApproximateCreationDateTime.Time; at.Before(before.Add(-2*time.Minute)) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("record %d: ApproximateCreationDateTime %v, written at %v", i, at, before)
		}
		if i > 0 && !seqLess(recs[i-1].Change.SequenceNumber, rec.Change.SequenceNumber) {
			t.Errorf("sequence numbers out of order: %s then %s", recs[i-1].Change.SequenceNumber, rec.Change.SequenceNumber)
		}
	}
	if s := r.Stats(); s.Records != 3 || s.Delivered != 3 || s.Invocations > 3 {
		t.Errorf("stats %+v", s)
	}
}

// seqLess compares sequence numbers: decimal strings, possibly of different lengths.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// DynamoDB Local deletes expired items itself and names the record
// UNKNOWN_TO_SDK_VERSION, without a userIdentity: it arrives as REMOVE.
func TestLocalTTLDeletionArrivesAsRemove(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	if _, err := l.db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(l.table),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	start(t, l.runner(c.Handle))
	l.put(map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "expired"},
		"ttl": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(-time.Hour).Unix())}})
	waitFor(t, 10*time.Second, "the TTL deletion", func() bool { return len(c.Records()) >= 2 })
	rec := c.Records()[1]
	if rec.EventName != "REMOVE" || rec.Change.NewImage != nil || key(events.DynamoDBEventRecord{Change: events.DynamoDBStreamRecord{Keys: rec.Change.OldImage}}) != "expired" {
		t.Errorf("TTL deletion: EventName %q, NewImage %v, OldImage %v", rec.EventName, rec.Change.NewImage, rec.Change.OldImage)
	}
	t.Logf("event names as DynamoDB Local sent them: %v", l.streams.Names())
	if rec.UserIdentity != nil {
		t.Logf("DynamoDB Local now gives TTL deletions a userIdentity: %+v", rec.UserIdentity)
	}
}

func TestLocalFilterDropsRecords(t *testing.T) {
	l := newLocal(t)
	h := &recorder{}
	r := l.runner(h.Handle)
	r.Filter = func(rec events.DynamoDBEventRecord) bool { return strings.HasPrefix(key(rec), "keep#") }
	start(t, r)
	l.putKeys("drop#1", "keep#1", "drop#2", "keep#2")
	waitFor(t, 5*time.Second, "four records read", func() bool { return r.Stats().Records == 4 && r.Stats().Delivered == 2 })
	if got := h.Seen(); !reflect.DeepEqual(got, []string{"keep#1", "keep#2"}) {
		t.Errorf("delivered %v", got)
	}
	if s := r.Stats(); s.Filtered != 2 {
		t.Errorf("stats %+v", s)
	}
}

// The records are written before the runner starts, so they arrive as one
// batch (GetRecords returns them in one page).
func TestLocalPartialFailureResumesFromFailedRecord(t *testing.T) {
	l := newLocal(t)
	l.putKeys("k1", "k2", "k3", "k4", "k5")
	h := &recorder{respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if call == 1 {
			return failKey(ev, "k3"), nil
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	r := l.runner(h.Handle)
	start(t, r)
	waitFor(t, 5*time.Second, "five records done", func() bool { return r.Stats().Delivered == 5 })
	want := [][]string{{"k1", "k2", "k3", "k4", "k5"}, {"k3", "k4", "k5"}}
	if got := h.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

func TestLocalPoisonRecordSkippedAfterMaxRetries(t *testing.T) {
	l := newLocal(t)
	l.putKeys("k1", "k2", "k3", "k4", "k5")
	h := &recorder{respond: func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return failKey(ev, "k3"), nil
	}}
	r := l.runner(h.Handle)
	r.MaxRetries = 2
	var reported atomic.Value
	r.OnFailure = func(_ context.Context, rec events.DynamoDBEventRecord, _ error) { reported.Store(key(rec)) }
	start(t, r)
	waitFor(t, 5*time.Second, "the rest processed", func() bool { return r.Stats().Delivered == 4 })
	l.putKeys("k6") // and the runner goes on
	waitFor(t, 5*time.Second, "a later record", func() bool { return r.Stats().Delivered == 5 })
	want := [][]string{{"k1", "k2", "k3", "k4", "k5"}, {"k3", "k4", "k5"}, {"k3", "k4", "k5"}, {"k4", "k5"}, {"k6"}}
	if got := h.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	if s := r.Stats(); s.Skipped != 1 || reported.Load() != "k3" {
		t.Errorf("stats %+v, reported %v", s, reported.Load())
	}
	if !strings.Contains(l.logs.String(), "stream record skipped after retries") {
		t.Errorf("the skipped record was not logged")
	}
}

func TestLocalHandlerErrorResendsWholeBatch(t *testing.T) {
	l := newLocal(t)
	l.putKeys("k1", "k2", "k3")
	h := &recorder{respond: func(call int, _ events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if call == 1 {
			return events.DynamoDBEventResponse{}, fmt.Errorf("dependency down")
		}
		return events.DynamoDBEventResponse{}, nil
	}}
	r := l.runner(h.Handle)
	start(t, r)
	waitFor(t, 5*time.Second, "three records done", func() bool { return r.Stats().Delivered == 3 })
	want := [][]string{{"k1", "k2", "k3"}, {"k1", "k2", "k3"}}
	if got := h.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
}

// An idle runner polls without calling the handler, logging or writing, and
// stops as soon as its context is cancelled.
func TestLocalIdleAndStop(t *testing.T) {
	l := newLocal(t)
	h := &recorder{}
	r := l.runner(h.Handle)
	stop := start(t, r)
	waitFor(t, 5*time.Second, "ten polls", func() bool { return l.streams.getRecords.Load() >= 10 })
	began := time.Now()
	stop()
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if len(h.Calls()) != 0 || r.Stats() != (Stats{}) {
		t.Errorf("idle: %d handler calls, stats %+v", len(h.Calls()), r.Stats())
	}
	if lines := strings.Split(strings.TrimSpace(l.logs.String()), "\n"); len(lines) != 1 {
		t.Errorf("idle runner logged more than its start:\n%s", l.logs.String())
	}
	out, err := l.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(l.table)})
	if err != nil || out.Count != 0 {
		t.Errorf("scan: %v, %d items", err, out.Count)
	}
	n := l.streams.getRecords.Load()
	time.Sleep(100 * time.Millisecond)
	if l.streams.getRecords.Load() != n {
		t.Error("GetRecords after Run returned")
	}
}

// Disabling the stream closes its shard: the runner reads it to its end,
// sees it finish (no NextShardIterator) and stops polling it.
func TestLocalClosedShardIsFinished(t *testing.T) {
	l := newLocal(t)
	c := &collector{}
	r := l.runner(c.Handle)
	start(t, r)
	l.putKeys("k1", "k2")
	waitFor(t, 5*time.Second, "two records", func() bool { return r.Stats().Delivered == 2 })
	if _, err := l.db.UpdateTable(context.Background(), &dynamodb.UpdateTableInput{TableName: aws.String(l.table),
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	var n int64
	waitFor(t, 5*time.Second, "polling to stop", func() bool {
		m := l.streams.getRecords.Load()
		quiet := m == n
		n = m
		time.Sleep(100 * time.Millisecond)
		return quiet
	})
	if s := r.Stats(); s.Delivered != 2 || s.Records != 2 {
		t.Errorf("stats %+v", s)
	}
	if strings.Contains(l.logs.String(), "failed") {
		t.Errorf("errors while finishing the shard:\n%s", l.logs.String())
	}
}
