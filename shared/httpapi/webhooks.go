package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/source"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// Sources loads webhook sources (source.Cache).
type Sources interface {
	Get(ctx context.Context, id string) (*source.Loaded, error)
}

var _ Sources = (*source.Cache)(nil)

// Directory looks people up in a chat tool's API (webhook.Directory).
type Directory interface {
	Slack(ctx context.Context, token, userID string) (map[string]string, error)
	WeCom(ctx context.Context, accessToken, userID string) (map[string]string, error)
	SurveyMonkeyResponse(ctx context.Context, base, accessToken string, ref webhook.SurveyRef) ([]byte, error)
	QualtricsResponse(ctx context.Context, base, apiToken string, ref webhook.SurveyRef) ([]byte, error)
}

var _ Directory = (*webhook.Directory)(nil)

// WebhookIntake serves POST (and, for WeCom's URL check, GET)
// /v1/webhooks/{sourceId}: verify the raw body with the source's secrets,
// take each event exactly once, map it, and hand it to the one intake
// pipeline. An authentic payload that cannot be used is acknowledged and
// quarantined; refusals and duplicates write nothing.
type WebhookIntake struct {
	Service   *intake.Service // or, when nil, built by Wiring
	Wiring    *Wiring
	Sources   Sources
	Directory Directory
	Log       *slog.Logger
	Metrics   *metrics.Emitter
	MaxBody   int
	Now       func() time.Time // verification time; time.Now when nil
	// BaseCurrency is the deployment's currency (config: CNY by default):
	// an order in another is quarantined, never converted.
	BaseCurrency string
}

// Webhook outcomes, the metric's outcome dimension.
const (
	whAccepted    = "accepted"
	whDuplicate   = "duplicate"
	whIgnored     = "ignored"
	whQuarantined = "quarantined"
	whChallenge   = "challenge"
	whNoConsent   = "no-consent" // a survey response without its source's required consent: nothing personal kept
	whUnreadable  = "unreadable" // a survey tool's delivery that is no response kehu can read: recorded, its content not kept
	whRefused     = "refused"
	whError       = "error"
)

type whResult struct {
	outcome, reason, provider string
	res                       intake.Result
}

// Handle answers one webhook request; it never returns an error.
func (h *WebhookIntake) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	var r whResult
	resp, err := h.handle(ctx, &req, &r)
	attrs := []any{"request_id", req.RequestContext.RequestID, "provider", r.provider}
	if err != nil {
		var p *Problem
		p, r.outcome, r.reason = answerError(err, whRefused, whError)
		resp = errorResponse(p, false, nil)
		logAnswer(ctx, h.Log, "webhook", start, err, p.Status, append(attrs, "outcome", r.outcome, "reason", r.reason)...)
	} else {
		logAnswer(ctx, h.Log, "webhook", start, nil, resp.StatusCode, append(attrs, "outcome", r.outcome, "reason", r.reason,
			"new_customer", r.res.NewCustomer, "review", r.res.Review)...)
	}
	dims := map[string]string{"outcome": r.outcome}
	if r.reason != "" {
		dims["reason"] = r.reason
	}
	if r.provider != "" {
		dims["provider"] = r.provider
	}
	h.Metrics.Emit(dims, metrics.Count{Name: "Webhooks", Value: 1},
		metrics.Count{Name: "Duration", Value: float64(time.Since(start).Microseconds()) / 1000, Unit: "Milliseconds"})
	return resp, nil
}

// NewWebhookIntake is the webhook function's handler as configured by cfg;
// its Service (or Wiring) is the caller's, its sources come with
// ReadSourcesWith.
func NewWebhookIntake(cfg config.Config, log *slog.Logger, m *metrics.Emitter) *WebhookIntake {
	return &WebhookIntake{Log: log, Metrics: m, MaxBody: cfg.WebhookMaxBodyBytes, BaseCurrency: cfg.BaseCurrency,
		Directory: &webhook.Directory{}}
}

