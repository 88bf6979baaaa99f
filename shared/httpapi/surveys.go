package httpapi

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/store"
)

// SurveyDeps is what the survey function works with: the pipeline, the
// table (survey definitions, consent states, used links) and the link keys.
type SurveyDeps struct {
	Service *intake.Service
	Store   *store.Store
	Keys    *link.Keys
}

// SurveyPages serves the pages a customer reaches through a signed link:
//
//	GET  /v1/surveys/{surveyId}?t=…          the update survey (plain HTML, no values)
//	POST /v1/surveys/{surveyId}/responses    its answer (HTML form post or JSON) → 303 thank-you page
//	GET  /v1/surveys/{surveyId}/thanks       the thank-you page
//	GET  /v1/confirm?t=…                     a page with one button to confirm an address
//	POST /v1/confirm                         the button: the address is verified
//	GET  /v1/unsubscribe?t=…                 a page with one button to withdraw a purpose
//	POST /v1/unsubscribe?t=…                 the button, or RFC 8058 one-click: the purpose is withdrawn
//
// A GET never changes anything (mail scanners prefetch links). It holds no
// key that decrypts a customer's values: the survey page shows field
// names, not values.
type SurveyPages struct {
	Deps    *SurveyDeps // or, when nil, built by Build on first use
	Build   func(ctx context.Context) (*SurveyDeps, error)
	Log     *slog.Logger
	Metrics *metrics.Emitter
	MaxBody int
	Now     func() time.Time

	built buildOnce
}

func (h *SurveyPages) deps(ctx context.Context) (*SurveyDeps, error) {
	return buildDeps(ctx, &h.built, &h.Deps, h.Build)
}

func (h *SurveyPages) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// SurveyRoutes lists the route keys SurveyPages serves, with their path parameters.
var SurveyRoutes = map[string][]string{
	"GET /v1/surveys/{surveyId}":            {"surveyId"},
	"POST /v1/surveys/{surveyId}/responses": {"surveyId"},
	"GET /v1/surveys/{surveyId}/thanks":     {"surveyId"},
	"GET /v1/confirm":                       nil,
	"POST /v1/confirm":                      nil,
	"GET /v1/unsubscribe":                   nil,
	"POST /v1/unsubscribe":                  nil,
}

// Handle answers one request; every failure is a page (or, for JSON, a
// problem), never an error to API Gateway.
func (h *SurveyPages) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	asPage := !strings.HasPrefix(header(&req, "content-type"), "application/json")
	return servePage(ctx, &req, pageLog{log: h.Log, metrics: h.Metrics, what: "link", count: metrics.Count{Name: "LinkRequests", Value: 1}, route: routeName(req.RouteKey)}, asPage,
		h.deps, h.route), nil
}

// pageLog is how a page function logs and counts its answers.
type pageLog struct {
	log     *slog.Logger
	metrics *metrics.Emitter
	what    string        // "<what> answered|refused|failed"
	count   metrics.Count // one per request
	route   string        // the count's route dimension
}

// servePage answers one request of a link page function (the survey
// pages, the privacy page): its dependencies built, the route's answer or
// the failure as a page (asPage) or a problem, one log line, one count,
// the link pages' security headers.
func servePage[T any](ctx context.Context, req *events.APIGatewayV2HTTPRequest, pl pageLog, asPage bool, deps func(context.Context) (*T, error),
	route func(context.Context, *T, *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error)) events.APIGatewayV2HTTPResponse {
	start := time.Now()
	var resp events.APIGatewayV2HTTPResponse
	d, err := deps(ctx)
	outcome := ""
	if err == nil {
		resp, outcome, err = route(ctx, d, req)
	}
	attrs := []any{"request_id", req.RequestContext.RequestID, "route", req.RouteKey}
	status := resp.StatusCode
	if err != nil {
		p, refused, reason := answerError(err, "refused", "error")
		resp, status = errorResponse(p, asPage, nil), p.Status
		outcome = refused + ":" + reason
	}
	logAnswer(ctx, pl.log, pl.what, start, err, status, append(attrs, "outcome", outcome)...)
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	secure(resp.Headers)
	kind, _, _ := strings.Cut(outcome, ":")
	pl.metrics.Emit(map[string]string{"outcome": kind, "route": pl.route}, pl.count)
	return resp
}

