package sender_test

import (
	"context"
	"encoding/base64"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	kmail "github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/sender"
	"github.com/kehu-dev/kehu/shared/store"
)

// clock is a test's shared, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

type loop struct {
	t     *testing.T
	st    *stacktest.Stack
	clock *clock
	svc   *intake.Service
	snd   *sender.Sender
	pages *httpapi.SurveyPages
	seg   *segmenter.Handler
}

func newLoop(t *testing.T) *loop {
	st := stacktest.NewStreamed(t)
	c := &clock{t: time.Now().UTC()}
	seg := st.Segmenter(t, c.now)
	svc, _ := st.Intake(t)
	svc.Now = c.now
	return &loop{t: t, st: st, clock: c, svc: svc, snd: st.Sender(t, c.now), pages: st.Surveys(t, c.now), seg: seg}
}

// customer submits the contact form and returns the customer id.
func (l *loop) customer(email string, purposes ...consent.Purpose) string {
	l.t.Helper()
	def, err := l.svc.Form(context.Background(), "contact")
	if err != nil {
		l.t.Fatal(err)
	}
	res, err := l.svc.Submit(context.Background(), def, intake.Submission{
		Fields:  map[string][]string{"name": {"Zhang Wei"}, "email": {email}, "phone": {"+86 138 0013 8000"}, "region": {"华东"}},
		Consent: consent.Grant{Purposes: append([]consent.Purpose{consent.Processing}, purposes...), Notice: "contact-v1"}})
	if err != nil {
		l.t.Fatal(err)
	}
	return res.CustomerID
}

func (l *loop) run() sender.Result {
	l.t.Helper()
	res, err := l.snd.Run(context.Background(), false)
	if err != nil {
		l.t.Fatalf("sender: %v", err)
	}
	return res
}

// waitSegment waits until the customer is (in) or is not in a segment.
func (l *loop) waitSegment(id, segment string, in bool) {
	l.t.Helper()
	l.st.WaitSegments(l.t, id, stacktest.In(segment, in))
}

// due moves the clock past everyone's review date and lets the sweep put
// them into review-due.
func (l *loop) due(ids ...string) {
	l.t.Helper()
	l.clock.add(366 * 24 * time.Hour)
	if _, err := l.seg.Sweep(context.Background(), l.clock.now().Add(-48*time.Hour)); err != nil {
		l.t.Fatal(err)
	}
	for _, id := range ids {
		l.waitSegment(id, "review-due", true)
	}
}

func (l *loop) request(method, route, rawURL, contentType, body string) events.APIGatewayV2HTTPResponse {
	l.t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		l.t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: u.Path, RawQueryString: u.RawQuery, QueryStringParameters: map[string]string{},
		Headers: map[string]string{}, PathParameters: map[string]string{}}
	for k, v := range u.Query() {
		ev.QueryStringParameters[k] = v[0]
	}
	if m := regexp.MustCompile(`^/v1/surveys/([^/]+)`).FindStringSubmatch(u.Path); m != nil {
		ev.PathParameters["surveyId"] = m[1]
	}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, u.Path
	ev.RequestContext.HTTP.SourceIP, ev.RequestContext.HTTP.UserAgent = "198.51.100.7", "test"
	if body != "" {
		ev.Headers["content-type"] = contentType
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	resp, err := l.pages.Handle(context.Background(), ev)
	if err != nil {
		l.t.Fatal(err)
	}
	return resp
}

var linkRE = regexp.MustCompile(`https://kehu\.test(/v1/[a-z/]+)\?t=([A-Za-z0-9._%-]+)`)

// links returns the links of an email's text: path → token.
func links(t *testing.T, e stacktest.Email) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range linkRE.FindAllStringSubmatch(e.Text, -1) {
		tok, err := url.QueryUnescape(m[2])
		if err != nil {
			t.Fatal(err)
		}
		out[m[1]] = tok
	}
	return out
}

