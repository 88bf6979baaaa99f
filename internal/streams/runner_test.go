package streams

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// recorder is a handler that remembers the keys of every batch it is given
// and answers with respond (nil: success).
type recorder struct {
	mu      sync.Mutex
	calls   [][]string
	respond func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
}

func key(rec events.DynamoDBEventRecord) string {
	if v, ok := rec.Change.Keys["pk"]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return "?"
}

func (h *recorder) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	keys := make([]string, len(ev.Records))
	for i, r := range ev.Records {
		keys[i] = key(r)
	}
	h.mu.Lock()
	h.calls = append(h.calls, keys)
	n := len(h.calls)
	h.mu.Unlock()
	if h.respond != nil {
		return h.respond(n, ev)
	}
	return events.DynamoDBEventResponse{}, nil
}

func (h *recorder) Calls() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// Seen is every key delivered, in order, repeats included.
func (h *recorder) Seen() []string {
	var out []string
	for _, c := range h.Calls() {
		out = append(out, c...)
	}
	return out
}

// failKey fails the record with the given key by its SequenceNumber.
func failKey(ev events.DynamoDBEvent, k string) events.DynamoDBEventResponse {
	var resp events.DynamoDBEventResponse
	for _, r := range ev.Records {
		if key(r) == k {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		}
	}
	return resp
}

func has(ev events.DynamoDBEvent, k string) bool {
	return slices.ContainsFunc(ev.Records, func(r events.DynamoDBEventRecord) bool { return key(r) == k })
}