// ReadSourcesWith has the handler read its sources with the SDK
// configuration awsCfg (the function's own credentials).
func (h *WebhookIntake) ReadSourcesWith(cfg config.Config, awsCfg aws.Config) {
	st := store.New(config.DynamoDB(awsCfg), cfg.Table)
	st.CallTimeout = cfg.CallTimeout
	h.Sources = &source.Cache{Store: st, KMS: config.KMS(awsCfg)}
}

func (h *WebhookIntake) service(ctx context.Context) (*intake.Service, error) {
	if h.Service != nil || h.Wiring == nil {
		return h.Service, nil
	}
	svc, _, err := h.Wiring.Get(ctx)
	return svc, err
}

func ack(body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: body,
		Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}}
}

func (h *WebhookIntake) handle(ctx context.Context, req *events.APIGatewayV2HTTPRequest, r *whResult) (events.APIGatewayV2HTTPResponse, error) {
	svc, err := h.service(ctx)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	method := req.RequestContext.HTTP.Method
	if method != http.MethodPost && method != http.MethodGet && method != http.MethodHead {
		return events.APIGatewayV2HTTPResponse{}, problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "Use POST.")
	}
	// Size first: no verification work for a body over the limit.
	if n := len(req.Body); n > h.MaxBody && (!req.IsBase64Encoded || base64.StdEncoding.DecodedLen(n) > h.MaxBody+3) {
		return events.APIGatewayV2HTTPResponse{}, tooLarge(h.MaxBody)
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return events.APIGatewayV2HTTPResponse{}, malformed("The body is not valid base64.")
		}
	}
	if len(body) > h.MaxBody {
		return events.APIGatewayV2HTTPResponse{}, tooLarge(h.MaxBody)
	}
	src, err := h.Sources.Get(ctx, req.PathParameters["sourceId"])
	if errors.Is(err, source.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, problem(http.StatusNotFound, "source-not-found", "Source not found", "There is no webhook source with this id.")
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	r.provider = string(src.Def.Provider)
	if method == http.MethodHead {
		// SurveyMonkey checks a subscription URL with an unsigned HEAD
		// and wants 200: it learns only that the source exists.
		if src.Def.Provider != webhook.SurveyMonkey {
			return events.APIGatewayV2HTTPResponse{}, problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "Use POST.")
		}
		r.outcome = whChallenge
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
	}
	if method == http.MethodGet && src.Def.Provider != webhook.WeCom {
		return events.APIGatewayV2HTTPResponse{}, problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "Use POST.")
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	headers := make(map[string]string, len(req.Headers))
	for k, v := range req.Headers {
		headers[strings.ToLower(k)] = v
	}
	verified, err := webhook.Verify(src.Def.Provider, webhook.Request{Method: method, Header: headers, Query: req.QueryStringParameters,
		Body: body, Now: now}, src.Secrets)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, signatureProblem(err)
	}
	if verified.Challenge != "" { // WeCom's URL check: the decrypted echostr, as is
		r.outcome = whChallenge
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: verified.Challenge,
			Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}}, nil
	}
	if src.Def.Kind == source.KindOrders {
		return h.order(ctx, svc, src, verified, req, r)
	}
	if src.Def.Kind == source.KindSurvey {
		return h.survey(ctx, svc, src, verified, req, r)
	}
	ev, mapErr := webhook.Map(src.Def.Provider, verified.Payload, src.Def.Map)
	if mapErr == nil && ev.Challenge != "" { // Slack's url_verification
		r.outcome = whChallenge
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: ev.Challenge,
			Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}}, nil
	}
	if mapErr == nil && ev.Ignore {
		r.outcome, r.reason = whIgnored, ev.Type // a plain name (Event.Type)
		return ack(`{"status":"ignored"}`), nil
	}
	eventID := ev.ID
	if eventID == "" {
		eventID = verified.EventID
	}
	// No read of the delivery mark first: the transaction's condition on
	// it answers a redelivery (store.ErrDuplicate), and a first delivery,
	// the usual case, costs no extra read.
	d := &delivered{h: h, svc: svc, src: src, payload: verified.Payload, key: deliveryKey(svc, src.Def.ID, eventID, verified.Payload), r: r}
	if mapErr != nil {
		var um *webhook.UnmappableError
		if errors.As(mapErr, &um) {
			return d.quarantine(ctx, "unmappable", um.Reason)
		}
		return events.APIGatewayV2HTTPResponse{}, mapErr
	}
	sub := EventSubmission(ctx, src.Def, src.Form, src.APIToken, h.Directory, ev, d.key, req.RequestContext.HTTP.SourceIP, req.RequestContext.HTTP.UserAgent)
	if !HasIdentifier(sub.Fields) {
		return d.quarantine(ctx, "no-identifier", "the event names no email, phone or user id of the person")
	}
	return d.submit(ctx, sub)
}

