package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/metrics"
)

// expectation for each file under events/form-intake. Every file there must
// have one, so no fixture goes unread.
type expectation struct {
	status      int
	problem     string // problem type slug, for errors
	contentType string
	stores      bool // adds a profile or submission
	check       func(t *testing.T, resp events.APIGatewayV2HTTPResponse)
}

var expectations = map[string]expectation{
	"json-submission.json": {status: 201, contentType: "application/json", stores: true, check: func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
		var body map[string]string
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["submission_id"] == "" || len(body) != 1 {
			t.Errorf("201 body %q lacks ids", r.Body)
		}
	}},
	"json-idempotent.json": {status: 201, contentType: "application/json", stores: true},
	"json-missing-consent.json": {status: 422, problem: "consent-missing", contentType: "application/problem+json", check: func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
		if !strings.Contains(r.Body, `"missing_consent":["processing"]`) {
			t.Errorf("body does not name the missing purpose: %s", r.Body)
		}
	}},
	"json-invalid-fields.json": {status: 422, problem: "validation", contentType: "application/problem+json", check: func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
		var p struct {
			Errors []struct{ Field, Code string }
		}
		_ = json.Unmarshal([]byte(r.Body), &p)
		got := map[string]string{}
		for _, e := range p.Errors {
			got[e.Field] = e.Code
		}
		want := map[string]string{"name": "required", "email": "invalid_email", "phone": "invalid_phone", "favourite_colour": "unknown_field"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("field errors %v, want %v", got, want)
		}
		if strings.Contains(r.Body, "wang.fang(at)example.com") {
			t.Error("the problem repeats a submitted value")
		}
	}},
	"json-duplicate-keys.json": {status: 400, problem: "malformed", contentType: "application/problem+json"},
	"json-honeypot.json":       {status: 201, contentType: "application/json"},
	"text-plain-body.json":     {status: 415, problem: "unsupported-media-type", contentType: "application/problem+json"},
	"unknown-form.json":        {status: 404, problem: "form-not-found", contentType: "application/problem+json"},
	"urlencoded-browser-post.json": {status: 303, stores: true, check: func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
		if r.Headers["Location"] != "http://127.0.0.1:3000/thanks" {
			t.Errorf("Location %q", r.Headers["Location"])
		}
		if r.Headers["Access-Control-Allow-Origin"] != "http://localhost:3000" {
			t.Errorf("no CORS header for an allowed origin: %v", r.Headers)
		}
	}},
	"multipart-browser-post.json": {status: 303, stores: true},
	"multipart-with-file.json":    {status: 415, contentType: "text/html; charset=utf-8"},
	"preflight.json": {status: 204, check: func(t *testing.T, r events.APIGatewayV2HTTPResponse) {
		if r.Headers["Access-Control-Allow-Origin"] != "http://localhost:3000" || !strings.Contains(r.Headers["Access-Control-Allow-Headers"], "Idempotency-Key") {
			t.Errorf("preflight headers %v", r.Headers)
		}
	}},
	"disallowed-origin.json":          {status: 403, problem: "origin-not-allowed", contentType: "application/problem+json"},
	"json-empty-idempotency-key.json": {status: 400, problem: "idempotency-key-invalid", contentType: "application/problem+json"},
	"json-member-case.json":           {status: 400, problem: "malformed", contentType: "application/problem+json"},
}

func loadEvent(t testing.TB, path string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("%s is not an API Gateway v2 event: %v", path, err)
	}
	return ev
}

func eventFiles(t *testing.T) []string {
	files, err := filepath.Glob("../../events/form-intake/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	return files
}

// Every fixture is a real-shaped API Gateway HTTP API v2 event: it decodes
// into the aws-lambda-go type with no unknown member and round-trips.
func TestEventsRoundTrip(t *testing.T) {
	for _, f := range eventFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ev := loadEvent(t, f)
			if ev.Version != "2.0" || ev.RequestContext.HTTP.Method == "" || ev.RouteKey != ev.RequestContext.RouteKey {
				t.Fatalf("not a payload v2 event: %+v", ev.RequestContext)
			}
			again, _ := json.Marshal(ev)
			var back events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(again, &back); err != nil || !reflect.DeepEqual(back, ev) {
				t.Fatalf("round trip differs: %v", err)
			}
			if _, ok := expectations[filepath.Base(f)]; !ok {
				t.Fatalf("no expectation for %s: add one to expectations", f)
			}
		})
	}
}

func newHandler(t *testing.T, st *stacktest.Stack, logs, emf io.Writer) *httpapi.FormIntake {
	svc, sealer := st.Intake(t)
	return &httpapi.FormIntake{Service: svc, Log: slog.New(slog.NewJSONHandler(logs, nil)), Metrics: metrics.New(emf, "form-intake"),
		MaxBody: 64 << 10, KMSCalls: sealer.KMSCalls}
}

