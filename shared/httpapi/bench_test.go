package httpapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

func benchEvent(b *testing.B, i int) events.APIGatewayV2HTTPRequest {
	ev := loadEvent(b, "../../events/form-intake/json-submission.json")
	ev.Body = strings.Replace(ev.Body, "zhang.wei@example.com", fmt.Sprintf("zhang.wei.%d.%d@example.com", i, time.Now().UnixNano()), 1)
	ev.Body = strings.Replace(ev.Body, "138 0013 8000", fmt.Sprintf("139%08d", i), 1)
	return ev
}

// BenchmarkHandlerOverhead runs the Lambda handler against the local stack
// and reports its time beside the time spent waiting for its own DynamoDB
// and KMS calls, measured in the same run: the ratio is what the handler
// adds on top of its dependencies (goal ≤ 1.3).
func BenchmarkHandlerOverhead(b *testing.B) {
	st := stacktest.New(b)
	cfg, calls := st.Counted(b, "kehu-intake")
	svc, sealer, err := intake.Wire(context.Background(), st.Config, cfg)
	if err != nil {
		b.Fatal(err)
	}
	h := &httpapi.FormIntake{Service: svc, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "form-intake"),
		MaxBody: 64 << 10, KMSCalls: sealer.KMSCalls}
	evs := make([]events.APIGatewayV2HTTPRequest, b.N)
	for i := range evs {
		evs[i] = benchEvent(b, i)
	}
	calls.Reset()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		resp, _ := h.Handle(context.Background(), evs[i])
		if resp.StatusCode != 201 {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(elapsed)/float64(calls.Spent()), "handler/deps")
	b.ReportMetric(float64(calls.Count("dynamodb")+calls.Count("kms"))/float64(b.N), "aws-calls/op")
}

// memDB answers the store's calls from memory: the form, an empty blind
// index, and successful writes. Only for measuring the pure path.
type memDB struct {
	store.DB
	form map[string]types.AttributeValue
}

func (m memDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: m.form}, nil
}
func (memDB) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return &dynamodb.BatchGetItemOutput{}, nil
}
func (memDB) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

type memKMS struct{}

func (memKMS) GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &kms.GenerateDataKeyOutput{Plaintext: k, CiphertextBlob: make([]byte, 184)}, nil
}

// BenchmarkPurePath measures the handler's own work with no network:
// decode, validate and normalise, consent, blind index, encrypt, and build
// the transaction's items.
func BenchmarkPurePath(b *testing.B) {
	doc, err := os.ReadFile("../../local/forms/contact.json")
	if err != nil {
		b.Fatal(err)
	}
	db := memDB{form: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "FORM"}, "sk": &types.AttributeValueMemberS{Value: "contact"},
		"entity": &types.AttributeValueMemberS{Value: "form"}, "definition": &types.AttributeValueMemberS{Value: string(doc)},
	}}
	ix, _ := blindindex.New(make([]byte, 32))
	sealer := envelope.NewSealer(memKMS{}, "kehu", map[customer.Tier]string{customer.Confidential: "c", customer.Restricted: "r"})
	svc := intake.New(store.New(db, "kehu"), sealer, ix, "kehu")
	h := &httpapi.FormIntake{Service: svc, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "form-intake"), MaxBody: 64 << 10}
	ev := benchEvent(b, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, _ := h.Handle(context.Background(), ev)
		if resp.StatusCode != 201 {
			b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkWebhookThroughGateway sends b.N signed Standard Webhooks chat
// events and b.N form submissions (each a new customer) through the local
// gateway (the net/http bridge the local stack serves) and reports
// webhook requests per second beside form submissions per second, and the
// webhook function's KMS calls per 1,000 events, its cold start (the
// intake keys and the source's secret) included.
func BenchmarkWebhookThroughGateway(b *testing.B) {
	st := stacktest.New(b)
	wcfg, wcalls := st.Counted(b, "kehu-webhook")
	wsvc, _, err := intake.Wire(context.Background(), st.Config, wcfg)
	if err != nil {
		b.Fatal(err)
	}
	wh := httpapi.NewWebhookIntake(st.Config, slog.New(slog.NewJSONHandler(io.Discard, nil)), metrics.New(io.Discard, "webhook-intake"))
	wh.Service = wsvc
	wh.ReadSourcesWith(st.Config, wcfg)
	fsvc, _ := st.Intake(b)
	fh := &httpapi.FormIntake{Service: fsvc, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: metrics.New(io.Discard, "form-intake"), MaxBody: 64 << 10}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/webhooks/{sourceId}", httpapi.Bridge(wh.Handle, "POST /v1/webhooks/{sourceId}", "sourceId"))
	mux.Handle("POST /v1/forms/{formId}/submissions", httpapi.Bridge(fh.Handle, "POST /v1/forms/{formId}/submissions", "formId"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	key, _ := webhook.StandardSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	post := func(path string, headers map[string]string, body string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 || strings.Contains(string(got), "quarantined") {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, got)
		}
	}
	run := func(webhooks bool) time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			email := fmt.Sprintf("bench-%d-%s@example.com", i, stacktest.Unique("w"))
			if !webhooks {
				post("/v1/forms/contact/submissions", map[string]string{"Content-Type": "application/json"},
					`{"fields":{"name":"李雷","email":"`+email+`"},"consent":{"purposes":["processing"],"notice":"contact-v1"}}`)
				continue
			}
			body := `{"type":"message.created","timestamp":"2026-11-23T10:00:00Z","data":{"conversation_id":"c","customer":{"email":"` + email + `","name":"李雷"},"text":"你好"}}`
			id, ts := fmt.Sprintf("msg_bench_%d_%s", i, stacktest.Unique("m")), fmt.Sprint(time.Now().Unix())
			post("/v1/webhooks/web-chat", map[string]string{"Content-Type": "application/json", "webhook-id": id, "webhook-timestamp": ts,
				"webhook-signature": webhook.StandardSign(key, id, ts, []byte(body))}, body)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	forms := run(false)
	hooks := run(true)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/hooks.Seconds(), "webhooks/s")
	b.ReportMetric(float64(b.N)/forms.Seconds(), "forms/s")
	b.ReportMetric(forms.Seconds()/hooks.Seconds(), "webhook/form-rate")
	b.ReportMetric(float64(wcalls.Count("kms"))*1000/float64(b.N), "kms-calls/1000-webhooks")
}
