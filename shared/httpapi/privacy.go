package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/sender"
	"github.com/kehu-dev/kehu/shared/store"
)

// PrivacyDeps is what the privacy function works with.
type PrivacyDeps struct {
	Store  *store.Store
	Keys   *link.Keys
	Reader *record.Reader  // the person's own copy (audited)
	Sender *sender.Sender  // emails the copy's link to the verified address
	Eraser *privacy.Eraser // erasures whose cooling-off has passed
}

// PrivacyPages serves the person's privacy page, reached by the signed link
// every email to a verified address carries:
//
//	GET  /v1/privacy?t=…               the page: consents, requests, buttons
//	POST /v1/privacy/withdraw           withdraw one purpose (t, purpose)
//	POST /v1/privacy/copy               ask for a copy: emailed as a short-lived download link
//	GET  /v1/privacy/download?t=…       the copy's page: a button per format (reads nothing)
//	POST /v1/privacy/download           the copy (t, format html|json): once per format
//	POST /v1/privacy/correct            to the update survey, with a fresh link
//	POST /v1/privacy/erase              ask for erasure: carried out after the cooling-off
//	POST /v1/privacy/erase/cancel       cancel it, until then
//
// Holding the link proves control of the address it was sent to (its
// subject names that address): the page acts while it is a verified
// address of the customer's, and every email it causes goes there. A GET
// changes and reads nothing personal.
type PrivacyPages struct {
	Deps       *PrivacyDeps
	Build      func(ctx context.Context) (*PrivacyDeps, error)
	Log        *slog.Logger
	Metrics    *metrics.Emitter
	MaxBody    int
	Now        func() time.Time
	CoolingOff time.Duration       // default 7 days
	AnswerIn   time.Duration       // the statutory answer time; default 15 days (PIPL)
	Survey     string              // the survey "correct my details" leads to (default "update")
	Thresholds *segment.Thresholds // the retention rules (the segmenter's); default segment.Defaults()

	built buildOnce
}

// PrivacyRoutes lists the route keys PrivacyPages serves.
var PrivacyRoutes = []string{"GET /v1/privacy", "POST /v1/privacy/withdraw", "POST /v1/privacy/copy", "GET /v1/privacy/download",
	"POST /v1/privacy/download", "POST /v1/privacy/correct", "POST /v1/privacy/erase", "POST /v1/privacy/erase/cancel"}

func (h *PrivacyPages) deps(ctx context.Context) (*PrivacyDeps, error) {
	return buildDeps(ctx, &h.built, &h.Deps, h.Build)
}

func (h *PrivacyPages) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *PrivacyPages) coolingOff() time.Duration {
	if h.CoolingOff > 0 {
		return h.CoolingOff
	}
	return 7 * 24 * time.Hour
}

func (h *PrivacyPages) answerIn() time.Duration {
	if h.AnswerIn > 0 {
		return h.AnswerIn
	}
	return 15 * 24 * time.Hour
}

// Handle answers one request; every failure is a page.
func (h *PrivacyPages) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return servePage(ctx, &req, pageLog{log: h.Log, metrics: h.Metrics, what: "privacy", count: metrics.Count{Name: "PrivacyRequests", Value: 1},
		route: strings.TrimPrefix(req.RouteKey, "POST /v1/")}, true, h.deps, h.route), nil
}

