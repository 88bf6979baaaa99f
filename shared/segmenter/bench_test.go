package segmenter_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
)

// BenchmarkMembershipLatency measures, on the local stack, the time from a
// profile write (a form submission, committed) to the customer being
// listed by `kehu segments members` (the stream runner polls every 50 ms,
// as make run's does every 200 ms): p50 and p99 over b.N writes (make
// bench: 200).
func BenchmarkMembershipLatency(b *testing.B) {
	st := stacktest.NewStreamed(b)
	st.Segmenter(b, time.Now)
	svc, _ := st.Intake(b)
	ctx := context.Background()
	def, err := svc.Form(ctx, "contact")
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		region := fmt.Sprintf("bench-%d-%s", i, stacktest.Unique("r"))
		res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"B"}, "email": {stacktest.Unique("b") + "@example.com"},
			"region": {region}}, Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for {
			members, _, err := st.Store.SegmentMembers(ctx, "region:"+region, 10)
			if err == nil && slices.Contains(members, res.CustomerID) {
				break
			}
			if time.Since(start) > 20*time.Second {
				b.Fatalf("write %d not visible after 20 s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}

// BenchmarkHandlerRecords measures the segmenter handler alone on the
// local stack: stream records processed per second (new profiles, each
// joining about six segments) and the write units DynamoDB Local reports
// per record.
func BenchmarkHandlerRecords(b *testing.B) {
	st := stacktest.New(b)
	ctx := context.Background()
	h := &segmenter.Handler{Store: st.Store, Thresholds: segment.Defaults(), Now: time.Now,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "segmenter")}
	ev := loadB(b, "insert.json")
	base := ev.Records[0]
	batch := events.DynamoDBEvent{}
	for i := 0; i < b.N; i++ {
		r := base
		id := fmt.Sprintf("bench-%08d-%s", i, stacktest.Unique("c"))
		r.Change.Keys = map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("CUST#" + id), "sk": events.NewStringAttribute("PROFILE")}
		img := map[string]events.DynamoDBAttributeValue{}
		for k, v := range base.Change.NewImage {
			img[k] = v
		}
		img["pk"] = events.NewStringAttribute("CUST#" + id)
		r.Change.NewImage = img
		r.Change.SequenceNumber = fmt.Sprintf("%021d", i)
		batch.Records = append(batch.Records, r)
	}
	wcu := st.Store.WriteUnits()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(batch.Records); i += 100 {
		part := events.DynamoDBEvent{Records: batch.Records[i:min(i+100, len(batch.Records))]}
		resp, err := h.Handle(ctx, part)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			b.Fatalf("%v %+v", err, resp)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric((st.Store.WriteUnits()-wcu)/float64(b.N), "local-wcu/record")
}

func loadB(b *testing.B, name string) events.DynamoDBEvent {
	raw, err := readFixture(name)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}