// delivered is one authentic delivery on its way: submitted, or
// quarantined, under its delivery key.
type delivered struct {
	h       *WebhookIntake
	svc     *intake.Service
	src     *source.Loaded
	payload []byte
	key     string
	r       *whResult
}

// submit runs the delivery's submission through the pipeline; what the
// pipeline refuses (invalid fields, consent, an unknown customer) is
// quarantined: authentic, so never dropped.
func (d *delivered) submit(ctx context.Context, sub intake.Submission) (events.APIGatewayV2HTTPResponse, error) {
	res, err := d.svc.Submit(ctx, d.src.Form, sub)
	var verr *intake.ValidationError
	var cerr *consent.Error
	switch {
	case errors.Is(err, store.ErrDuplicate):
		d.r.outcome = whDuplicate
		return ack(`{"status":"duplicate"}`), nil
	case errors.Is(err, intake.ErrSubjectNotFound):
		return d.quarantine(ctx, "unknown-customer", "the event names a customer_id kehu does not know")
	case errors.As(err, &verr):
		var probs []string
		for _, p := range verr.Problems {
			probs = append(probs, p.Field+" "+p.Code)
		}
		return d.quarantine(ctx, "invalid-fields", "invalid fields: "+strings.Join(probs, ", "))
	case errors.As(err, &cerr) && d.src.Def.Kind == source.KindSurvey:
		// The person did not give the consent the source requires: nothing
		// personal is kept, not even in quarantine.
		return d.refuse(ctx, whNoConsent, "consent", "consent: "+cerr.Error())
	case errors.As(err, &cerr):
		return d.quarantine(ctx, "consent", "consent: "+cerr.Error())
	case err != nil:
		return events.APIGatewayV2HTTPResponse{}, err
	}
	d.r.outcome, d.r.res = whAccepted, res
	return ack(`{"status":"accepted"}`), nil
}

// refuse takes the delivery and keeps nothing of it but its mark with the
// reason: the survey's consent did not cover what its source requires.
func (d *delivered) refuse(ctx context.Context, outcome, code, reason string) (events.APIGatewayV2HTTPResponse, error) {
	return d.taken(d.svc.Refuse(ctx, d.src.Def.ID, reason, d.key), outcome, code)
}

// taken answers a delivery kept as outcome (quarantined, refused): a
// duplicate if it was taken before.
func (d *delivered) taken(err error, outcome, code string) (events.APIGatewayV2HTTPResponse, error) {
	switch {
	case errors.Is(err, store.ErrDuplicate):
		d.r.outcome = whDuplicate
		return ack(`{"status":"duplicate"}`), nil
	case err != nil:
		return events.APIGatewayV2HTTPResponse{}, err
	}
	d.r.outcome, d.r.reason = outcome, code
	return ack(`{"status":"` + outcome + `"}`), nil
}