func (h *PrivacyPages) route(ctx context.Context, d *PrivacyDeps, req *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, string, error) {
	var body *decoded
	if req.RequestContext.HTTP.Method == http.MethodPost {
		b, err := decodeBody(req, h.MaxBody)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		body = b
	}
	if strings.HasSuffix(req.RouteKey, " /v1/privacy/download") {
		return h.download(ctx, d, req, body)
	}
	c, err := d.Keys.Parse(token(req, body), link.Privacy, h.now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(err)
	}
	addr, ok := sender.PrivacyAddress(c.Subject)
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(link.ErrForged)
	}
	p, err := d.Store.Profile(ctx, c.Customer)
	if errors.Is(err, store.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, "", problem(http.StatusGone, "link-stale", "Link no longer applies",
			"There is nothing held about you any more; nothing was changed.")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	// The link acts for the address it was sent to, while that address is
	// a verified one of the customer's.
	if x := p.IDs[addr]; !x.Indexed || !x.Verified {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(store.ErrNotVerifiable)
	}
	raw := token(req, body)
	now := h.now().UTC()
	switch req.RouteKey {
	case "GET /v1/privacy":
		return h.page(ctx, d, p, raw, "", req.RouteKey)
	case "POST /v1/privacy/withdraw":
		purpose := consent.Purpose(first(body, "purpose"))
		if !purpose.Valid() {
			return events.APIGatewayV2HTTPResponse{}, "", malformed("purpose must be one of the purposes on the page.")
		}
		if p.Consent[purpose].Granted {
			err := d.Store.Withdraw(ctx, store.Withdrawal{CustomerID: p.CustomerID, EntryID: newEntryID(), Purposes: []consent.Purpose{purpose},
				Channel: "privacy-page", Trust: customer.Proven, At: now})
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, "", err
			}
			p.Consent[purpose] = consent.State{Granted: false, At: now, Trust: string(customer.Proven)}
			// The last purpose withdrawn: the data is erased after a grace
			// period unless the person grants one again. The address is
			// told at once (and again by the sender when the grace ends;
			// the privacy sweep erases only a week after that notice,
			// whichever way the last purpose went). The withdrawal stands
			// even if this email does not go out.
			if at, ok := segment.NoPurposeLapse(segmenter.Rules(p), h.thresholds()); ok {
				// The earliest day: the grace, then a week after the sender's notice.
				earliest := at.Add(sender.NoPurposeNoticeEvery).Format("2006-01-02")
				if err := d.Sender.Notify(ctx, p.CustomerID, addr, sender.SendNoPurpose, earliest); err != nil {
					h.Log.WarnContext(ctx, "the last-withdrawal email did not go out", "cause", mail.Cause(err))
				}
			}
		}
		return h.page(ctx, d, p, raw, "withdrawn:"+string(purpose), req.RouteKey)
	case "POST /v1/privacy/copy":
		r := store.Request{ID: uuid.NewString(), CustomerID: p.CustomerID, Kind: store.RequestAccess, Channel: "self-service", State: store.RequestOpen,
			CreatedAt: now, DueAt: now.Add(h.answerIn())}
		if err := d.Store.PutRequest(ctx, r); err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		tok, _, err := d.Keys.Sign(link.Claims{Purpose: link.Download, Customer: p.CustomerID, Subject: r.ID, Expires: now.Add(sender.DownloadTTL).Unix()})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		download := strings.TrimRight(d.Sender.Settings.PublicURL, "/") + "/v1/privacy/download?t=" + url.QueryEscape(tok)
		// To the address this link came to, only. Not sent: the request
		// stays open, with its due date, for an operator.
		if err := d.Sender.Notify(ctx, p.CustomerID, addr, sender.SendCopy, download); err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", mailProblem(err)
		}
		// This copy answers every access request still open (earlier
		// tries whose email did not go out).
		reqs, err := d.Store.CustomerRequests(ctx, p.CustomerID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		for _, o := range reqs {
			if o.Kind == store.RequestAccess && o.State == store.RequestOpen {
				if err := d.Store.SetRequestState(ctx, o, store.RequestOpen, store.RequestDone, now); err != nil && !errors.Is(err, store.ErrConflict) {
					return events.APIGatewayV2HTTPResponse{}, "", err
				}
			}
		}
		return h.page(ctx, d, p, raw, "copy-sent", req.RouteKey)
	case "POST /v1/privacy/correct":
		tok, _, err := d.Keys.Sign(link.Claims{Purpose: link.Survey, Customer: p.CustomerID, Subject: h.survey(), Expires: now.Add(24 * time.Hour).Unix()})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusSeeOther,
			Headers: map[string]string{"Location": "../surveys/" + url.PathEscape(h.survey()) + "?t=" + url.QueryEscape(tok)}}, "correct", nil
	case "POST /v1/privacy/erase":
		run := now.Add(h.coolingOff())
		r := store.Request{ID: uuid.NewString(), CustomerID: p.CustomerID, Kind: store.RequestErasure, Channel: "self-service",
			State: store.RequestScheduled, CreatedAt: now, DueAt: now.Add(h.answerIn()), RunAt: &run}
		switch err := d.Store.PutRequest(ctx, r); {
		case errors.Is(err, store.ErrErasurePending):
			return h.page(ctx, d, p, raw, "", req.RouteKey) // scheduled already (a second click)
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		// The address is told, with the date and the page to cancel from:
		// a link forwarded to someone else cannot erase unnoticed.
		// Not sent: the erasure is taken back (try again later). Perhaps
		// sent (the mail service could not tell), or not taken back: it
		// stays scheduled, and the page says so.
		if err := d.Sender.Notify(ctx, p.CustomerID, addr, sender.SendErasure, run.Format("2006-01-02 15:04 UTC")); err != nil {
			if errors.Is(err, mail.ErrUncertain) {
				h.Log.WarnContext(ctx, "the erasure notice may not have gone out", "cause", mail.Cause(err))
				return h.page(ctx, d, p, raw, "erasure-scheduled", req.RouteKey)
			}
			if cerr := d.Store.SetRequestState(context.WithoutCancel(ctx), r, store.RequestScheduled, store.RequestCancelled, now); cerr != nil {
				h.Log.ErrorContext(ctx, "an erasure whose notice failed could not be taken back", "err", cerr.Error())
				return h.page(ctx, d, p, raw, "erasure-scheduled", req.RouteKey)
			}
			return events.APIGatewayV2HTTPResponse{}, "", mailProblem(err)
		}
		return h.page(ctx, d, p, raw, "erasure-scheduled", req.RouteKey)
	case "POST /v1/privacy/erase/cancel":
		r, err := d.Store.PendingErasure(ctx, p.CustomerID)
		if err == nil {
			err = d.Store.SetRequestState(ctx, *r, store.RequestScheduled, store.RequestCancelled, now)
		}
		switch {
		case errors.Is(err, store.ErrConflict):
			// Claimed by the sweep: under way, too late to cancel.
			return h.page(ctx, d, p, raw, "erasure-running", req.RouteKey)
		case errors.Is(err, store.ErrNotFound):
			return h.page(ctx, d, p, raw, "", req.RouteKey) // none scheduled: nothing to cancel
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		return h.page(ctx, d, p, raw, "erasure-cancelled", req.RouteKey)
	}
	return events.APIGatewayV2HTTPResponse{}, "", problem(http.StatusNotFound, "not-found", "Not found", "No such page.")
}