// start runs r until the test ends (or stop is called) and checks that Run
// returns nil promptly once its context is cancelled.
func start(t *testing.T, r *Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of its context being cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fakeRunner(f *fakeStreams, h Handler) *Runner {
	return &Runner{Streams: f, Table: "fake", Handler: h, Poll: 5 * time.Millisecond, Backoff: time.Millisecond}
}

func TestRunRetries(t *testing.T) {
	keys := []string{"k1", "k2", "k3", "k4", "k5"}
	tests := []struct {
		name       string
		maxRetries int
		filter     func(events.DynamoDBEventRecord) bool
		respond    func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
		calls      [][]string
		skipped    []string
		filtered   int64
	}{
		{
			name:  "success",
			calls: [][]string{keys},
		},
		{
			name: "a failed record in the middle is resent with the records after it",
			respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if call == 1 {
					return failKey(ev, "k3"), nil
				}
				return events.DynamoDBEventResponse{}, nil
			},
			calls: [][]string{keys, {"k3", "k4", "k5"}},
		},
		{
			name: "the first of several failed records is where the batch resumes",
			respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if call == 1 {
					resp := failKey(ev, "k4")
					resp.BatchItemFailures = append(resp.BatchItemFailures, failKey(ev, "k2").BatchItemFailures...)
					return resp, nil
				}
				return events.DynamoDBEventResponse{}, nil
			},
			calls: [][]string{keys, {"k2", "k3", "k4", "k5"}},
		},
		{
			name:       "a poison record is skipped after MaxRetries and the rest processed",
			maxRetries: 2,
			respond: func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				return failKey(ev, "k3"), nil
			},
			calls:   [][]string{keys, {"k3", "k4", "k5"}, {"k3", "k4", "k5"}, {"k4", "k5"}},
			skipped: []string{"k3"},
		},
		{
			name:       "negative MaxRetries skips at the first failure",
			maxRetries: -1,
			respond: func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				return failKey(ev, "k3"), nil
			},
			calls:   [][]string{keys, {"k4", "k5"}},
			skipped: []string{"k3"},
		},
		{
			name: "an error fails the whole batch",
			respond: func(call int, _ events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if call == 1 {
					return events.DynamoDBEventResponse{}, errors.New("table throttled")
				}
				return events.DynamoDBEventResponse{}, nil
			},
			calls: [][]string{keys, keys},
		},
		{
			name: "a panic fails the whole batch",
			respond: func(call int, _ events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if call == 1 {
					panic("nil map")
				}
				return events.DynamoDBEventResponse{}, nil
			},
			calls: [][]string{keys, keys},
		},
		{
			name: "a failure named by EventID instead of SequenceNumber fails the whole batch",
			respond: func(call int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if call == 1 {
					return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: ev.Records[1].EventID}}}, nil
				}
				return events.DynamoDBEventResponse{}, nil
			},
			calls: [][]string{keys, keys},
		},
		{
			name:       "a poison record failing the whole batch is isolated by splitting it",
			maxRetries: 1,
			respond: func(_ int, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
				if has(ev, "k3") {
					return events.DynamoDBEventResponse{}, errors.New("cannot parse k3")
				}
				return events.DynamoDBEventResponse{}, nil
			},
			calls:   [][]string{keys, keys, {"k1", "k2"}, {"k3", "k4", "k5"}, {"k3"}, {"k3"}, {"k4", "k5"}},
			skipped: []string{"k3"},
		},
		{
			name:   "filtered records are not delivered",
			filter: func(r events.DynamoDBEventRecord) bool { return key(r) != "k2" && key(r) != "k4" },
			calls:  [][]string{{"k1", "k3", "k5"}},

			filtered: 2,
		},
		{
			name:     "a batch filtered away entirely invokes nothing",
			filter:   func(events.DynamoDBEventRecord) bool { return false },
			filtered: 5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.addShard("s1", "")
			f.put("s1", keys...)
			f.close("s1")
			h := &recorder{respond: tc.respond}
			r := fakeRunner(f, h.Handle)
			r.MaxRetries, r.Filter = tc.maxRetries, tc.filter
			var mu sync.Mutex
			var skipped []string
			r.OnFailure = func(_ context.Context, rec events.DynamoDBEventRecord, err error) {
				mu.Lock()
				defer mu.Unlock()
				skipped = append(skipped, key(rec))
				if err == nil {
					t.Error("OnFailure without a reason")
				}
			}
			stop := start(t, r)
			waitFor(t, 5*time.Second, "every record handled", func() bool {
				s := r.Stats()
				return s.Delivered+s.Skipped+s.Filtered == int64(len(keys))
			})
			time.Sleep(20 * time.Millisecond) // nothing more may arrive
			stop()
			if got := h.Calls(); !reflect.DeepEqual(got, tc.calls) {
				t.Errorf("batches\n got %v\nwant %v", got, tc.calls)
			}
			mu.Lock()
			defer mu.Unlock()
			if !reflect.DeepEqual(skipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", skipped, tc.skipped)
			}
			s := r.Stats()
			if s.Skipped != int64(len(tc.skipped)) || s.Filtered != tc.filtered || s.Records != int64(len(keys)) || s.Invocations != int64(len(tc.calls)) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// Shards split: a parent is read to its end before any of its children, and
// a child that appears when its parent closes is found without waiting for
// the periodic DescribeStream.
func TestRunFollowsShardLineage(t *testing.T) {
	f := newFake()
	f.pageSize = 2 // DescribeStream pages
	f.addShard("a", "")
	f.put("a", "a1", "a2", "a3", "a4", "a5")
	f.close("a")
	f.addShard("b", "a") // a split in two
	f.addShard("c", "a")
	f.put("b", "b1", "b2", "b3")
	f.put("c", "c1")
	f.addShard("d", "") // another root, open
	f.put("d", "d1")
	h := &recorder{}
	r := fakeRunner(f, h.Handle)
	r.BatchSize, r.Refresh = 2, time.Hour
	start(t, r)
	waitFor(t, 5*time.Second, "the first records", func() bool { return r.Stats().Delivered == 10 })

	// b closes and has a child e, found at once: e waits for b's last record.
	f.addShard("e", "b")
	f.put("e", "e1")
	f.put("b", "b4")
	f.close("b")
	waitFor(t, 5*time.Second, "the child of a closed shard", func() bool { return r.Stats().Delivered == 12 })

	seen := h.Seen()
	at := map[string]int{}
	for i, k := range seen {
		if _, dup := at[k]; dup {
			t.Fatalf("%s delivered twice: %v", k, seen)
		}
		at[k] = i
	}
	for _, c := range []string{"b1", "c1"} {
		if at[c] < at["a5"] {
			t.Errorf("child record %s before the parent's last record: %v", c, seen)
		}
	}
	if at["e1"] < at["b4"] {
		t.Errorf("e1 before b4: %v", seen)
	}
	for _, pair := range [][2]string{{"a1", "a2"}, {"a4", "a5"}, {"b1", "b2"}, {"b3", "b4"}} {
		if at[pair[0]] > at[pair[1]] {
			t.Errorf("%s after %s: %v", pair[0], pair[1], seen)
		}
	}
	for _, c := range h.Calls() {
		if len(c) > 2 {
			t.Errorf("batch of %d > BatchSize 2", len(c))
		}
	}
	if n := f.count("DescribeStream"); n > 10 {
		t.Errorf("%d DescribeStream calls with Refresh 1h: want only the first and one per finished shard", n)
	}
}

func TestRunFromLatest(t *testing.T) {
	f := newFake()
	f.addShard("a", "")
	f.put("a", "old1")
	f.close("a")
	f.addShard("b", "a")
	f.put("b", "old2")
	h := &recorder{}
	r := fakeRunner(f, h.Handle)
	r.FromLatest = true
	start(t, r)
	waitFor(t, 5*time.Second, "a poll of the open shard", func() bool { return f.count("GetRecords") >= 2 })
	f.put("b", "new1")
	waitFor(t, 5*time.Second, "the new record", func() bool { return r.Stats().Delivered == 1 })
	if got := h.Seen(); !reflect.DeepEqual(got, []string{"new1"}) {
		t.Errorf("delivered %v, want only new1", got)
	}
}

// An idle stream is polled without a handler call, a log line or a count.
func TestRunIdle(t *testing.T) {
	f := newFake()
	f.addShard("a", "")
	var logs bytes.Buffer
	h := &recorder{}
	r := fakeRunner(f, h.Handle)
	r.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stop := start(t, r)
	waitFor(t, 5*time.Second, "polls", func() bool { return f.count("GetRecords") >= 10 })
	stop()
	if len(h.Calls()) != 0 || r.Stats() != (Stats{}) {
		t.Errorf("idle: %d handler calls, stats %+v", len(h.Calls()), r.Stats())
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "stream runner started") {
		t.Errorf("idle runner logged more than its start:\n%s", logs.String())
	}
}

func TestRunStopsWhileHandlerWaits(t *testing.T) {
	f := newFake()
	f.addShard("a", "")
	f.put("a", "k1")
	entered := make(chan struct{})
	r := fakeRunner(f, func(ctx context.Context, _ events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		if lc, ok := lambdacontext.FromContext(ctx); !ok || lc.AwsRequestID == "" {
			t.Error("no Lambda context with a request id")
		}
		close(entered)
		<-ctx.Done()
		return events.DynamoDBEventResponse{}, ctx.Err()
	})
	stop := start(t, r)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("handler not called")
	}
	stop() // fails the test unless Run returns nil at once
	if s := r.Stats(); s.Failures != 0 || s.Delivered != 0 {
		t.Errorf("an interrupted invocation was counted: %+v", s)
	}
}

