package intake_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/store"
)

// BenchmarkWarmFunction runs accepted submissions through one warm pipeline
// against the local stack (run with -benchtime 1000x, as `make bench` does)
// and reports KMS calls per 1,000 submissions, cold start included, and
// the DynamoDB write units each submission consumed.
func BenchmarkWarmFunction(b *testing.B) {
	for _, kind := range []string{"new-customer", "returning-customer"} {
		b.Run(kind, func(b *testing.B) {
			st := stacktest.New(b)
			cfg, calls := st.Counted(b, "kehu-intake")
			svc, _, err := intake.Wire(context.Background(), st.Config, cfg) // the cold start: one Decrypt
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			def, err := svc.Form(ctx, "contact")
			if err != nil {
				b.Fatal(err)
			}
			returning := stacktest.Unique("ret") + "@example.com"
			if kind == "returning-customer" {
				if _, err := svc.Submit(ctx, def, contactSub("First", returning, "")); err != nil {
					b.Fatal(err)
				}
			}
			wcu := svc.Store.(*store.Store).WriteUnits()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				email := returning
				if kind == "new-customer" {
					email = fmt.Sprintf("bench-%d-%s@example.com", i, stacktest.Unique("n"))
				}
				sub := contactSub(fmt.Sprint("Bench ", i), email, "")
				sub.IdempotencyKey = stacktest.Unique("k")
				res, err := svc.Submit(ctx, def, sub)
				if err != nil {
					b.Fatal(err)
				}
				if res.NewCustomer != (kind == "new-customer") {
					b.Fatalf("submission %d: new customer = %v", i, res.NewCustomer)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(calls.Count("kms"))*1000/float64(b.N), "kms-calls/1000")
			b.ReportMetric((svc.Store.(*store.Store).WriteUnits()-wcu)/float64(b.N), "wcu/op")
			b.ReportMetric(float64(calls.Count("dynamodb"))/float64(b.N), "ddb-calls/op")
		})
	}
}
