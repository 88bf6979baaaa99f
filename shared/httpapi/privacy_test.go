package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/sender"
	"github.com/kehu-dev/kehu/shared/store"
)

func privacyRequest(t *testing.T, h *httpapi.PrivacyPages, method, route, query, body string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	path := strings.TrimPrefix(route, method+" ")
	ev := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path, RawQueryString: query, QueryStringParameters: map[string]string{},
		Headers: map[string]string{}}
	q, _ := url.ParseQuery(query)
	for k, v := range q {
		ev.QueryStringParameters[k] = v[0]
	}
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, path
	if body != "" {
		ev.Headers["content-type"] = "application/x-www-form-urlencoded"
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The person's privacy page, by its signed link: withdraw a purpose (out
// of its segment within seconds), get a copy by email (a short-lived
// download link; every value, audited as the person's own read), correct
// through the survey, ask for erasure — cancelled, it erases nothing;
// not cancelled, it is carried out after the cooling-off by the same code
// as an operator's erase, and the request is done.
func TestPrivacySelfService(t *testing.T) {
	st := stacktest.NewStreamed(t)
	var mu sync.Mutex
	clock := time.Now().UTC()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	st.Segmenter(t, now)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	email := strings.ToLower(stacktest.Unique("self")) + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Lin Hui"}, "email": {email}, "region": {"华中"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact, consent.Marketing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CustomerID
	// The address verified (the confirmation path is the survey loop's).
	p, _ := st.Store.Profile(ctx, id)
	k := p.IdentifiersOf("email")[0]
	st.MarkVerified(t, id, k)
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, "marketable") })
	h := st.Privacy(t, now)
	tok, _, err := h.Deps.Keys.Sign(link.Claims{Purpose: link.Privacy, Customer: id, Subject: sender.PrivacySubject(k), Expires: now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	q := "t=" + url.QueryEscape(tok)

	page := privacyRequest(t, h, "GET", "GET /v1/privacy", q, "")
	if page.StatusCode != 200 || !strings.Contains(page.Body, `name="purpose" value="marketing"`) || strings.Contains(page.Body, "Lin Hui") ||
		!strings.Contains(page.Body, `action="privacy/copy"`) {
		t.Fatalf("page: %d %s", page.StatusCode, page.Body)
	}
	// A forged link: 403, nothing shown.
	if r := privacyRequest(t, h, "GET", "GET /v1/privacy", "t=k1.e30.AAAA", ""); r.StatusCode != 403 {
		t.Fatalf("forged: %d", r.StatusCode)
	}

	// Withdraw marketing: a ledger entry, out of marketable within seconds.
	r := privacyRequest(t, h, "POST", "POST /v1/privacy/withdraw", "", q+"&purpose=marketing")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `action="../privacy/copy"`) {
		t.Fatalf("withdraw: %d %s", r.StatusCode, r.Body)
	}
	st.WaitSegments(t, id, func(s []string) bool { return !slices.Contains(s, "marketable") })
	ledger, _ := st.Store.Ledger(ctx, id)
	i := slices.IndexFunc(ledger, func(e store.LedgerEntry) bool { return e.Entity == store.EntityWithdrawal })
	if i < 0 || ledger[i].Channel != "privacy-page" || !slices.Equal(ledger[i].Purposes, []consent.Purpose{consent.Marketing}) {
		t.Fatalf("withdrawal entry: %+v", ledger)
	}

	// A copy: by email, a short-lived link; the copy holds every value.
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/copy", "", q); r.StatusCode != 200 {
		t.Fatalf("copy: %d %s", r.StatusCode, r.Body)
	}
	mails := stacktest.Emails(t, email)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "Your copy of your data") || !strings.Contains(mails[0].Text, "/v1/privacy?t=") {
		t.Fatalf("copy email: %+v", mails)
	}
	m := regexp.MustCompile(`https://kehu\.test/v1/privacy/download\?t=([A-Za-z0-9._%-]+)`).FindStringSubmatch(mails[0].Text)
	if m == nil {
		t.Fatalf("no download link in %s", mails[0].Text)
	}
	dl, _ := url.QueryUnescape(m[1])
	exports := func() int {
		audit, _ := st.Store.Audit(ctx, id)
		n := 0
		for _, a := range audit {
			if a.Action == "export" && a.Actor == "local:kehu-privacy" {
				n++
			}
		}
		return n
	}
	// The GET (what a mail scanner fetches) shows buttons: nothing read.
	if g := privacyRequest(t, h, "GET", "GET /v1/privacy/download", "t="+url.QueryEscape(dl), ""); g.StatusCode != 200 ||
		strings.Contains(g.Body, "Lin Hui") || !strings.Contains(g.Body, `method="post" action="download"`) || exports() != 0 {
		t.Fatalf("download page: %d %d %s", g.StatusCode, exports(), g.Body)
	}
	dlBody := "t=" + url.QueryEscape(dl)
	got := privacyRequest(t, h, "POST", "POST /v1/privacy/download", "", dlBody+"&format=json")
	var x record.Export
	if err := json.Unmarshal([]byte(got.Body), &x); got.StatusCode != 200 || err != nil || !strings.Contains(got.Body, "Lin Hui") ||
		!strings.Contains(got.Body, email) || len(x.Unreadable) != 0 {
		t.Fatalf("download: %d %v %s", got.StatusCode, err, got.Body)
	}
	if again := privacyRequest(t, h, "POST", "POST /v1/privacy/download", "", dlBody+"&format=json"); again.StatusCode != 410 ||
		!strings.Contains(again.Body, "Link already used") || strings.Contains(again.Body, "Lin Hui") {
		t.Fatalf("the JSON copy twice: %d %s", again.StatusCode, again.Body)
	}
	if html := privacyRequest(t, h, "POST", "POST /v1/privacy/download", "", dlBody+"&format=html"); !strings.Contains(html.Body, "Lin Hui") {
		t.Fatal("the readable copy lacks the name")
	}
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/download", "", q+"&format=json"); r.StatusCode != 403 {
		t.Fatalf("the page's link as a download link: %d", r.StatusCode)
	}
	if n := exports(); n != 2 {
		t.Fatalf("the copy's reads audited %d times, want 2", n)
	}

	// Correct: to the survey, with a fresh link.
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/correct", "", q); r.StatusCode != 303 || !strings.HasPrefix(r.Headers["Location"], "../surveys/update?t=") {
		t.Fatalf("correct: %d %v", r.StatusCode, r.Headers)
	}

	// Erasure, cancelled: nothing erased. A second click schedules no
	// second one; the address is told, with the page to cancel from.
	for range 2 {
		if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase", "", q); r.StatusCode != 200 || !strings.Contains(r.Body, "erase/cancel") {
			t.Fatalf("erase: %d %s", r.StatusCode, r.Body)
		}
	}
	if reqs, _ := st.Store.CustomerRequests(ctx, id); len(slices.DeleteFunc(reqs, func(r store.Request) bool { return r.Kind != store.RequestErasure })) != 1 {
		t.Fatalf("two clicks scheduled %+v", reqs)
	}
	notices := stacktest.Emails(t, email)
	if len(notices) != 2 || !strings.Contains(notices[0].Subject+notices[1].Subject, "erase") {
		t.Fatalf("erasure notice: %+v", notices)
	}
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase/cancel", "", q); r.StatusCode != 200 {
		t.Fatalf("cancel: %d", r.StatusCode)
	}
	mu.Lock()
	clock = clock.Add(8 * 24 * time.Hour)
	mu.Unlock()
	tok2, _, _ := h.Deps.Keys.Sign(link.Claims{Purpose: link.Privacy, Customer: id, Subject: sender.PrivacySubject(k), Expires: now().Add(time.Hour).Unix()})
	q = "t=" + url.QueryEscape(tok2)
	if n, err := h.Deps.Eraser.RunDueErasures(ctx); err != nil || n != 0 {
		t.Fatalf("a cancelled erasure ran: %d %v", n, err)
	}
	if _, err := st.Store.Profile(ctx, id); err != nil {
		t.Fatalf("the profile after a cancelled erasure: %v", err)
	}

	// Erasure, not cancelled: not before the cooling-off; then carried out.
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase", "", q); r.StatusCode != 200 {
		t.Fatalf("erase: %d", r.StatusCode)
	}
	if n, _ := h.Deps.Eraser.RunDueErasures(ctx); n != 0 {
		t.Fatal("an erasure ran before its cooling-off")
	}
	mu.Lock()
	clock = clock.Add(7*24*time.Hour + time.Minute)
	mu.Unlock()
	if n, err := h.Deps.Eraser.RunDueErasures(ctx); err != nil || n != 1 {
		t.Fatalf("due erasures: %d %v", n, err)
	}
	if _, err := st.Store.Profile(ctx, id); err == nil {
		t.Fatal("the profile survived its erasure")
	}
	reqs, _ := st.Store.CustomerRequests(ctx, id)
	states := map[string]int{}
	for _, r := range reqs {
		states[r.Kind+":"+r.State]++
		if r.DueAt.Sub(r.CreatedAt) != 15*24*time.Hour {
			t.Errorf("request %s is due %v after it was made", r.ID, r.DueAt.Sub(r.CreatedAt))
		}
	}
	if states["access:done"] != 1 || states["erasure:cancelled"] != 1 || states["erasure:done"] != 1 {
		t.Fatalf("requests %v", states)
	}
	tomb, err := st.Store.TombstoneOf(ctx, id)
	if err != nil || tomb.Request == "" || tomb.State != store.Erased {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return len(s) == 0 })
	// The page's link now finds nothing.
	if r := privacyRequest(t, h, "GET", "GET /v1/privacy", q, ""); r.StatusCode != 410 {
		t.Fatalf("the page after the erasure: %d", r.StatusCode)
	}
}