func TestRunTimeout(t *testing.T) {
	f := newFake()
	f.addShard("a", "")
	f.put("a", "k1")
	f.close("a")
	r := fakeRunner(f, func(ctx context.Context, _ events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		<-ctx.Done()
		return events.DynamoDBEventResponse{}, ctx.Err()
	})
	r.Timeout, r.MaxRetries = 10*time.Millisecond, 1
	start(t, r)
	waitFor(t, 5*time.Second, "the timed-out record skipped", func() bool { return r.Stats().Skipped == 1 })
	if s := r.Stats(); s.Invocations != 2 {
		t.Errorf("stats %+v, want 2 invocations (one retry)", s)
	}
}

type describeTable struct {
	out *dynamodb.DescribeTableOutput
	err error
}

func (d describeTable) DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return d.out, d.err
}

func TestRunFindsStream(t *testing.T) {
	f := newFake()
	tests := []struct {
		name string
		db   DescribeTabler
		want error
	}{
		{"no stream", describeTable{out: &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: aws.String("t")}}}, ErrNoStream},
		{"stream disabled", describeTable{out: &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{
			LatestStreamArn: aws.String(f.arn), StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(false)}}}}, ErrNoStream},
		{"no table", describeTable{err: &ddbtypes.ResourceNotFoundException{Message: aws.String("not found")}}, &ddbtypes.ResourceNotFoundException{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fakeRunner(f, (&recorder{}).Handle)
			r.DB = tc.db
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := r.Run(ctx)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("Run = %v before its deadline, want an error at once", err)
			}
			var nf *ddbtypes.ResourceNotFoundException
			if !errors.Is(err, tc.want) && !(errors.As(tc.want, &nf) && errors.As(err, &nf)) {
				t.Errorf("Run = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("latest of ListStreams without DB", func(t *testing.T) {
		f := newFake()
		f.addShard("a", "")
		f.put("a", "k1")
		r := fakeRunner(f, (&recorder{}).Handle)
		start(t, r)
		waitFor(t, 5*time.Second, "the record", func() bool { return r.Stats().Delivered == 1 })
	})
}

func TestBackoff(t *testing.T) {
	r := &Runner{Backoff: 100 * time.Millisecond}
	var got []time.Duration
	for a := 1; a <= 6; a++ {
		got = append(got, r.backoff(a))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
}
