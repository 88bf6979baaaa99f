package segmenter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
)

const (
	customerA = "4f7d6a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"
	customerB = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
)

func load(t *testing.T, name string) events.DynamoDBEvent {
	t.Helper()
	raw, err := os.ReadFile("../../events/segmenter/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s is not a DynamoDB stream event: %v", name, err)
	}
	again, _ := json.Marshal(ev)
	var back events.DynamoDBEvent
	if err := json.Unmarshal(again, &back); err != nil || !reflect.DeepEqual(back, ev) {
		t.Fatalf("%s does not round-trip: %v", name, err)
	}
	return ev
}

// Every file in events/segmenter is read here.
func TestEventsReplayed(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := &segmenter.Handler{Store: st.Store, Thresholds: segment.Defaults(), Now: func() time.Time { return now },
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "segmenter")}
	handle := func(name string) events.DynamoDBEventResponse {
		t.Helper()
		resp, err := h.Handle(ctx, load(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	segs := func(id string) []string {
		s, err := st.Store.SegmentsOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s.Segments
	}
	counts := func() map[string]int64 {
		c, err := st.Store.SegmentCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if r := handle("insert.json"); len(r.BatchItemFailures) != 0 {
		t.Fatalf("insert failed: %+v", r)
	}
	got := segs(customerA)
	for _, want := range []string{"region:华东", "industry:manufacturing", "marketable", "lifecycle:prospect"} {
		if !slices.Contains(got, want) {
			t.Errorf("after insert, %s not in %v", want, got)
		}
	}
	if members, n, err := st.Store.SegmentMembers(ctx, "marketable", 10); err != nil || n != 1 || !slices.Equal(members, []string{customerA}) {
		t.Fatalf("marketable: %v %d %v", members, n, err)
	}
	handle("modify.json") // marketing withdrawn, two orders (25,000 in 12 months)
	got = segs(customerA)
	if slices.Contains(got, "marketable") || !slices.Contains(got, "value:B") || !slices.Contains(got, "lifecycle:new") {
		t.Fatalf("after modify: %v", got)
	}
	before := counts()
	handle("insert.json") // redelivered, older: changes nothing
	handle("modify.json") // redelivered
	if after := counts(); !reflect.DeepEqual(before, after) || !slices.Equal(segs(customerA), got) {
		t.Fatalf("redelivery changed counts %v → %v", before, after)
	}
	if before["marketable"] != 0 || before["value:B"] != 1 {
		t.Fatalf("counts %v", before)
	}
	matched := func() map[string]int64 {
		c, err := st.Store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c.Matched
	}
	if m := matched(); !maps.Equal(m, map[string]int64{"orders": 2}) {
		t.Fatalf("duplicates prevented after redelivery: %v", m)
	}
	handle("remove.json")
	if s := segs(customerA); len(s) != 0 {
		t.Fatalf("a removed profile is in %v", s)
	}
	handle("insert.json") // an old image after the removal: nothing comes back
	if s := segs(customerA); len(s) != 0 {
		t.Fatalf("a removed profile came back into %v", s)
	}
	handle("ttl-remove.json")
	if s := segs(customerB); len(s) != 0 {
		t.Fatalf("a TTL-removed profile is in %v", s)
	}
	if c := counts(); len(c) != 0 {
		t.Fatalf("counts after every removal: %v", c)
	}
	if m := matched(); !maps.Equal(m, map[string]int64{"orders": 2}) {
		t.Fatalf("duplicates prevented are history, kept through a removal: %v", m)
	}
	resp := handle("poison.json")
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "333300000000000000000002" {
		t.Fatalf("poison batch: %+v", resp)
	}
	if c := counts(); c["region:西南"] != 1 || c["region:西北"] != 1 {
		t.Fatalf("the rest of the poison batch was not processed: %v", c)
	}
	q, err := segmenter.Report(ctx, st.Store)
	if err != nil || q.Customers != 2 || q.ConsentCoverage["marketable"] != 1 || q.Lifecycle["prospect"] != 2 || q.DuplicatesPrevented["orders"] != 2 {
		t.Fatalf("quality %+v %v", q, err)
	}
	var emf bytes.Buffer
	q.Emit(metrics.New(&emf, "sweep"))
	var line map[string]any
	lines := bytes.Split(bytes.TrimSpace(emf.Bytes()), []byte("\n"))
	if err := json.Unmarshal(lines[0], &line); err != nil || line["Customers"] != 2.0 || line["Marketable"] != 1.0 {
		t.Fatalf("EMF line %s %v", emf.String(), err)
	}
	var dup map[string]any
	if err := json.Unmarshal(lines[len(lines)-1], &dup); err != nil || dup["channel"] != "orders" || dup["DuplicatesPrevented"] != 2.0 {
		t.Fatalf("duplicates prevented EMF line %s %v", lines[len(lines)-1], err)
	}
}

// The sweep moves a customer whose last order ages past 180 days, with no
// profile write, and touches only customers who are due.
func TestSweepMovesWithTime(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := &segmenter.Handler{Store: st.Store, Thresholds: segment.Defaults(), Now: func() time.Time { return now },
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "segmenter")}
	// The modify image: orders in 2026-10/11, last 2026-11-20: new.
	ev := load(t, "modify.json")
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// The profile itself must exist for the sweep to read it.
	if err := st.PutRaw(ctx, ev.Records[0].Change.NewImage); err != nil {
		t.Fatal(err)
	}
	s, _ := st.Store.SegmentsOf(ctx, customerA)
	if !slices.Contains(s.Segments, "lifecycle:new") || s.NextDue.IsZero() {
		t.Fatalf("%+v", s)
	}
	start := now
	if n, err := h.Sweep(ctx, start); err != nil || n != 0 {
		t.Fatalf("a sweep with nothing due touched %d (%v)", n, err)
	}
	now = time.Date(2027, 5, 25, 12, 0, 0, 0, time.UTC) // last order 186 days ago
	n, err := h.Sweep(ctx, s.NextDue)                   // from the due day on (every day is 32 Queries)
	if err != nil || n == 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	s, _ = st.Store.SegmentsOf(ctx, customerA)
	if !slices.Contains(s.Segments, "lifecycle:at-risk") || slices.Contains(s.Segments, "lifecycle:new") {
		t.Fatalf("after the sweep: %v", s.Segments)
	}
	// A profile change whose stream record never came (lost to the
	// dead-letter queue): the next due sweep applies the profile it reads.
	img := maps.Clone(ev.Records[0].Change.NewImage)
	v, err := strconv.Atoi(img["version"].Number())
	if err != nil {
		t.Fatal(err)
	}
	img["version"] = events.NewNumberAttribute(strconv.Itoa(v + 1))
	img["general"] = events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"region": events.NewStringAttribute("东北")})
	img["matched"] = events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"orders": events.NewNumberAttribute("3")})
	if err := st.PutRaw(ctx, img); err != nil {
		t.Fatal(err)
	}
	due := s.NextDue
	now = due.Add(time.Hour)
	if n, err := h.Sweep(ctx, due); err != nil || n == 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	s, _ = st.Store.SegmentsOf(ctx, customerA)
	if s.Version != int64(v+1) || !slices.Contains(s.Segments, "region:东北") {
		t.Fatalf("a profile without its stream record: state %+v, want version %d in region:东北", s, v+1)
	}
	// Its matched submission is counted, once, from the profile read.
	if c, err := st.Store.Counts(ctx); err != nil || c.Matched["orders"] != 3 {
		t.Fatalf("duplicates prevented after the sweep applied a lost record: %+v %v", c, err)
	}
}

func readFixture(name string) (events.DynamoDBEvent, error) {
	var ev events.DynamoDBEvent
	raw, err := os.ReadFile("../../events/segmenter/" + name)
	if err != nil {
		return ev, err
	}
	return ev, json.Unmarshal(raw, &ev)
}