func routeName(key string) string {
	switch {
	case strings.Contains(key, "/responses"):
		return "survey-response"
	case strings.Contains(key, "/surveys/"):
		return "survey"
	case strings.Contains(key, "/confirm"):
		return "confirm"
	case strings.Contains(key, "/unsubscribe"):
		return "unsubscribe"
	}
	return "other"
}

// secure sets the headers every link page carries: the token is in the
// URL, so no referrer leaves and nothing is cached or indexed; the pages
// have buttons, so no other site may frame them.
func secure(hd map[string]string) {
	hd["Cache-Control"] = "no-store"
	hd["Referrer-Policy"] = "no-referrer"
	hd["X-Frame-Options"] = "DENY"
	hd["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
	hd["X-Robots-Tag"] = "noindex"
}

func (h *SurveyPages) route(ctx context.Context, d *SurveyDeps, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error) {
	switch req.RouteKey {
	case "GET /v1/surveys/{surveyId}":
		return h.surveyPage(ctx, d, req)
	case "POST /v1/surveys/{surveyId}/responses":
		return h.surveyAnswer(ctx, d, req)
	case "GET /v1/surveys/{surveyId}/thanks":
		return page(http.StatusOK, "thanks", pageData{}), "shown", nil
	case "GET /v1/confirm":
		return h.buttonPage(ctx, d, req, link.Confirm)
	case "POST /v1/confirm":
		return h.confirm(ctx, d, req)
	case "GET /v1/unsubscribe":
		return h.buttonPage(ctx, d, req, link.Withdraw)
	case "POST /v1/unsubscribe":
		return h.unsubscribe(ctx, d, req)
	}
	return events.APIGatewayV2HTTPResponse{}, "", problem(http.StatusNotFound, "not-found", "Not found", "No such page.")
}

// Link problems (docs/problems.md).
func linkProblem(err error) *Problem {
	switch {
	case errors.Is(err, link.ErrExpired):
		return problem(http.StatusGone, "link-expired", "Link expired", "This link has expired; nothing was changed. The next email brings a new one.")
	case errors.Is(err, store.ErrLinkUsed):
		return problem(http.StatusGone, "link-used", "Link already used", "This link was used already; nothing was changed.")
	case errors.Is(err, store.ErrNotVerifiable):
		return problem(http.StatusGone, "link-stale", "Link no longer applies", "This address is no longer on file for you; nothing was changed.")
	default:
		return problem(http.StatusForbidden, "link-invalid", "Link not valid", "This link is not valid; nothing was changed.")
	}
}

// token finds the link token: the query's t, or a form post's t.
func token(req *events.APIGatewayV2HTTPRequest, d *decoded) string {
	if d != nil {
		if v := d.fields["t"]; len(v) == 1 {
			return v[0]
		}
	}
	return req.QueryStringParameters["t"]
}

func (h *SurveyPages) claims(ctx context.Context, d *SurveyDeps, tok string, purpose link.Purpose, singleUse bool) (link.Claims, error) {
	c, err := d.Keys.Parse(tok, purpose, h.now())
	if err != nil {
		return c, linkProblem(err)
	}
	if singleUse {
		used, err := d.Store.LinkUsed(ctx, c.Customer, c.ID)
		if err != nil {
			return c, err
		}
		if used {
			return c, linkProblem(store.ErrLinkUsed)
		}
	}
	return c, nil
}

func (h *SurveyPages) survey(ctx context.Context, d *SurveyDeps, id string, c link.Claims) (*form.Definition, error) {
	if c.Subject != id {
		return nil, linkProblem(link.ErrForged) // a link for another survey
	}
	def, err := d.Store.Survey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem(http.StatusNotFound, "survey-not-found", "Survey not found", "There is no survey with this id.")
	}
	return def, err
}

