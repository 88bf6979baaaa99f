package httpapi

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/store"
)

// FormIntake serves POST /v1/forms/{formId}/submissions (and its CORS
// preflight) for API Gateway HTTP API payload v2.
type FormIntake struct {
	Service  *intake.Service // or, when nil, built by Wiring on first use
	Wiring   *Wiring
	Log      *slog.Logger
	Metrics  *metrics.Emitter
	MaxBody  int
	KMSCalls func() int64 // data-key calls so far, for the metric; may be nil
}

func (h *FormIntake) service(ctx context.Context) (*intake.Service, func() int64, error) {
	if h.Service != nil || h.Wiring == nil {
		return h.Service, h.KMSCalls, nil
	}
	return h.Wiring.Get(ctx)
}

// created is a 201's body. It names the submission only: the customer a
// submission was attached to is not the sender's to know (two posts naming
// an email and a phone would otherwise prove they belong to one person).
type created struct {
	SubmissionID string `json:"submission_id"`
}

// Handle answers one request. It never returns an error: every failure is
// an HTTP answer, so API Gateway never substitutes its own.
func (h *FormIntake) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	svc, kmsCalls, wireErr := h.service(ctx)
	var kmsBefore int64
	if kmsCalls != nil {
		kmsBefore = kmsCalls()
	}
	formID := req.PathParameters["formId"]
	// The path is the client's: it is logged only once it named a form
	// that exists (a valid-looking id can still be a phone number).
	logForm := "(unknown)"
	html := isHTMLPost(&req)
	outcome, reason := "accepted", ""
	var res intake.Result
	var resp events.APIGatewayV2HTTPResponse
	err := wireErr
	if err == nil {
		resp, err = h.handle(ctx, svc, &req, formID, html, &res, &logForm)
	}
	attrs := []any{"request_id", req.RequestContext.RequestID, "form", logForm}
	if err != nil {
		var p *Problem
		p, outcome, reason = answerError(err, "rejected", "error")
		resp = errorResponse(p, html, resp.Headers)
		logAnswer(ctx, h.Log, "submission", start, err, p.Status, append(attrs, "outcome", outcome, "reason", reason)...)
	} else {
		switch {
		case res.Honeypot:
			outcome = "honeypot"
		case res.Replayed:
			outcome = "replayed"
		case req.RequestContext.HTTP.Method == http.MethodOptions:
			outcome = "preflight"
		}
		logAnswer(ctx, h.Log, "submission", start, nil, resp.StatusCode, append(attrs, "outcome", outcome,
			"new_customer", res.NewCustomer, "review", res.Review, "held_fields", len(res.Held))...)
	}
	h.emit(outcome, reason, res, kmsCalls, kmsBefore, time.Since(start))
	return resp, nil
}

func (h *FormIntake) emit(outcome, reason string, res intake.Result, kmsCalls func() int64, kmsBefore int64, d time.Duration) {
	if outcome == "preflight" {
		return
	}
	dims := map[string]string{"outcome": outcome}
	if reason != "" {
		dims["reason"] = reason
	}
	counts := []metrics.Count{{Name: "Submissions", Value: 1}, {Name: "Duration", Value: float64(d.Microseconds()) / 1000, Unit: "Milliseconds"}}
	if outcome == "accepted" {
		dup := 0.0
		if !res.NewCustomer {
			dup = 1
		}
		counts = append(counts, metrics.Count{Name: "ReturningCustomers", Value: dup})
		switch res.Review {
		case store.ReviewIdentity:
			counts = append(counts, metrics.Count{Name: "IdentityConflicts", Value: 1})
		case store.ReviewValues:
			counts = append(counts, metrics.Count{Name: "HeldValues", Value: 1})
		}
	}
	if kmsCalls != nil {
		counts = append(counts, metrics.Count{Name: "KMSCalls", Value: float64(kmsCalls() - kmsBefore)})
	}
	h.Metrics.Emit(dims, counts...)
}