func (l *loop) profile(id string) *store.Profile {
	l.t.Helper()
	p, err := l.st.Store.Profile(context.Background(), id)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// The loop end to end, with Mailpit: who gets an email and who does not,
// double opt-in for a new address, one email per period even with two
// concurrent runs, an operator's request, the survey confirmed through
// the emailed link, single-use and forged links refused.
func TestSurveyLoop(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	email := strings.ToLower(stacktest.Unique("loop")) + "@example.com"
	silent := strings.ToLower(stacktest.Unique("silent")) + "@example.com"
	limited := strings.ToLower(stacktest.Unique("limited")) + "@example.com"
	a := l.customer(email, consent.Contact)
	b := l.customer(silent) // no contact consent
	c := l.customer(limited, consent.Contact)
	// c's processing is restricted (the operator command comes with the
	// rights issue; the sender honours the flag now).
	if _, err := l.st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.st.Table),
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CUST#" + c}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}},
		UpdateExpression: aws.String("SET restricted = :t ADD version :one"), ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberBOOL{Value: true}, ":one": &types.AttributeValueMemberN{Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	l.due(a, b)
	l.waitSegment(c, "restricted", true) // a restricted customer is in no other segment: never review-due

	// A new, unverified address gets one confirmation email, nothing else.
	res := l.run()
	if res.Confirmations != 1 || res.Sent != 0 || res.Skipped[sender.SkipNoConsent] != 1 {
		t.Fatalf("first run: %+v", res)
	}
	if n := len(stacktest.Emails(t, silent)) + len(stacktest.Emails(t, limited)); n != 0 {
		t.Fatalf("%d emails to customers without contact consent or restricted", n)
	}
	mails := stacktest.Emails(t, email)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "Please confirm your email address") {
		t.Fatalf("confirmation email: %+v", mails)
	}
	conf := mails[0]
	if !strings.Contains(conf.Text, "l***@example.com") {
		t.Errorf("the address is not shown masked: %s", conf.Text)
	}
	if strings.Contains(conf.Text, "Zhang Wei") || strings.Contains(conf.Text, "13800138000") {
		t.Error("the confirmation email carries personal data beyond the masked address")
	}
	if got := conf.Headers["List-Unsubscribe-Post"]; !slices.Equal(got, []string{"List-Unsubscribe=One-Click"}) {
		t.Errorf("List-Unsubscribe-Post: %v", got)
	}
	if got := conf.Headers["List-Unsubscribe"]; len(got) != 1 || !strings.HasPrefix(got[0], "<https://kehu.test/v1/unsubscribe?t=") {
		t.Errorf("List-Unsubscribe: %v", got)
	}
	if res := l.run(); res.Confirmations != 0 || res.Skipped[sender.SkipAwaiting] != 1 {
		t.Fatalf("a second confirmation email: %+v", res)
	}

	// GET shows a button and changes nothing; the POST verifies; again: 410.
	tok := links(t, conf)["/v1/confirm"]
	if tok == "" {
		t.Fatalf("no confirmation link in %s", conf.Text)
	}
	before := l.st.Count(t)
	if r := l.request("GET", "GET /v1/confirm", "/v1/confirm?t="+url.QueryEscape(tok), "", ""); r.StatusCode != 200 ||
		!strings.Contains(r.Body, `name="t"`) || r.Headers["Referrer-Policy"] != "no-referrer" || r.Headers["X-Frame-Options"] != "DENY" {
		t.Fatalf("confirm page: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	if after := l.st.Count(t); !maps.Equal(before, after) {
		t.Fatalf("a GET changed the table: %v → %v", before, after)
	}
	form := "t=" + url.QueryEscape(tok)
	if r := l.request("POST", "POST /v1/confirm", "/v1/confirm", "application/x-www-form-urlencoded", form); r.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", r.StatusCode, r.Body)
	}
	p := l.profile(a)
	if k := p.IdentifiersOf(customer.IdentityEmail); len(k) != 1 || !p.IDs[k[0]].Verified {
		t.Fatalf("the address is not verified: %+v", p.IDs)
	}
	if r := l.request("POST", "POST /v1/confirm", "/v1/confirm", "application/x-www-form-urlencoded", form); r.StatusCode != 410 {
		t.Fatalf("a used confirmation link: %d", r.StatusCode)
	}

	// The next run sends the period's survey; two concurrent runs send it once.
	var wg sync.WaitGroup
	results := make([]sender.Result, 2)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = l.run() }()
	}
	wg.Wait()
	if sent := results[0].Sent + results[1].Sent; sent != 1 {
		t.Fatalf("two concurrent runs sent %d survey emails: %+v", sent, results)
	}
	mails = stacktest.Emails(t, email)
	if len(mails) != 2 || !strings.Contains(mails[0].Subject, "Please confirm your details") {
		t.Fatalf("survey email: %d %+v", len(mails), mails)
	}
	survey := mails[0]
	for _, want := range []string{"138****8000", "What for", "/v1/surveys/update?t=", "/v1/unsubscribe?t="} {
		if !strings.Contains(survey.Text, want) {
			t.Errorf("the survey email lacks %q:\n%s", want, survey.Text)
		}
	}
	if res := l.run(); res.Sent != 0 || res.Skipped[sender.SkipInterval] != 1 {
		t.Fatalf("a second survey email in the period: %+v", res)
	}
	// Every decryption the sender made is in the customer's audit.
	audit, err := l.st.Store.Audit(ctx, a)
	if err != nil || len(audit) != 2 || audit[0].Action != "send" || !slices.Contains(audit[0].Fields, "email") || audit[0].Tiers[0] != "confidential" {
		t.Fatalf("audit %+v %v", audit, err)
	}

	// Forged, tampered and other-survey links are refused and change nothing.
	stok := links(t, survey)["/v1/surveys/update"]
	before = l.st.Count(t)
	for name, bad := range map[string]struct{ path, tok string }{
		"forged":       {"/v1/surveys/update", "k1.e30.AAAA"},
		"tampered":     {"/v1/surveys/update", flip(stok)},
		"other survey": {"/v1/surveys/other", stok},
		"wrong kind":   {"/v1/surveys/update", tok}, // the confirmation link
	} {
		r := l.request("POST", "POST /v1/surveys/{surveyId}/responses", bad.path+"/responses", "application/x-www-form-urlencoded",
			"action=confirm&t="+url.QueryEscape(bad.tok))
		if r.StatusCode != 403 {
			t.Errorf("%s link: %d %s", name, r.StatusCode, r.Body)
		}
	}
	if after := l.st.Count(t); !maps.Equal(before, after) {
		t.Fatalf("refused links changed the table: %v → %v", before, after)
	}

	// The survey page: the fields by name, no values; confirming as is
	// records the confirmation and leaves review-due.
	page := l.request("GET", "GET /v1/surveys/{surveyId}", "/v1/surveys/update?t="+url.QueryEscape(stok), "", "")
	if page.StatusCode != 200 {
		t.Fatalf("survey page: %d %s", page.StatusCode, page.Body)
	}
	for _, want := range []string{`name="name"`, `name="email"`, `name="phone"`, `name="company"`, `name="region"`, `name="industry"`,
		`value="confirm"`, `value="save"`, `name="consent" value="contact" checked`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("survey page lacks %s", want)
		}
	}
	if strings.Contains(page.Body, "Zhang Wei") || strings.Contains(page.Body, email) {
		t.Fatal("the survey page shows a value")
	}
	r := l.request("POST", "POST /v1/surveys/{surveyId}/responses", "/v1/surveys/update/responses", "application/x-www-form-urlencoded",
		"action=confirm&consent=contact&t="+url.QueryEscape(stok))
	if r.StatusCode != 303 || r.Headers["Location"] != "thanks" {
		t.Fatalf("confirm as is: %d %v %s", r.StatusCode, r.Headers, r.Body)
	}
	p = l.profile(a)
	// Confirmed without seeing the values: the time is recorded, the trust
	// stays what it was (a planted value does not become the customer's).
	if p.ConfirmedAt == nil || !p.ReviewDueAt.After(l.clock.now().Add(300*24*time.Hour)) || p.Fields["name"].Trust != customer.Asserted ||
		p.Fields["name"].ConfirmedAt != l.clock.now().Unix() {
		t.Fatalf("after confirming: confirmed %v, review due %v, name %+v", p.ConfirmedAt, p.ReviewDueAt, p.Fields["name"])
	}
	l.waitSegment(a, "review-due", false)
	for _, m := range []string{"GET", "POST"} {
		var r events.APIGatewayV2HTTPResponse
		if m == "GET" {
			r = l.request("GET", "GET /v1/surveys/{surveyId}", "/v1/surveys/update?t="+url.QueryEscape(stok), "", "")
		} else {
			r = l.request("POST", "POST /v1/surveys/{surveyId}/responses", "/v1/surveys/update/responses", "application/x-www-form-urlencoded",
				"action=save&company=Mallory+Co&t="+url.QueryEscape(stok))
		}
		if r.StatusCode != 410 {
			t.Fatalf("%s with a used survey link: %d", m, r.StatusCode)
		}
	}

	// An operator asks for a review: exactly one email, the interval
	// notwithstanding.
	if err := l.st.Store.RequestReview(ctx, a, "ops@example.com", "01900000-0000-7000-8000-000000000001", l.clock.now()); err != nil {
		t.Fatal(err)
	}
	l.waitSegment(a, "review-due", true)
	if res := l.run(); res.Sent != 1 {
		t.Fatalf("after a review request: %+v", res)
	}
	if res := l.run(); res.Sent != 0 {
		t.Fatalf("a review request answered twice: %+v", res)
	}
	if n := len(stacktest.Emails(t, email)); n != 3 {
		t.Fatalf("%d emails, want 3", n)
	}
}