// The privacy link acts for the address it was sent to: with two verified
// addresses, the copy goes to the link's own; a link whose address is not
// (or no longer) a verified one of the customer's changes and sends
// nothing; an address a trusted system added gets no privacy link.
func TestPrivacyLinkActsForItsAddress(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	first, second := strings.ToLower(stacktest.Unique("own"))+"@example.com", strings.ToLower(stacktest.Unique("second"))+"@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Zhou Yu"}, "email": {first}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CustomerID
	p, _ := st.Store.Profile(ctx, id)
	a := st.MarkVerified(t, id, p.IdentifiersOf("email")[0])
	// The person adds a second address through their own link, and
	// confirms it (the confirm page's write).
	if _, err := svc.Submit(ctx, def, intake.Submission{Trust: customer.Proven, Subject: id, Fields: map[string][]string{"name": {"Zhou Yu"}, "email": {second}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}}); err != nil {
		t.Fatal(err)
	}
	p, _ = st.Store.Profile(ctx, id)
	var b string
	for _, k := range p.IdentifiersOf("email") {
		if k != a {
			b = k
		}
	}
	if err := st.Store.Verify(ctx, store.Verification{CustomerID: id, IDKey: b, Claim: true, EntryID: newEntryID(t), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h := st.Privacy(t, time.Now)
	sign := func(subject string) string {
		tok, _, err := h.Deps.Keys.Sign(link.Claims{Purpose: link.Privacy, Customer: id, Subject: subject, Expires: time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return "t=" + url.QueryEscape(tok)
	}
	// Each address's link: the copy to that address, never the other
	// (which of the two sorts first does not matter).
	for i, k := range []string{b, a} {
		if r := privacyRequest(t, h, "POST", "POST /v1/privacy/copy", "", sign(sender.PrivacySubject(k))); r.StatusCode != 200 {
			t.Fatalf("copy: %d %s", r.StatusCode, r.Body)
		}
		if toB, toA := stacktest.Emails(t, second), stacktest.Emails(t, first); len(toB) != 1 || len(toA) != i {
			t.Fatalf("after the copy by the link to %s: %d to the second address, %d to the first", k, len(toB), len(toA))
		}
	}
	// The old page link ("page"), and links for an address not verified
	// or not the customer's: nothing shown, nothing sent.
	for _, subject := range []string{"page", sender.PrivacySubject("email:" + strings.Repeat("A", 43)), "page:"} {
		if r := privacyRequest(t, h, "GET", "GET /v1/privacy", sign(subject), ""); r.StatusCode != 403 && r.StatusCode != 410 {
			t.Fatalf("a link for %q: %d", subject, r.StatusCode)
		}
		if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase", "", sign(subject)); r.StatusCode != 403 && r.StatusCode != 410 {
			t.Fatalf("an erasure by a link for %q: %d", subject, r.StatusCode)
		}
	}
	if reqs, _ := st.Store.CustomerRequests(ctx, id); len(reqs) != 2 {
		t.Fatalf("requests: %+v", reqs)
	}
	// An operator's erasure under way (it has no date of the person's):
	// the page says so, with nothing to cancel.
	now := time.Now().UTC()
	if err := st.Store.PutRequest(ctx, store.Request{ID: uuid.NewString(), CustomerID: id, Kind: store.RequestErasure, Channel: "operator",
		State: store.RequestRunning, CreatedAt: now, DueAt: now}); err != nil {
		t.Fatal(err)
	}
	page := privacyRequest(t, h, "GET", "GET /v1/privacy", sign(sender.PrivacySubject(a)), "")
	if page.StatusCode != 200 || !strings.Contains(page.Body, "being erased") || strings.Contains(page.Body, "erase/cancel") {
		t.Fatalf("the page during an operator's erasure: %d %s", page.StatusCode, page.Body)
	}
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase/cancel", "", sign(sender.PrivacySubject(a))); r.StatusCode != 200 || strings.Contains(r.Body, "Erasure cancelled") {
		t.Fatalf("a cancel with none scheduled: %d %s", r.StatusCode, r.Body)
	}
}

func newEntryID(t *testing.T) string {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// The last purpose withdrawn on the page: the address is told when the
// data goes unless a purpose is granted again (a forwarded link must not
// erase unnoticed).
func TestLastWithdrawalIsTold(t *testing.T) {
	st := stacktest.New(t)
	id, email, k := verifiedCustomer(t, st, "He Zhi", consent.Processing, consent.Contact)
	h := st.Privacy(t, time.Now)
	q := privacyLink(t, h, id, k)
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/withdraw", "", q+"&purpose=contact"); r.StatusCode != 200 {
		t.Fatalf("withdraw: %d", r.StatusCode)
	}
	if got := stacktest.Emails(t, email); len(got) != 0 {
		t.Fatalf("an email while a purpose is left: %+v", got)
	}
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/withdraw", "", q+"&purpose=processing"); r.StatusCode != 200 {
		t.Fatalf("withdraw: %d", r.StatusCode)
	}
	got := stacktest.Emails(t, email)
	day := time.Now().UTC().AddDate(0, 0, 14).Format("2006-01-02") // the grace, then a week after the sender's notice
	if len(got) != 1 || !strings.Contains(got[0].Subject, "every consent") || !strings.Contains(got[0].Text, day) || !strings.Contains(got[0].Text, "/v1/privacy?t=") {
		t.Fatalf("the last withdrawal's email (erasure on %s): %+v", day, got)
	}
}