func (h *FormIntake) handle(ctx context.Context, svc *intake.Service, req *events.APIGatewayV2HTTPRequest, formID string, html bool,
	res *intake.Result, logForm *string) (events.APIGatewayV2HTTPResponse, error) {
	resp := events.APIGatewayV2HTTPResponse{Headers: map[string]string{"Cache-Control": "no-store"}}
	def, err := svc.Form(ctx, formID)
	if err != nil {
		return resp, err
	}
	*logForm = def.ID
	origin := header(req, "origin")
	if origin != "" {
		if !slices.Contains(def.AllowedOrigins, origin) {
			return resp, problem(http.StatusForbidden, "origin-not-allowed", "Origin not allowed",
				"This form does not accept submissions from that origin.")
		}
		resp.Headers["Access-Control-Allow-Origin"] = origin
		resp.Headers["Vary"] = "Origin"
		resp.Headers["Access-Control-Expose-Headers"] = "Idempotent-Replayed, Retry-After"
	}
	switch req.RequestContext.HTTP.Method {
	case http.MethodOptions:
		resp.StatusCode = http.StatusNoContent
		resp.Headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
		resp.Headers["Access-Control-Allow-Headers"] = "Content-Type, Idempotency-Key"
		resp.Headers["Access-Control-Max-Age"] = "600"
		return resp, nil
	case http.MethodPost:
	default:
		resp.Headers["Allow"] = "POST, OPTIONS"
		return resp, problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "Use POST.")
	}
	d, err := decodeBody(req, h.MaxBody)
	if err != nil {
		return resp, err
	}
	key, keySent := lookupHeader(req, "idempotency-key")
	*res, err = svc.Submit(ctx, def, intake.Submission{
		Fields: d.fields, Consent: d.consent,
		IdempotencyKey: key, IdempotencyKeySent: keySent,
		ClientIP: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent,
	})
	if err != nil {
		return resp, err
	}
	if res.Replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	if html && def.RedirectURL != "" {
		resp.StatusCode = http.StatusSeeOther
		resp.Headers["Location"] = def.RedirectURL
		return resp, nil
	}
	if html {
		resp.StatusCode = http.StatusCreated
		resp.Headers["Content-Type"] = "text/html; charset=utf-8"
		resp.Body = thanksPage(def)
		return resp, nil
	}
	body, _ := json.Marshal(created{SubmissionID: res.SubmissionID})
	resp.StatusCode = http.StatusCreated
	resp.Headers["Content-Type"] = "application/json"
	resp.Body = string(body)
	return resp, nil
}

func errorResponse(p *Problem, html bool, base map[string]string) events.APIGatewayV2HTTPResponse {
	headers := map[string]string{"Cache-Control": "no-store"}
	for _, k := range []string{"Access-Control-Allow-Origin", "Vary", "Access-Control-Expose-Headers", "Allow"} {
		if v, ok := base[k]; ok {
			headers[k] = v
		}
	}
	if p.retryAfter > 0 {
		headers["Retry-After"] = strconv.Itoa(p.retryAfter)
	}
	if html {
		headers["Content-Type"] = "text/html; charset=utf-8"
		return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: headers, Body: errorPage(p)}
	}
	headers["Content-Type"] = "application/problem+json"
	body, _ := json.Marshal(p)
	return events.APIGatewayV2HTTPResponse{StatusCode: p.Status, Headers: headers, Body: string(body)}
}

var pages = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Detail}}</p>
{{if .Errors}}<ul>{{range .Errors}}<li><strong>{{.Field}}</strong> {{.Detail}}</li>{{end}}</ul>{{end}}
{{if .MissingConsent}}<p>Consent needed for: {{range $i, $p := .MissingConsent}}{{if $i}}, {{end}}{{$p}}{{end}}</p>{{end}}
<p>Please go back, correct the form and send it again.</p></body></html>
`))

func errorPage(p *Problem) string {
	var b strings.Builder
	if err := pages.Execute(&b, p); err != nil {
		return "<!doctype html><title>Error</title><p>The form could not be sent.</p>"
	}
	return b.String()
}

func thanksPage(def *form.Definition) string {
	return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Thank you</title></head><body><h1>Thank you</h1><p>" +
		template.HTMLEscapeString(def.Title) + ": your details were received.</p></body></html>\n"
}

// lookupHeader finds a header by name in any letter case, and says whether
// it was sent at all (an empty value is still sent).
func lookupHeader(req *events.APIGatewayV2HTTPRequest, name string) (string, bool) {
	if v, ok := req.Headers[name]; ok {
		return v, true
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
