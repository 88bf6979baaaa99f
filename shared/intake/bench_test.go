package intake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/store"
)

// BenchmarkWarmFunction runs accepted submissions through one warm pipeline
// against the local stack (run with -benchtime 1000x, as `make bench` does)
// and reports KMS calls per 1,000 submissions, cold start included, and
// the DynamoDB write units each submission consumed, without and with an
// Idempotency-Key (which adds the in-flight record).
func BenchmarkWarmFunction(b *testing.B) {
	for _, name := range []string{"new-customer", "returning-customer", "new-customer/idempotency-key", "returning-customer/idempotency-key"} {
		kind, keyed := strings.CutSuffix(name, "/idempotency-key")
		b.Run(name, func(b *testing.B) {
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
				if _, err := svc.Submit(ctx, def, contactSub("Bench", returning, "")); err != nil {
					b.Fatal(err)
				}
			}
			wcu := svc.Store.(*store.Store).WriteUnits()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				email, phone := returning, ""
				if kind == "new-customer" {
					email = fmt.Sprintf("bench-%d-%s@example.com", i, stacktest.Unique("n"))
					phone = fmt.Sprintf("139%08d", i)
				}
				name := "Bench" // a returning customer sends the same details again, with a new message
				if kind == "new-customer" {
					name = fmt.Sprint("Bench ", i)
				}
				sub := contactSub(name, email, phone)
				sub.Fields["message"] = []string{fmt.Sprint("请联系我 ", i)}
				if keyed {
					sub.IdempotencyKey, sub.IdempotencyKeySent = stacktest.Unique("k"), true
				}
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
			b.ReportMetric((svc.Store.(*store.Store).WriteUnits()-wcu)/float64(b.N), "local-wcu/op")
			b.ReportMetric(awsWriteUnits(b, st), "aws-wcu/op")
			b.ReportMetric(float64(calls.Count("dynamodb"))/float64(b.N), "ddb-calls/op")
		})
	}
}

// awsWriteUnits prices one submission by AWS's rules from the sizes of the
// items the run left: every item a submission writes inside its transaction
// costs 2 units per KB started; the idempotency record is also put once
// before it (1 unit per KB). DynamoDB Local's own ConsumedCapacity for
// transactions is not item-accurate, hence this second figure.
func awsWriteUnits(b *testing.B, st *stacktest.Stack) float64 {
	sizes := map[string][]int{}
	for _, it := range st.Scan(b) {
		e := it["entity"].(*types.AttributeValueMemberS).Value
		sizes[e] = append(sizes[e], store.ItemSize(it))
	}
	mean := func(entity string, tx bool) float64 {
		if len(sizes[entity]) == 0 {
			return 0
		}
		total := 0
		for _, n := range sizes[entity] {
			total += store.WriteUnits(n, tx)
		}
		return float64(total) / float64(len(sizes[entity]))
	}
	subs := float64(len(sizes["submission"]))
	units := float64(len(sizes["profile"])) / subs * mean("profile", true) // new: one profile per submission; returning: one updated each time
	if len(sizes["profile"]) == 1 {
		units = mean("profile", true)
	}
	units += mean("submission", true)
	// Written once per new identifier, per new data key (a few a cold
	// start), per review: spread over the submissions.
	for _, e := range []string{"blind-index", "data-key", "review"} {
		units += float64(len(sizes[e])) / subs * mean(e, true)
	}
	units += float64(len(sizes["idempotency"])) / subs * (mean("idempotency", false) + mean("idempotency", true))
	return units
}