// brokenMail is a mail service that fails every send with err.
type brokenMail struct{ err error }

func (b brokenMail) Send(context.Context, string, string, []byte) error { return b.err }

// When the email cannot go out: a copy answers 503 and its request stays
// open until a later copy answers it (and every earlier one); an erasure
// answers 503 and stays unscheduled — unless the mail service could not
// tell whether it sent, when it stays scheduled (the notice may be out).
func TestPrivacyMailFailures(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	id, email, k := verifiedCustomer(t, st, "Cen Shen", consent.Processing)
	h := st.Privacy(t, time.Now)
	q := privacyLink(t, h, id, k)
	working := h.Deps.Sender.Mail
	states := func(kind string) map[string]int {
		reqs, _ := st.Store.CustomerRequests(ctx, id)
		out := map[string]int{}
		for _, r := range reqs {
			if r.Kind == kind {
				out[r.State]++
			}
		}
		return out
	}

	h.Deps.Sender.Mail = brokenMail{errors.New("smtp: 554 refused for " + email)}
	for range 2 {
		if r := privacyRequest(t, h, "POST", "POST /v1/privacy/copy", "", q); r.StatusCode != 503 || r.Headers["Retry-After"] == "" {
			t.Fatalf("a copy whose email failed: %d %v", r.StatusCode, r.Headers)
		}
	}
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase", "", q); r.StatusCode != 503 {
		t.Fatalf("an erasure whose notice failed: %d", r.StatusCode)
	}
	if got := states(store.RequestAccess); got[store.RequestOpen] != 2 {
		t.Fatalf("access requests after two failed copies: %v", got)
	}
	if _, err := st.Store.PendingErasure(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an erasure stayed scheduled without its notice: %v", err)
	}
	h.Deps.Sender.Mail = working
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/copy", "", q); r.StatusCode != 200 {
		t.Fatalf("copy: %d", r.StatusCode)
	}
	if got := states(store.RequestAccess); got[store.RequestDone] != 3 || got[store.RequestOpen] != 0 {
		t.Fatalf("access requests after a copy went out: %v", got)
	}
	h.Deps.Sender.Mail = brokenMail{fmt.Errorf("%w: timeout", mail.ErrUncertain)}
	if r := privacyRequest(t, h, "POST", "POST /v1/privacy/erase", "", q); r.StatusCode != 200 || !strings.Contains(r.Body, "erase/cancel") {
		t.Fatalf("an erasure whose notice may have gone: %d", r.StatusCode)
	}
}

// verifiedCustomer submits the contact form for a new customer with the
// purposes, marks its address verified, and returns its id, address and
// the address's key.
func verifiedCustomer(t *testing.T, st *stacktest.Stack, name string, purposes ...consent.Purpose) (id, email, key string) {
	t.Helper()
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	email = strings.ToLower(stacktest.Unique("p")) + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {name}, "email": {email}},
		Consent: consent.Grant{Purposes: purposes, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Store.Profile(ctx, res.CustomerID)
	return res.CustomerID, email, st.MarkVerified(t, res.CustomerID, p.IdentifiersOf("email")[0])
}

// privacyLink is the privacy page's link query for the address key.
func privacyLink(t *testing.T, h *httpapi.PrivacyPages, id, key string) string {
	t.Helper()
	tok, _, err := h.Deps.Keys.Sign(link.Claims{Purpose: link.Privacy, Customer: id, Subject: sender.PrivacySubject(key), Expires: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return "t=" + url.QueryEscape(tok)
}