// Replays every fixture through the Lambda handler against the local stack.
func TestEventsAgainstStack(t *testing.T) {
	st := stacktest.New(t)
	var logs, emf bytes.Buffer
	h := newHandler(t, st, &logs, &emf)
	for _, f := range eventFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want := expectations[name]
			before := st.Count(t)
			resp, err := h.Handle(context.Background(), loadEvent(t, f))
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			if resp.StatusCode != want.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, want.status, resp.Body)
			}
			if want.contentType != "" && resp.Headers["Content-Type"] != want.contentType {
				t.Errorf("content type %q, want %q", resp.Headers["Content-Type"], want.contentType)
			}
			if want.problem != "" && !strings.Contains(resp.Body, `"type":"`+httpapi.ProblemBase+want.problem+`"`) {
				t.Errorf("problem type is not %s: %s", want.problem, resp.Body)
			}
			after := st.Count(t)
			if stored := after["submission"] > before["submission"]; stored != want.stores {
				t.Errorf("stored=%v, want %v (%v → %v)", stored, want.stores, before, after)
			}
			if !want.stores && after["idempotency"] != before["idempotency"] {
				t.Errorf("a rejected request left an idempotency record")
			}
			if want.check != nil {
				want.check(t, resp)
			}
		})
	}
	t.Run("idempotent replay", func(t *testing.T) {
		ev := loadEvent(t, "../../events/form-intake/json-idempotent.json")
		before := st.Count(t)
		resp, _ := h.Handle(context.Background(), ev)
		if resp.StatusCode != 201 || resp.Headers["Idempotent-Replayed"] != "true" {
			t.Fatalf("replay: %d %v", resp.StatusCode, resp.Headers)
		}
		if after := st.Count(t); !reflect.DeepEqual(before, after) {
			t.Fatalf("replay wrote: %v → %v", before, after)
		}
		ev.Body = strings.Replace(ev.Body, "李娜", "李娜娜", 1)
		resp, _ = h.Handle(context.Background(), ev)
		if resp.StatusCode != 422 || !strings.Contains(resp.Body, "idempotency-key-reused") {
			t.Fatalf("reused key with another body: %d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("logs and metrics hold no personal data", func(t *testing.T) {
		// The path is the client's: an email put where the form id goes is not logged.
		ev := loadEvent(t, "../../events/form-intake/unknown-form.json")
		ev.PathParameters["formId"] = "path.leak@example.com"
		if resp, _ := h.Handle(context.Background(), ev); resp.StatusCode != 404 {
			t.Fatalf("form id with an email: %d", resp.StatusCode)
		}
		out := logs.String() + emf.String()
		if !strings.Contains(out, `"outcome":"accepted"`) || !strings.Contains(emf.String(), `"CloudWatchMetrics"`) {
			t.Fatalf("logs or metrics missing:\n%s", out)
		}
		for _, pii := range []string{"张伟", "zhang.wei", "13800138000", "138 0013 8000", "li.na", "陈静", "chen.jing", "6234", "203.0.113.7", "Mozilla", "请联系我", "path.leak"} {
			if strings.Contains(strings.ToLower(out), strings.ToLower(pii)) {
				t.Errorf("logs or metrics contain %q", pii)
			}
		}
	})
}

// Through the local gateway over HTTP, as a browser would post.
func TestGateway(t *testing.T) {
	if !stacktest.Available() || os.Getenv("KEHU_GATEWAY_URL") == "" {
		t.Skip("needs the local gateway: run `make test`")
	}
	gw := os.Getenv("KEHU_GATEWAY_URL")
	resp, err := http.Get(gw + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"name": {"Gateway " + stacktest.Unique("g")}, "email": {stacktest.Unique("gw") + "@example.com"},
		"consent": {"processing"}, "notice": {"contact-v1"}}
	resp, err = client.PostForm(gw+"/v1/forms/contact/submissions", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" {
		t.Fatalf("browser post: %d %v", resp.StatusCode, resp.Header)
	}
	form.Del("consent")
	resp, err = client.PostForm(gw+"/v1/forms/contact/submissions", form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(page), "processing") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser post without consent: %d %s", resp.StatusCode, page)
	}
	big := strings.Repeat("x", 70<<10)
	resp, err = http.Post(gw+"/v1/forms/contact/submissions", "application/json", strings.NewReader(`{"fields":{"message":"`+big+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("oversized body: %d", resp.StatusCode)
	}
}

// A dependency that fails answers 503 with Retry-After and stores nothing.
func TestDependencyDownAnswers503(t *testing.T) {
	st := stacktest.New(t)
	var logs bytes.Buffer
	h := newHandler(t, st, &logs, io.Discard)
	deadKMS := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: st.AWS(t, "kehu-intake").Credentials})
	h.Service.Sealer = envelope.NewSealer(deadKMS, st.Table, map[customer.Tier]string{customer.Confidential: "alias/kehu-confidential"})
	before := st.Count(t)
	ev := loadEvent(t, "../../events/form-intake/json-idempotent.json")
	resp, _ := h.Handle(context.Background(), ev)
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" || !strings.Contains(resp.Body, "#unavailable") {
		t.Fatalf("KMS down: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	if after := st.Count(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("KMS down left items: %v → %v", before, after)
	}
	if !strings.Contains(logs.String(), `"outcome":"error"`) || strings.Contains(logs.String(), "li.na") {
		t.Fatalf("log line: %s", logs.String())
	}
	// The retry, with KMS back, goes through with the same Idempotency-Key.
	ok := newHandler(t, st, io.Discard, io.Discard)
	if resp, _ := ok.Handle(context.Background(), ev); resp.StatusCode != 201 {
		t.Fatalf("retry: %d %s", resp.StatusCode, resp.Body)
	}
}