// Correcting through the survey updates the profile, the ledger and the
// segments; an expired link is refused; the one-click withdrawal from the
// email takes the customer out of contactable and out of the sender.
func TestSurveyCorrectionAndWithdrawal(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	email := strings.ToLower(stacktest.Unique("fix")) + "@example.com"
	a := l.customer(email, consent.Contact, consent.Marketing)
	// The address verified (the confirmation path is TestSurveyLoop's).
	p := l.profile(a)
	k := p.IdentifiersOf(customer.IdentityEmail)[0]
	l.st.MarkVerified(t, a, k)
	l.waitSegment(a, "region:华东", true)
	l.due(a)
	if res := l.run(); res.Sent != 1 {
		t.Fatalf("run: %+v", res)
	}
	mail := stacktest.Emails(t, email)[0]
	ls := links(t, mail)
	stok := ls["/v1/surveys/update"]

	// Expired: 410, nothing changes.
	saved := l.clock.now()
	l.clock.add(15 * 24 * time.Hour)
	if r := l.request("GET", "GET /v1/surveys/{surveyId}", "/v1/surveys/update?t="+url.QueryEscape(stok), "", ""); r.StatusCode != 410 {
		t.Fatalf("expired link: %d", r.StatusCode)
	}
	l.clock.set(saved)

	// Correct the region and company, add a new email; untick marketing
	// (a withdrawal).
	newEmail := strings.ToLower(stacktest.Unique("added")) + "@example.com"
	r := l.request("POST", "POST /v1/surveys/{surveyId}/responses", "/v1/surveys/update/responses", "application/x-www-form-urlencoded",
		"action=save&region=%E5%8D%8E%E5%8D%97&company=New+Co&name=&email="+url.QueryEscape(newEmail)+"&consent=contact&t="+url.QueryEscape(stok))
	if r.StatusCode != 303 {
		t.Fatalf("correction: %d %s", r.StatusCode, r.Body)
	}
	p = l.profile(a)
	if p.General["region"] != "华南" || p.Fields["company"].Trust != customer.Proven || p.Consent[consent.Marketing].Granted {
		t.Fatalf("after the correction: %+v %+v %+v", p.General, p.Fields["company"], p.Consent)
	}
	ledger, err := l.st.Store.Ledger(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	last := ledger[len(ledger)-1]
	if last.Channel != "update-survey" || last.Trust != customer.Proven || !slices.Equal(last.Fields(), []string{"company", "email", "region"}) ||
		!slices.Equal(last.Withdrawn, []consent.Purpose{consent.Marketing}) || !slices.Contains(last.Confirmed, "name") {
		t.Fatalf("the survey's ledger entry: %+v (fields %v)", last, last.Fields())
	}
	l.waitSegment(a, "region:华南", true)
	l.waitSegment(a, "region:华东", false)
	l.waitSegment(a, "marketable", false)

	// The added address claims nothing until its owner confirms it: a
	// post by whoever owns it makes a customer of its own; the next run
	// asks the address to confirm (the survey itself is not due).
	owner, err := l.svc.Submit(ctx, mustForm(t, l), intake.Submission{Fields: map[string][]string{"name": {"The real owner"}, "email": {newEmail}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil || owner.CustomerID == a || !owner.NewCustomer {
		t.Fatalf("a post with the address the survey added attached to %s (new %v, %v)", owner.CustomerID, owner.NewCustomer, err)
	}
	if err := l.st.Store.RequestReview(ctx, a, "ops", uuid.Must(uuid.NewV7()).String(), l.clock.now()); err != nil {
		t.Fatal(err)
	}
	l.waitSegment(a, "review-due", true)
	// The address on file is told first, with the new one masked (someone
	// with a forwarded link may have added theirs); the new one is asked
	// to confirm only a day later.
	if res := l.run(); res.Confirmations != 0 || res.Sent != 1 {
		t.Fatalf("after adding an address: %+v", res)
	}
	if added := stacktest.Emails(t, newEmail); len(added) != 0 {
		t.Fatalf("the added address was emailed before the notice's day: %+v", added)
	}
	l.clock.add(sender.AddedNoticeLead + time.Minute)
	if res := l.run(); res.Confirmations != 1 {
		t.Fatalf("a day after the notice: %+v", res)
	}
	added := stacktest.Emails(t, newEmail)
	if len(added) != 1 || !strings.Contains(added[0].Subject, "confirm your email address") {
		t.Fatalf("the added address got %+v", added)
	}
	var notices []stacktest.Email
	for _, m := range stacktest.Emails(t, email) {
		if strings.Contains(m.Subject, "An email address was added") {
			notices = append(notices, m)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0].Text, kmail.Mask("email", newEmail)) || strings.Contains(notices[0].Text, newEmail) ||
		!strings.Contains(notices[0].Text, "/v1/privacy?t=") {
		t.Fatalf("the notice to the address on file: %+v", notices)
	}
	// Its owner (another customer now) confirms: the address is not
	// this customer's to claim any more.
	ctok := links(t, added[0])["/v1/confirm"]
	if r := l.request("POST", "POST /v1/confirm", "/v1/confirm", "application/x-www-form-urlencoded", "t="+url.QueryEscape(ctok)); r.StatusCode != 410 {
		t.Fatalf("confirming an address another customer now holds: %d %s", r.StatusCode, r.Body)
	}

	// The one-click withdrawal (RFC 8058): GET changes nothing; the POST
	// withdraws contact; a repeat changes nothing more.
	utok := ls["/v1/unsubscribe"]
	if r := l.request("GET", "GET /v1/unsubscribe", "/v1/unsubscribe?t="+url.QueryEscape(utok), "", ""); r.StatusCode != 200 ||
		!l.profile(a).Consent[consent.Contact].Granted {
		t.Fatalf("unsubscribe page: %d", r.StatusCode)
	}
	for range 2 {
		r := l.request("POST", "POST /v1/unsubscribe", "/v1/unsubscribe?t="+url.QueryEscape(utok), "application/x-www-form-urlencoded",
			"List-Unsubscribe=One-Click")
		if r.StatusCode != 200 {
			t.Fatalf("one-click: %d %s", r.StatusCode, r.Body)
		}
	}
	if l.profile(a).Consent[consent.Contact].Granted {
		t.Fatal("contact still granted after the one-click withdrawal")
	}
	ledger, _ = l.st.Store.Ledger(ctx, a)
	var withdrawals int
	for _, e := range ledger {
		if e.Entity == store.EntityWithdrawal {
			withdrawals++
			if e.Channel != "one-click" || !slices.Equal(e.Purposes, []consent.Purpose{consent.Contact}) {
				t.Fatalf("withdrawal entry: %+v", e)
			}
		}
	}
	if withdrawals != 1 {
		t.Fatalf("%d withdrawal entries, want 1", withdrawals)
	}
	l.waitSegment(a, "contactable", false)
	if err := l.st.Store.RequestReview(ctx, a, "ops", "01900000-0000-7000-8000-000000000002", l.clock.now()); err != nil {
		t.Fatal(err)
	}
	l.waitSegment(a, "review-due", true)
	if res := l.run(); res.Sent != 0 || res.Skipped[sender.SkipNoConsent] != 1 {
		t.Fatalf("a customer who withdrew contact: %+v", res)
	}
}

func mustForm(t *testing.T, l *loop) *form.Definition {
	t.Helper()
	def, err := l.svc.Form(context.Background(), "contact")
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func flip(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// A confirmation link expires (14 days): a customer who missed it is asked
// again once it has, at most ConfirmTries times in all.
func TestConfirmationAgainAfterItsLinkExpires(t *testing.T) {
	l := newLoop(t)
	email := strings.ToLower(stacktest.Unique("late")) + "@example.com"
	a := l.customer(email, consent.Contact)
	l.due(a)
	got := []int{}
	for range sender.ConfirmTries + 1 {
		got = append(got, l.run().Confirmations, l.run().Confirmations)
		l.clock.add(l.snd.Settings.SurveyTTL + time.Hour)
	}
	if want := []int{1, 0, 1, 0, 1, 0, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("confirmations per run %v, want %v", got, want)
	}
	if n := len(stacktest.Emails(t, email)); n != sender.ConfirmTries {
		t.Fatalf("%d confirmation emails, want %d", n, sender.ConfirmTries)
	}
}