// mailProblem answers an email that did not go out: 503, try again
// (the error names the mail service's kind of failure only).
func mailProblem(err error) error {
	if errors.Is(err, sender.ErrNoVerifiedAddress) {
		return linkProblem(store.ErrNotVerifiable)
	}
	p := problem(http.StatusServiceUnavailable, "mail-unavailable", "Email not sent",
		"The email could not be sent just now; nothing else was changed. Please try again in a little while.")
	p.retryAfter = retryAfter()
	return errors.Join(p, err)
}

func (h *PrivacyPages) thresholds() segment.Thresholds {
	if h.Thresholds != nil {
		return *h.Thresholds
	}
	return segment.Defaults()
}

func (h *PrivacyPages) survey() string {
	if h.Survey != "" {
		return h.Survey
	}
	return "update"
}

func first(d *decoded, name string) string {
	if d == nil {
		return ""
	}
	if v := d.fields[name]; len(v) == 1 {
		return v[0]
	}
	return ""
}

func newEntryID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// download answers the copy. The GET shows a button only (a mail
// scanner that fetches the link reads nothing, and nothing is audited);
// the POST returns the readable page, or with format=json the JSON
// document — each format once per link (a mark in the customer's
// partition until the link expires): a read of everything held, audited
// as the person's own, without what belongs to others.
func (h *PrivacyPages) download(ctx context.Context, d *PrivacyDeps, req *events.APIGatewayV2HTTPRequest, body *decoded) (events.APIGatewayV2HTTPResponse, string, error) {
	raw := token(req, body)
	c, err := d.Keys.Parse(raw, link.Download, h.now())
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", linkProblem(err)
	}
	if req.RequestContext.HTTP.Method != http.MethodPost {
		var b strings.Builder
		if err := downloadPage.Execute(&b, struct{ Token string }{raw}); err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: b.String(), Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
			"download-page", nil
	}
	format := first(body, "format")
	if format != "json" {
		format = "html"
	}
	use := store.LinkUse{CustomerID: c.Customer, ID: c.ID + "#" + format, Expires: c.ExpiresAt()}
	if used, err := d.Store.LinkUsed(ctx, c.Customer, use.ID); err != nil || used {
		if err == nil {
			err = linkProblem(store.ErrLinkUsed)
		}
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	// Read first, then marked: a read that fails leaves the link usable
	// (the function may not delete in the customer's partition); of two
	// at once, only the one whose mark is written answers.
	x, err := d.Reader.Export(ctx, c.Customer)
	x = x.ForSubject() // the person's own copy: nothing that would disclose others (GDPR Art. 15(4)); nil stays nil
	if err == nil {
		if err = d.Store.UseLink(ctx, use, h.now()); errors.Is(err, store.ErrLinkUsed) {
			err = linkProblem(err)
		}
	}
	if errors.Is(err, record.ErrNoCustomer) {
		return events.APIGatewayV2HTTPResponse{}, "", problem(http.StatusGone, "link-stale", "Link no longer applies",
			"There is nothing held about you any more.")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	if format == "json" {
		doc, err := json.MarshalIndent(x, "", "  ")
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, "", err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: string(doc), Headers: map[string]string{
			"Content-Type": "application/json", "Content-Disposition": `attachment; filename="my-data.json"`}}, "download", nil
	}
	page, err := privacy.HTML(x)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: page, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		"download", nil
}