func (h *SurveyPages) surveyPage(ctx context.Context, d *SurveyDeps, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error) {
	id := req.PathParameters["surveyId"]
	c, err := h.claims(ctx, d, token(req, nil), link.Survey, true)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	def, err := h.survey(ctx, d, id, c)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	head, err := d.Store.ProfileHead(ctx, c.Customer)
	if errors.Is(err, store.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, "", intake.ErrSubjectNotFound
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	// Relative to the page (…/v1/surveys/{id}): right under any base path.
	pd := pageData{Action: url.PathEscape(def.ID) + "/responses", RawToken: token(req, nil), Survey: def}
	if len(def.Consent.Notices) > 0 {
		pd.Notice = def.Consent.Notices[0]
	}
	for _, f := range def.Fields {
		spec, _ := customer.Lookup(f.Name)
		_, onFile := head.Fields[f.Name]
		if id, ok := customer.IdentityOfField(f.Name); ok {
			onFile = false
			for _, k := range head.IdentifiersOf(id.Kind) {
				onFile = onFile || head.IDs[k].Indexed // not one kept only for the record (another customer's)
			}
		}
		pd.Fields = append(pd.Fields, pageField{Name: f.Name, Label: labelOf(f), Type: inputType(spec.Kind), OnFile: onFile, Options: f.Options})
	}
	for _, p := range slices.Concat(def.Consent.Required, def.Consent.Optional) {
		pd.Consents = append(pd.Consents, pageConsent{Purpose: string(p), Granted: head.Consent[p].Granted, Required: slices.Contains(def.Consent.Required, p)})
	}
	return page(http.StatusOK, "survey", pd), "shown", nil
}

func labelOf(f form.Field) string {
	if f.Label != "" {
		return f.Label
	}
	return f.Name
}

func inputType(k customer.Kind) string {
	switch k {
	case customer.KindEmail:
		return "email"
	case customer.KindPhone:
		return "tel"
	case customer.KindDate:
		return "date"
	case customer.KindLongText:
		return "textarea"
	default:
		return "text"
	}
}

// surveyAnswer takes a survey's answer through the one pipeline, as a
// proven submission for the link's customer, the link used in the same
// transaction. "Confirm as is" sends no values: every survey field on file
// is confirmed; "save" applies the values given (empty inputs keep what is
// on file, confirmed). Ticked purposes are granted, offered ones left
// unticked are withdrawn.
func (h *SurveyPages) surveyAnswer(ctx context.Context, d *SurveyDeps, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error) {
	id := req.PathParameters["surveyId"]
	if !form.ValidID(id) {
		return events.APIGatewayV2HTTPResponse{}, "", problem(http.StatusNotFound, "survey-not-found", "Survey not found", "There is no survey with this id.")
	}
	body, err := decodeBody(req, h.MaxBody)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	c, err := h.claims(ctx, d, token(req, body), link.Survey, false)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	def, err := h.survey(ctx, d, id, c)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	action := req.QueryStringParameters["action"]
	if v := body.fields["action"]; len(v) == 1 {
		action = v[0]
	}
	delete(body.fields, "t")
	delete(body.fields, "action")
	fields := map[string][]string{}
	if action != "confirm" {
		for name, vs := range body.fields {
			if len(vs) == 1 && strings.TrimSpace(vs[0]) == "" {
				continue // left empty: kept as on file
			}
			fields[name] = vs
		}
	}
	var confirm []string
	for _, f := range def.Fields {
		confirm = append(confirm, f.Name)
	}
	var withdraw []consent.Purpose
	for _, p := range slices.Concat(def.Consent.Required, def.Consent.Optional) {
		if !slices.Contains(body.consent.Purposes, p) {
			withdraw = append(withdraw, p)
		}
	}
	if body.consent.Notice == "" && len(def.Consent.Notices) > 0 {
		body.consent.Notice = def.Consent.Notices[0]
	}
	res, err := d.Service.Submit(ctx, def, intake.Submission{Fields: fields, Consent: body.consent, Trust: customer.Proven, Subject: c.Customer,
		Link: &store.LinkUse{CustomerID: c.Customer, ID: c.ID, Expires: c.ExpiresAt()}, Withdraw: withdraw, Confirm: confirm,
		ClientIP: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent})
	if errors.Is(err, store.ErrLinkUsed) {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(err)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	outcome := "confirmed"
	if len(fields) > 0 {
		outcome = "corrected"
	}
	if strings.HasPrefix(header(req, "content-type"), "application/json") {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusCreated, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"submission_id":"` + res.SubmissionID + `"}`}, outcome, nil
	}
	// Relative to …/v1/surveys/{id}/responses: right under any base path.
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusSeeOther,
		Headers: map[string]string{"Location": "thanks"}}, outcome, nil
}

// buttonPage shows the one button a confirmation or withdrawal link leads
// to; the GET itself changes nothing.
func (h *SurveyPages) buttonPage(ctx context.Context, d *SurveyDeps, req *events.APIGatewayV2HTTPRequest, purpose link.Purpose) (events.APIGatewayV2HTTPResponse, string, error) {
	raw := token(req, nil)
	c, err := h.claims(ctx, d, raw, purpose, purpose == link.Confirm)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	pd := pageData{RawToken: raw, Purpose: c.Subject}
	if purpose == link.Confirm {
		pd.Action = "confirm" // relative: right under any base path
		return page(http.StatusOK, "confirm", pd), "shown", nil
	}
	pd.Action = "unsubscribe"
	return page(http.StatusOK, "unsubscribe", pd), "shown", nil
}

func (h *SurveyPages) confirm(ctx context.Context, d *SurveyDeps, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error) {
	body, err := decodeBody(req, h.MaxBody)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	c, err := h.claims(ctx, d, token(req, body), link.Confirm, false)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	kind, sub, ok := strings.Cut(c.Subject, ":")
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(link.ErrForged)
	}
	err = d.Service.VerifyIdentifier(ctx, store.LinkUse{CustomerID: c.Customer, ID: c.ID, Expires: c.ExpiresAt()}, customer.IdentityKind(kind), sub,
		req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	if errors.Is(err, store.ErrLinkUsed) || errors.Is(err, store.ErrNotVerifiable) {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(err)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	return page(http.StatusOK, "confirmed", pageData{}), "verified", nil
}

// unsubscribe withdraws the link's purpose: from the page's button, or an
// RFC 8058 one-click POST (body List-Unsubscribe=One-Click, token in the
// URL) with no page at all. Repeating it changes nothing more.
func (h *SurveyPages) unsubscribe(ctx context.Context, d *SurveyDeps, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error) {
	var body *decoded
	if req.Body != "" {
		b, err := decodeBody(req, h.MaxBody)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		body = b
	}
	c, err := h.claims(ctx, d, token(req, body), link.Withdraw, false)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	channel := "email-link"
	if body != nil && slices.Equal(body.fields["List-Unsubscribe"], []string{"One-Click"}) {
		channel = "one-click"
	}
	purpose := consent.Purpose(c.Subject)
	if !purpose.Valid() {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(link.ErrForged)
	}
	if _, err := d.Service.Withdraw(ctx, intake.Withdrawal{CustomerID: c.Customer, Purposes: []consent.Purpose{purpose}, Channel: channel,
		Trust: customer.Proven, ClientIP: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent}); err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	return page(http.StatusOK, "withdrawn", pageData{Purpose: string(purpose)}), "withdrawn", nil
}

type pageField struct {
	Name, Label, Type string
	OnFile            bool
	Options           []string
}

type pageConsent struct {
	Purpose           string
	Granted, Required bool
}

type pageData struct {
	Action   string
	RawToken string // the link's token, carried in a hidden input
	Notice   string
	Purpose  string
	Survey   *form.Definition
	Fields   []pageField
	Consents []pageConsent
}

func page(status int, name string, d pageData) events.APIGatewayV2HTTPResponse {
	var b strings.Builder
	if err := linkPages.ExecuteTemplate(&b, name, d); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("<!doctype html><title>Error</title><p>This page could not be shown.</p>")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: b.String()}
}

// The pages: bilingual (zh-CN, en), plain HTML forms that work without
// JavaScript, labelled inputs named after catalogue fields.
var linkPages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}label{display:block;margin-top:.8rem}
input[type=text],input[type=email],input[type=tel],input[type=date],textarea{width:100%;padding:.4rem}button{margin:1rem .5rem 0 0;padding:.5rem 1rem}</style>
</head><body>{{end}}
{{define "survey"}}{{template "head" "确认您的资料 · Confirm your details"}}
<h1>确认或更正您的资料 <span lang="en">· Confirm or correct your details</span></h1>
<p>下面列出我们保存的项目（为保护您的隐私，不显示内容）。资料无误请直接点击“全部确认”；需要更正的，只填写要更改的项目，再点击“保存更改”。</p>
<p lang="en">These are the details we hold (their values are not shown, to protect your privacy). If they are all correct, choose "Confirm all as is"; to correct any, fill in only what changes and choose "Save changes".</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="t" value="{{.RawToken}}">
<input type="hidden" name="notice" value="{{.Notice}}">
<fieldset><legend>资料 · Details</legend>
{{range .Fields}}<label for="f-{{.Name}}">{{.Label}}{{if .OnFile}} <small>（已保存 · on file）</small>{{end}}</label>
{{if .Options}}<select id="f-{{.Name}}" name="{{.Name}}"><option value="">—</option>{{range .Options}}<option>{{.}}</option>{{end}}</select>
{{else if eq .Type "textarea"}}<textarea id="f-{{.Name}}" name="{{.Name}}" rows="3"></textarea>
{{else}}<input id="f-{{.Name}}" name="{{.Name}}" type="{{.Type}}" autocomplete="off">{{end}}
{{end}}</fieldset>
{{if .Consents}}<fieldset><legend>同意 · Consent</legend>
{{range .Consents}}<label><input type="checkbox" name="consent" value="{{.Purpose}}"{{if .Granted}} checked{{end}}> {{.Purpose}}{{if .Required}} <small>（必需 · required）</small>{{end}}</label>
{{end}}<p><small>取消勾选即撤回该同意。Unticking a box withdraws that consent.</small></p></fieldset>{{end}}
<button type="submit" name="action" value="confirm">全部确认 · Confirm all as is</button>
<button type="submit" name="action" value="save">保存更改 · Save changes</button>
</form></body></html>{{end}}
{{define "thanks"}}{{template "head" "谢谢 · Thank you"}}<h1>谢谢！<span lang="en">· Thank you!</span></h1>
<p>您的资料已确认。</p><p lang="en">Your details are confirmed.</p></body></html>{{end}}
{{define "confirm"}}{{template "head" "确认邮箱 · Confirm your address"}}<h1>确认您的邮箱地址 <span lang="en">· Confirm your email address</span></h1>
<form method="post" action="{{.Action}}"><input type="hidden" name="t" value="{{.RawToken}}">
<button type="submit">确认 · Confirm</button></form></body></html>{{end}}
{{define "confirmed"}}{{template "head" "已确认 · Confirmed"}}<h1>邮箱已确认 <span lang="en">· Address confirmed</span></h1>
<p>谢谢。</p><p lang="en">Thank you.</p></body></html>{{end}}
{{define "unsubscribe"}}{{template "head" "撤回同意 · Withdraw consent"}}<h1>撤回“{{.Purpose}}”同意 <span lang="en">· Withdraw consent to {{.Purpose}}</span></h1>
<form method="post" action="{{.Action}}"><input type="hidden" name="t" value="{{.RawToken}}">
<button type="submit">撤回 · Withdraw</button></form></body></html>{{end}}
{{define "withdrawn"}}{{template "head" "已撤回 · Withdrawn"}}<h1>已撤回 <span lang="en">· Withdrawn</span></h1>
<p>您已撤回“{{.Purpose}}”同意，我们不会再为此联系您。</p><p lang="en">Your consent to {{.Purpose}} is withdrawn; we will not contact you for it again.</p></body></html>{{end}}
`))

// WireSurveys builds the survey function's dependencies: the pipeline
// (intake.Wire: it seals corrected values, and may not decrypt any tier)
// and the link keys (one more KMS call at cold start).
func WireSurveys(ctx context.Context, cfg config.Config, awsCfg aws.Config) (*SurveyDeps, error) {
	svc, _, err := intake.Wire(ctx, cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	st := store.New(config.DynamoDB(awsCfg), cfg.Table)
	st.CallTimeout = cfg.CallTimeout
	keys, err := link.Unwrap(ctx, st, config.KMS(awsCfg), cfg.BlindIndexKey, cfg.Table, func(err error) bool { return errors.Is(err, store.ErrNotFound) })
	if err != nil {
		return nil, err
	}
	return &SurveyDeps{Service: svc, Store: st, Keys: keys}, nil
}