// quarantine keeps the payload with its reason; code is the reason's
// low-cardinality name for the metric.
func (d *delivered) quarantine(ctx context.Context, code, reason string) (events.APIGatewayV2HTTPResponse, error) {
	return d.taken(d.svc.Quarantine(ctx, store.Quarantined{Source: d.src.Def.ID, Provider: string(d.src.Def.Provider), Reason: reason}, d.payload, d.key),
		whQuarantined, code)
}

// deliveryKey is the keyed hash a provider's event is taken once under:
// the event id, or a hash of the signed payload where there is none.
func deliveryKey(svc *intake.Service, sourceID, eventID string, payload []byte) string {
	if eventID == "" {
		sum := sha256.Sum256(payload)
		eventID = "body:" + hex.EncodeToString(sum[:])
	}
	return svc.Index.Request("delivery\x00" + sourceID + "\x00" + eventID)
}

// order takes an order event of the company's own order system: a trusted
// submission (the contract, PIPL Art. 13(2)) that records the order once
// per order id and updates the customer's trade aggregates, or reverses
// them for a refund. An authentic order that cannot be used (another
// currency, a bad amount, an unknown customer or order) is quarantined and
// changes no aggregate.
func (h *WebhookIntake) order(ctx context.Context, svc *intake.Service, src *source.Loaded, verified webhook.Verified,
	req *events.APIGatewayV2HTTPRequest, r *whResult) (events.APIGatewayV2HTTPResponse, error) {
	d := &delivered{h: h, svc: svc, src: src, payload: verified.Payload, key: deliveryKey(svc, src.Def.ID, verified.EventID, verified.Payload), r: r}
	o, err := webhook.MapOrder(verified.Payload)
	var um *webhook.UnmappableError
	if errors.As(err, &um) {
		return d.quarantine(ctx, "unmappable", um.Reason)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if o.Currency != h.BaseCurrency {
		return d.quarantine(ctx, "currency", "currency "+o.Currency+" is not the base currency "+h.BaseCurrency+" (never converted)")
	}
	// An order id is the order system's: scoped by its source, so one
	// orders source can never refund (or shadow) another's orders.
	change := &store.OrderChange{Key: svc.Index.Request("order\x00" + src.Def.ID + "\x00" + o.OrderID), Amount: o.Amount, Currency: o.Currency,
		Month: store.MonthOf(o.At), At: o.At}
	sub := intake.Submission{Trust: customer.Trusted, Consent: consent.Grant{Notice: src.Def.Notice}, Delivery: d.key, Order: change,
		ClientIP: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent, Subject: o.CustomerID,
		Fields: map[string][]string{}}
	for k, v := range o.Fields {
		sub.Fields[k] = []string{v}
	}
	if o.Type == webhook.OrderRefunded {
		rec, err := svc.Store.Order(ctx, change.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return d.quarantine(ctx, "unknown-order", "refund for an order kehu has no record of")
		case err != nil:
			return events.APIGatewayV2HTTPResponse{}, err
		case rec.State == store.OrderRefunded:
			r.outcome = whDuplicate
			return ack(`{"status":"duplicate"}`), nil
		}
		// The refund takes back exactly what the order added, from the
		// customer the order was recorded for.
		change.Refund, change.Amount, change.Month = true, rec.Amount, rec.Month
		sub.Subject, sub.Fields = rec.CustomerID, nil
	}
	return d.submit(ctx, sub)
}

// survey takes a survey tool's completed response: read inline (Typeform)
// or fetched with the source's API token (SurveyMonkey, Qualtrics), taken
// once by the tool's response id, mapped by the source's map to catalogue
// fields and the purposes its consent questions granted, asserted, through
// the one pipeline under the source's consent requirement. A response
// without the required purposes keeps nothing personal; a tool API that
// fails answers 503, so the tool retries, with nothing written.
func (h *WebhookIntake) survey(ctx context.Context, svc *intake.Service, src *source.Loaded, verified webhook.Verified,
	req *events.APIGatewayV2HTTPRequest, r *whResult) (events.APIGatewayV2HTTPResponse, error) {
	d := &delivered{h: h, svc: svc, src: src, payload: verified.Payload, r: r}
	var resp webhook.SurveyResponse
	var err error
	switch src.Def.Provider {
	case webhook.Typeform:
		resp, err = webhook.ReadTypeform(verified.Payload)
	case webhook.SurveyMonkey, webhook.Qualtrics:
		var ref webhook.SurveyRef
		var complete bool
		if src.Def.Provider == webhook.SurveyMonkey {
			ref, complete, err = webhook.SurveyMonkeyNotification(verified.Payload)
		} else {
			ref, complete, err = webhook.QualtricsNotification(verified.Payload)
		}
		if err == nil && !complete {
			r.outcome, r.reason = whIgnored, "not-a-completed-response"
			return ack(`{"status":"ignored"}`), nil
		}
		if err == nil {
			d.key = deliveryKey(svc, src.Def.ID, "response:"+ref.ResponseID, nil)
			// A retry of a response taken already: answered without asking
			// the tool's API again (a read, not a call to a rate-limited API).
			if seen, derr := svc.Store.Delivered(ctx, d.key, time.Now()); derr != nil {
				return events.APIGatewayV2HTTPResponse{}, derr
			} else if seen {
				r.outcome = whDuplicate
				return ack(`{"status":"duplicate"}`), nil
			}
			var body []byte
			if src.Def.Provider == webhook.SurveyMonkey {
				body, err = h.Directory.SurveyMonkeyResponse(ctx, src.Def.APIBaseURL, src.APIToken, ref)
			} else {
				body, err = h.Directory.QualtricsResponse(ctx, src.Def.APIBaseURL, src.APIToken, ref)
			}
			var status *webhook.StatusError
			if errors.As(err, &status) && status.Permanent() {
				// The response is gone, or the token is refused: asking again
				// will not help. The notification (ids only) is kept for an
				// operator with the reason.
				return d.quarantine(ctx, "survey-api-refused", "the survey tool's API answered HTTP "+strconv.Itoa(status.Status))
			}
			if err != nil {
				p := problem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
					"The survey tool's API did not give the response; nothing was stored. Retry after the indicated time.")
				p.retryAfter, p.reason = retryAfter(), "survey-api"
				h.Log.WarnContext(ctx, "survey tool API failed", "provider", src.Def.Provider, "err", err.Error())
				return events.APIGatewayV2HTTPResponse{}, p
			}
			if src.Def.Provider == webhook.SurveyMonkey {
				resp, err = webhook.ReadSurveyMonkey(body)
			} else {
				resp, err = webhook.ReadQualtrics(body)
			}
			if err == nil && resp.ID != ref.ResponseID {
				err = &webhook.UnmappableError{Reason: "the fetched response is not the one the notification named"}
			}
		}
	}
	if d.key == "" {
		eventID := ""
		if resp.ID != "" {
			eventID = "response:" + resp.ID
		}
		d.key = deliveryKey(svc, src.Def.ID, eventID, verified.Payload)
	}
	var fields map[string]string
	var grants []string
	if err == nil {
		fields, grants, err = webhook.MapSurvey(resp, src.Def.Map)
		// Consent first: a response without the purposes its source
		// requires keeps nothing personal — neither stored nor quarantined,
		// whatever else is wrong with it.
		grant := consent.Grant{Notice: src.Def.Notice}
		for _, g := range grants {
			grant.Purposes = append(grant.Purposes, consent.Purpose(g))
		}
		need := src.Form.Consent.Requirement()
		need.Basis = src.Form.Basis
		if _, cerr := consent.Check(grant, need, consent.Needs{}); cerr != nil {
			return d.refuse(ctx, whNoConsent, "consent", "consent: "+cerr.Error())
		}
	}
	var um *webhook.UnmappableError
	switch {
	case errors.As(err, &um) && fields == nil && grants == nil && resp.Answers == nil:
		// Not a response kehu can read, so not one whose consent it can
		// tell: recorded with the reason, its content not kept.
		return d.refuse(ctx, whUnreadable, "unreadable", um.Reason)
	case errors.As(err, &um):
		return d.quarantine(ctx, "unmappable", um.Reason) // consented to: kept for an operator
	case err != nil:
		return events.APIGatewayV2HTTPResponse{}, err
	}
	sub := intake.Submission{Fields: map[string][]string{}, Trust: customer.Asserted, Delivery: d.key,
		Consent:  consent.Grant{Notice: src.Def.Notice},
		ClientIP: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent}
	for k, v := range fields {
		sub.Fields[k] = []string{v}
	}
	for _, g := range grants {
		sub.Consent.Purposes = append(sub.Consent.Purposes, consent.Purpose(g))
	}
	if !HasIdentifier(sub.Fields) {
		return d.quarantine(ctx, "no-identifier", "the response names no email or phone of the person")
	}
	return d.submit(ctx, sub)
}