var downloadPage = template.Must(template.New("download").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>您的资料副本 · Your copy</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}form{display:inline}button{margin:.3rem 0;padding:.4rem .8rem}</style></head><body>
<h1>您的资料副本 <span lang="en">· Your copy</span></h1>
<p>每种格式可下载一次。 · Each format can be downloaded once.</p>
<form method="post" action="download"><input type="hidden" name="t" value="{{.Token}}"><input type="hidden" name="format" value="html"><button type="submit">查看（网页） · View (web page)</button></form>
<form method="post" action="download"><input type="hidden" name="t" value="{{.Token}}"><input type="hidden" name="format" value="json"><button type="submit">下载 JSON · Download JSON</button></form>
</body></html>
`))

type privacyData struct {
	Base     string // "../" per level below /v1/privacy: the forms' actions stay right under any base path
	Token    string
	Consents []pageConsent
	Erasure  *store.Request
	Underway bool // an erasure not the person's own (an operator's, the retention's) is under way
	Done     string
	Open     []store.Request
}

func (h *PrivacyPages) page(ctx context.Context, d *PrivacyDeps, p *store.Profile, raw, done, route string) (events.APIGatewayV2HTTPResponse, string, error) {
	_, path, _ := strings.Cut(route, " /v1/")
	pd := privacyData{Base: strings.Repeat("../", strings.Count(path, "/")), Token: raw, Done: done}
	for _, purpose := range consent.Known {
		if st, ok := p.Consent[purpose]; ok {
			pd.Consents = append(pd.Consents, pageConsent{Purpose: string(purpose), Granted: st.Granted})
		}
	}
	all, err := d.Store.CustomerRequests(ctx, p.CustomerID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	for i := range all {
		r := all[i]
		switch {
		case r.Kind != store.RequestErasure || (r.State != store.RequestScheduled && r.State != store.RequestRunning):
		case r.RunAt != nil:
			pd.Erasure = &r // the person's own, with its date
		default:
			pd.Underway = true // an operator's or the retention's
		}
		if r.State == store.RequestOpen || r.State == store.RequestScheduled || r.State == store.RequestRunning {
			pd.Open = append(pd.Open, r)
		}
	}
	slices.SortFunc(pd.Consents, func(a, b pageConsent) int { return strings.Compare(a.Purpose, b.Purpose) })
	var b strings.Builder
	if err := privacyPage.Execute(&b, pd); err != nil {
		return events.APIGatewayV2HTTPResponse{}, "", err
	}
	outcome := "shown"
	if done != "" {
		outcome, _, _ = strings.Cut(done, ":")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: b.String(), Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		outcome, nil
}

// The page: bilingual, plain HTML forms (no script); actions relative to
// /v1/privacy, so it works under any base path.
var privacyPage = template.Must(template.New("privacy").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>您的资料与同意 · Your data and consent</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}form{display:inline}button{margin:.3rem 0;padding:.4rem .8rem}li{margin:.4rem 0}</style></head><body>
<h1>您的资料与同意 <span lang="en">· Your data and consent</span></h1>
{{if .Done}}<p role="status"><strong>{{if eq .Done "copy-sent"}}副本的下载链接已发送到您的邮箱。 · The link to your copy is on its way to your email.{{else if eq .Done "erasure-scheduled"}}删除已安排，冷静期结束后执行；期间可随时取消。 · Erasure is scheduled; it runs after the cooling-off, and you can cancel it until then.{{else if eq .Done "erasure-cancelled"}}删除已取消。 · Erasure cancelled.{{else if eq .Done "erasure-running"}}删除已在进行中，无法取消。 · The erasure is under way and can no longer be cancelled.{{else}}已撤回。 · Withdrawn.{{end}}</strong></p>{{end}}
<h2>同意 · Consent</h2>
<ul>{{range .Consents}}<li>{{.Purpose}}: {{if .Granted}}同意 · granted
<form method="post" action="{{$.Base}}privacy/withdraw"><input type="hidden" name="t" value="{{$.Token}}"><input type="hidden" name="purpose" value="{{.Purpose}}"><button type="submit">撤回 · Withdraw</button></form>
{{else}}未同意或已撤回 · not granted{{end}}</li>{{end}}</ul>
<h2>您的资料 · Your data</h2>
<form method="post" action="{{$.Base}}privacy/copy"><input type="hidden" name="t" value="{{.Token}}"><button type="submit">获取副本（通过邮件） · Send me a copy (by email)</button></form>
<form method="post" action="{{$.Base}}privacy/correct"><input type="hidden" name="t" value="{{.Token}}"><button type="submit">更正我的资料 · Correct my details</button></form>
<h2>删除 · Erasure</h2>
{{if .Erasure}}<p>删除将于 {{.Erasure.RunAt.Format "2006-01-02 15:04 UTC"}} 执行。 · Your data will be erased on {{.Erasure.RunAt.Format "2006-01-02 15:04 UTC"}}.</p>{{if eq .Erasure.State "scheduled"}}
<form method="post" action="{{$.Base}}privacy/erase/cancel"><input type="hidden" name="t" value="{{.Token}}"><button type="submit">取消删除 · Cancel the erasure</button></form>{{end}}
{{else if .Underway}}<p>您的资料正在被删除。 · Your data is being erased.</p>
{{else}}<form method="post" action="{{$.Base}}privacy/erase"><input type="hidden" name="t" value="{{.Token}}"><button type="submit">删除我的资料 · Erase my data</button></form>{{end}}
{{if .Open}}<h2>您的请求 · Your requests</h2><ul>{{range .Open}}<li>{{.Kind}} — {{.State}} — 答复期限 · answer by {{.DueAt.Format "2006-01-02"}}</li>{{end}}</ul>{{end}}
</body></html>
`))

// WirePrivacy builds the privacy function's dependencies with its own
// credentials: the store, the link keys, a reader and an eraser that may
// decrypt every tier (the person's own copy; finding what names them to
// erase), and the sender that emails the copy's link.
func WirePrivacy(ctx context.Context, cfg config.Config, awsCfg aws.Config, set sender.Settings, m mail.Sender, log *slog.Logger, actor string) (*PrivacyDeps, error) {
	snd, err := sender.Wire(ctx, cfg, awsCfg, set, m, log, metrics.New(io.Discard, "privacy"))
	if err != nil {
		return nil, err
	}
	snd.Actor = actor
	opener := envelope.NewOpener(config.KMS(awsCfg))
	return &PrivacyDeps{Store: snd.Store, Keys: snd.Links, Sender: snd,
		Reader: &record.Reader{Store: snd.Store, Opener: opener, Actor: actor, Purpose: "the person's own copy (self-service)"},
		Eraser: &privacy.Eraser{Store: snd.Store, Opener: opener, Actor: actor, Log: log}}, nil
}