// EventSubmission turns an event into the pipeline's input: the mapped
// fields, the tool's user id, what the tool's API says of the person (when
// the source has a token and dir is set), the interaction; asserted, under
// the source's basis and notice, granting no purpose. A quarantine replay
// uses it too.
func EventSubmission(ctx context.Context, def source.Definition, f *form.Definition, apiToken string, dir Directory, ev webhook.Event,
	delivery, clientIP, userAgent string) intake.Submission {
	fields := map[string][]string{}
	for k, v := range ev.Fields {
		fields[k] = []string{v}
	}
	if uf := def.UserField(); uf != "" && ev.UserID != "" {
		fields[uf] = []string{ev.UserID}
		if apiToken != "" && dir != nil {
			// Slack wants an answer within 3 s: the lookup gets at most 1.5.
			lctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			defer cancel()
			var found map[string]string
			switch def.Provider {
			case webhook.Slack:
				found, _ = dir.Slack(lctx, apiToken, ev.UserID)
			case webhook.WeCom:
				found, _ = dir.WeCom(lctx, apiToken, ev.UserID)
			}
			// A failed lookup leaves the user id alone: the event is still taken.
			for _, k := range slices.Sorted(maps.Keys(found)) {
				if _, given := fields[k]; !given && found[k] != "" {
					if _, inForm := f.Field(k); inForm {
						fields[k] = []string{found[k]}
					}
				}
			}
		}
	}
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	direction := ev.Direction
	if direction == "" {
		direction = webhook.Inbound
	}
	return intake.Submission{Fields: fields, Consent: consent.Grant{Notice: def.Notice}, Trust: customer.Asserted,
		ClientIP: clientIP, UserAgent: userAgent, Delivery: delivery,
		Interaction: &intake.Interaction{Source: def.ID, Provider: string(def.Provider), Conversation: ev.Conversation,
			Direction: direction, At: at, Text: ev.Text, Attachments: ev.Attachments}}
}

// HasIdentifier reports whether a submission's fields name the person by
// an identifier (email, phone, a tool's user id): without one, an event
// would make a new customer every time.
func HasIdentifier(fields map[string][]string) bool {
	for _, id := range customer.Identities() {
		if v := fields[id.Field]; len(v) > 0 && !customer.Blank(v[0]) {
			return true
		}
	}
	return false
}

func signatureProblem(err error) *Problem {
	p := problem(http.StatusUnauthorized, "signature-invalid", "Signature not valid",
		"The request is not signed with an active secret of this source, or its signed time is outside the tolerance; nothing was stored.")
	switch {
	case errors.Is(err, webhook.ErrMissing):
		p.reason = "signature-missing"
	case errors.Is(err, webhook.ErrStale):
		p.reason = "signature-stale"
	case errors.Is(err, webhook.ErrMalformed):
		p.reason = "signature-malformed"
	}
	return p
}
