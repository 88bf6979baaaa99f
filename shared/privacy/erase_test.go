package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/store"
)

const ordersSecret = "whsec_b3JkZXJzLWxvY2FsLXRlc3Qtc2VjcmV0LTI0Yg=="
const chatSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// After an erasure a raw scan of the whole table finds none of the
// customer's values, identifier hashes or interactions; the customer is in
// no segment; its order record, quarantined payload, send record and
// reviews are gone; what remains is the tombstone, the consent ledger
// without values or proofs, and the audit; a new submission with the same
// email is a new customer; a second erasure is refused.
func TestErasureIsComplete(t *testing.T) {
	st := stacktest.NewStreamed(t)
	st.Segmenter(t, time.Now)
	ctx := context.Background()
	now := time.Now()
	svc, _ := st.Intake(t)
	email := stacktest.Unique("erase") + "@Example.com"
	const name, phone, text = "Ouyang Xiu", "+86 139 1234 5678", "please deliver to the back door"
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {name}, "email": {email}, "phone": {phone},
		"region": {"西南"}, "message": {"hello"}}, Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact, consent.Marketing},
		Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CustomerID
	// A chat message, an order, an order quarantined (another currency)
	// that names the email, a send record, a review naming the customer.
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	for i, ev := range []struct{ source, secret, body string }{
		{"web-chat", chatSecret, `{"type":"message.created","timestamp":"` + now.Format(time.RFC3339) + `","data":{"conversation_id":"c-erase","customer":{"email":"` + email + `"},"text":"` + text + `"}}`},
		{"shop-orders", ordersSecret, `{"type":"order.completed","data":{"order_id":"SO-ERASE-1","customer":{"email":"` + email + `"},"amount":"88.00","currency":"CNY","completed_at":"` + now.Add(-time.Hour).Format(time.RFC3339) + `"}}`},
		{"shop-orders", ordersSecret, `{"type":"order.completed","data":{"order_id":"SO-ERASE-2","customer":{"email":"` + email + `"},"amount":"12.00","currency":"USD","completed_at":"` + now.Add(-time.Hour).Format(time.RFC3339) + `"}}`},
	} {
		resp, err := h.Handle(ctx, stacktest.StandardEvent(t, ev.source, ev.secret, fmt.Sprintf("msg_erase_%d", i), ev.body, now))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s %v", ev.source, resp.StatusCode, resp.Body, err)
		}
	}
	if err := st.Store.ClaimSend(ctx, id, store.SendSurvey, "", "update", 0, 0, now); err != nil {
		t.Fatal(err)
	}
	// Another anonymous post with the same phone and another email: a
	// customer of its own, and a review naming this one.
	other, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Someone"}, "email": {stacktest.Unique("other") + "@example.com"},
		"phone": {phone}}, Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil || other.Review != store.ReviewIdentity {
		t.Fatalf("%+v %v", other, err)
	}
	// That customer gives the same phone again, through its own link (a
	// shared household phone): a second entry holding it.
	again2, err := svc.Submit(ctx, def, intake.Submission{Trust: customer.Proven, Subject: other.CustomerID,
		Fields: map[string][]string{"name": {"Someone"}, "phone": {phone}}, Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil || again2.CustomerID != other.CustomerID || again2.Review != store.ReviewIdentity {
		t.Fatalf("%+v %v", again2, err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, "marketable") && slices.Contains(s, "value:D") })
	counts, _ := st.Store.Counts(ctx)
	if st.Count(t)["quarantine"] != 1 || counts.Segments["marketable"] < 1 {
		t.Fatalf("setup: %v %v", st.Count(t), counts.Segments)
	}
	emailHash := svc.Index.Identity(customer.IdentityEmail, strings.ToLower(email))
	before, _ := st.Store.Profile(ctx, id)
	var idKeys []string
	for k := range before.IDs {
		idKeys = append(idKeys, k)
	}
	if w, _ := st.Store.Profile(ctx, other.CustomerID); len(w.IDs) != 2 {
		t.Fatalf("setup: the other customer holds %v", w.IDs)
	}
	// A quarantined payload nobody can decrypt: skipped, it stops no erasure.
	var poison map[string]types.AttributeValue
	for _, it := range st.Scan(t) {
		if str(it["pk"]) == "QUARANTINE" {
			poison = it
		}
	}
	poison["sk"] = &types.AttributeValueMemberS{Value: "poison-" + uuid.NewString()}
	poison["payload"] = &types.AttributeValueMemberB{Value: []byte("not a ciphertext")}
	if _, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.Table, Item: poison}); err != nil {
		t.Fatal(err)
	}

	// Credentials that cannot read the identifiers stop the erasure before
	// it deletes anything (the quarantine could not be searched).
	blind := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-analyst"))), Actor: "local:kehu-analyst"}
	if err := blind.Erase(ctx, id, "the person asked (request 42)", "operator"); !errors.Is(err, privacy.ErrUnreadableIdentifier) {
		t.Fatalf("an erasure that cannot search the quarantine: %v", err)
	}
	if _, err := st.Store.Profile(ctx, id); err != nil || st.Count(t)["quarantine"] != 2 {
		t.Fatalf("after the stopped erasure: %v %v", err, st.Count(t))
	}

	e := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-compliance"))), Actor: "local:kehu-compliance"}
	if err := e.Erase(ctx, id, "the person asked (request 42)", "operator"); err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return len(s) == 0 })

	// The raw scan.
	var dump strings.Builder
	for _, it := range st.Scan(t) {
		if strings.HasPrefix(str(it["pk"]), "SEGCOUNT#") {
			continue // segments' names and counts: aggregates of everyone
		}
		fmt.Fprintln(&dump, string(stacktest.Dump(it)))
	}
	all := dump.String()
	digits := func(s string) string {
		return strings.Map(func(r rune) rune { return map[bool]rune{true: r, false: -1}[r >= '0' && r <= '9'] }, s)
	}
	for _, v := range append([]string{strings.ToLower(email), name, text, "SO-ERASE", emailHash, "hello", "西南", "c-erase"}, idKeys...) {
		if strings.Contains(strings.ToLower(all), strings.ToLower(v)) {
			t.Errorf("%q is still in the table", v)
		}
	}
	if strings.Contains(digits(all), "91234567") {
		t.Error("the phone's digits are still in the table")
	}
	for _, it := range st.Scan(t) {
		pk, sk := str(it["pk"]), str(it["sk"])
		// The submissions' ids, which idempotency answers still name
		// until they expire, tie to nothing left.
		if !strings.HasPrefix(pk, "IDEM#") && strings.Contains(string(stacktest.Dump(it)), res.SubmissionID) {
			t.Errorf("item %s / %s names a submission of the erased customer", pk, sk)
		}
		switch {
		case pk == "CUST#"+id && (sk == "TOMBSTONE" || sk == "SEGMENTS"):
		case pk == "CUST#"+id && strings.HasPrefix(sk, "LEDGER#"):
			for _, attr := range []string{"values", "plain", "proof", "interaction", "identity_review", "held"} {
				if _, ok := it[attr]; ok {
					t.Errorf("ledger entry %s keeps %s", sk, attr)
				}
			}
		case pk == "CUST#"+id:
			t.Errorf("item %s of the erased customer remains", sk)
		case strings.HasPrefix(pk, "AUDIT#"), strings.HasPrefix(pk, "DKEY#"), pk == "REQ#"+id, strings.HasPrefix(pk, "REQLOG#"):
			// The audit of reads; shared data keys; the erasure's own request
			// record (the customer id, kind and dates: no value).
		case pk == "QUARANTINE" && strings.HasPrefix(sk, "poison-"):
		case pk == "QUARANTINE":
			t.Errorf("a quarantined payload naming the customer remains")
		case strings.HasPrefix(pk, "SEG#") && sk == id:
			t.Errorf("still a member of %s", pk)
		case strings.Contains(string(stacktest.Dump(it)), id):
			t.Errorf("item %s / %s names the erased customer", pk, sk)
		}
	}
	// The other customer's submission carried this one's phone: it is
	// gone from that customer, value and key (its own email stays).
	w, _ := st.Store.Profile(ctx, other.CustomerID)
	wEntry, _ := st.Store.Entry(ctx, other.CustomerID, other.SubmissionID)
	wEntry2, _ := st.Store.Entry(ctx, other.CustomerID, again2.SubmissionID)
	_, kept := wEntry.Sealed["phone"]
	_, kept2 := wEntry2.Sealed["phone"]
	if kept || kept2 || len(w.IDs) != 1 || len(w.IdentifiersOf(customer.IdentityEmail)) != 1 || wEntry.Sealed["email"] == nil || wEntry2.Sealed["name"] == nil {
		t.Errorf("the other customer keeps the erased one's phone: ids %v, sealed %v and %v", w.IDs, wEntry.Fields(), wEntry2.Fields())
	}
	if reqs, _ := st.Store.OpenRequests(ctx); len(reqs) != 0 {
		t.Errorf("open requests after the erasure: %+v", reqs)
	}
	if reqs, _ := st.Store.CustomerRequests(ctx, id); len(reqs) != 1 || reqs[0].State != store.RequestDone || reqs[0].Channel != "operator" {
		t.Errorf("the erasure's request: %+v", reqs)
	}
	tomb, err := st.Store.TombstoneOf(ctx, id)
	if err != nil || tomb.State != store.Erased || tomb.Actor != "local:kehu-analyst" || len(tomb.IndexRefs) != 0 {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
	if audit, _ := st.Store.Audit(ctx, id); len(audit) == 0 || audit[len(audit)-1].Purpose != "erasure: find the quarantined payloads naming the customer" {
		t.Fatalf("the erasure's own read is not audited: %+v", audit)
	}

	// The same email again: a new customer. A second erasure: refused.
	again, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {name}, "email": {email}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil || again.CustomerID == id || !again.NewCustomer {
		t.Fatalf("a submission after the erasure: %+v %v", again, err)
	}
	if err := e.Erase(ctx, id, "again", "operator"); !errors.Is(err, store.ErrErased) {
		t.Fatalf("a second erasure: %v", err)
	}
	if err := e.Erase(ctx, "00000000-0000-4000-8000-000000000000", "no one", "operator"); !errors.Is(err, privacy.ErrNoCustomer) {
		t.Fatalf("erasing no one: %v", err)
	}
}

// A restricted customer leaves every segment but restricted, and what is
// submitted for it is kept, flagged.
func TestRestriction(t *testing.T) {
	st := stacktest.NewStreamed(t)
	st.Segmenter(t, time.Now)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	email := stacktest.Unique("restrict") + "@example.com"
	sub := intake.Submission{Fields: map[string][]string{"name": {"Ma Li"}, "email": {email}, "region": {"东北"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Marketing}, Notice: "contact-v1"}}
	res, err := svc.Submit(ctx, def, sub)
	if err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, res.CustomerID, func(s []string) bool { return slices.Contains(s, "marketable") })
	if err := privacy.Restrict(ctx, st.Store, res.CustomerID, true, "local:kehu-compliance", uuid.Must(uuid.NewV7()).String(), time.Now()); err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, res.CustomerID, func(s []string) bool { return slices.Equal(s, []string{"restricted"}) })
	if _, err := svc.Submit(ctx, def, sub); err != nil {
		t.Fatal(err)
	}
	ledger, _ := st.Store.Ledger(ctx, res.CustomerID)
	if last := ledger[len(ledger)-1]; !last.Restricted || ledger[len(ledger)-2].Entity != store.EntityRestriction {
		t.Fatalf("ledger %+v", ledger)
	}
	if err := privacy.Restrict(ctx, st.Store, res.CustomerID, false, "local:kehu-compliance", uuid.Must(uuid.NewV7()).String(), time.Now()); err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, res.CustomerID, func(s []string) bool { return slices.Contains(s, "marketable") && !slices.Contains(s, "restricted") })
	if err := privacy.Restrict(ctx, st.Store, "00000000-0000-4000-8000-000000000000", true, "x", "01900000-0000-7000-8000-0000000000a3", time.Now()); !errors.Is(err, privacy.ErrNoCustomer) {
		t.Fatalf("restricting no one: %v", err)
	}
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// Retention (time injected, not waited for): two years after the last
// activity marketing and contact are withdrawn; three years after it the
// customer, with no processing period left, is erased — all found through
// the retention-lapsed segment, never a table scan.
func TestRetention(t *testing.T) {
	st := stacktest.NewStreamed(t)
	var mu sync.Mutex
	clock := time.Now().UTC()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	seg := st.Segmenter(t, now)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	svc.Now = now
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Qian Li"}, "email": {stacktest.Unique("ret") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact, consent.Marketing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CustomerID
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, "marketable") })
	e := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-privacy"))), Actor: "local:kehu-privacy", Now: now}
	th := segment.Defaults()
	if w, n, err := e.RunRetention(ctx, th); err != nil || w+n != 0 {
		t.Fatalf("retention before anything lapsed: %d %d %v", w, n, err)
	}

	// The daily sweep, at the days something is due: the review date (a
	// year on), then the lapse of marketing and contact (two years on).
	for _, d := range []time.Duration{366 * 24 * time.Hour, 365 * 24 * time.Hour} {
		advance(d)
		if _, err := seg.Sweep(ctx, now().Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, segment.RetentionLapsed) })
	if w, n, err := e.RunRetention(ctx, th); err != nil || w != 2 || n != 0 {
		t.Fatalf("two years on: withdrew %d, erased %d, %v", w, n, err)
	}
	p, _ := st.Store.Profile(ctx, id)
	if p.Consent[consent.Marketing].Granted || p.Consent[consent.Contact].Granted || !p.Consent[consent.Processing].Granted {
		t.Fatalf("consent after two years: %+v", p.Consent)
	}
	ledger, _ := st.Store.Ledger(ctx, id)
	if i := slices.IndexFunc(ledger, func(l store.LedgerEntry) bool { return l.Channel == "retention" }); i < 0 || len(ledger[i].Purposes) != 2 {
		t.Fatalf("no retention entry in %+v", ledger)
	}
	st.WaitSegments(t, id, func(s []string) bool {
		return !slices.Contains(s, segment.RetentionLapsed) && !slices.Contains(s, "marketable")
	})

	advance(365 * 24 * time.Hour) // three years and a day after the last activity
	if _, err := seg.Sweep(ctx, now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, segment.RetentionLapsed) })
	if w, n, err := e.RunRetention(ctx, th); err != nil || n != 1 {
		t.Fatalf("three years on: withdrew %d, erased %d, %v", w, n, err)
	}
	if tomb, err := st.Store.TombstoneOf(ctx, id); err != nil || tomb.State != store.Erased || tomb.Request != "retention" {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return len(s) == 0 })
}

// submitOnFirstOpen is the eraser's opener, with a submission for the
// customer slipped in at its first decryption: between the erasure's first
// read of the profile and its deletion.
type submitOnFirstOpen struct {
	record.Opener
	once   sync.Once
	submit func()
}

func (o *submitOnFirstOpen) Open(ctx context.Context, aad envelope.AAD, blob []byte, keys map[string][]byte) ([]byte, error) {
	o.once.Do(o.submit)
	return o.Opener.Open(ctx, aad, blob, keys)
}

// A submission that lands while an erasure runs (a new phone: a new index
// entry pointing to the customer) leaves nothing behind: the profile is
// deleted only at the version its references were read from.
func TestErasureTakesWhatASubmissionAddsMeanwhile(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	email := stacktest.Unique("race") + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Du Fu"}, "email": {email}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CustomerID
	opener := &submitOnFirstOpen{Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-compliance")))}
	opener.submit = func() {
		r, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Du Fu"}, "email": {email}, "phone": {"+86 137 0000 1111"}},
			Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
		if err != nil || r.CustomerID != id {
			t.Errorf("the submission meanwhile: %+v %v", r, err)
		}
	}
	e := &privacy.Eraser{Store: st.Store, Opener: opener, Actor: "local:kehu-compliance"}
	if err := e.Erase(ctx, id, "operator test", "operator"); err != nil {
		t.Fatal(err)
	}
	for _, it := range st.Scan(t) {
		pk := str(it["pk"])
		if pk != "CUST#"+id && pk != "REQ#"+id && !strings.HasPrefix(pk, "REQLOG#") && !strings.HasPrefix(pk, "AUDIT#") &&
			strings.Contains(string(stacktest.Dump(it)), id) {
			t.Errorf("item %s / %s names the erased customer", pk, str(it["sk"]))
		}
	}
}

// Due erasures are claimed before they run: a cancel after the claim is
// too late (the erasure runs, and is done); one customer's failure stops
// no other's.
func TestDueErasuresAreClaimed(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	now := time.Now().UTC()
	var ids []string
	for i := range 2 {
		res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Li Bai"}, "email": {stacktest.Unique(fmt.Sprint("due", i)) + "@example.com"}},
			Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.CustomerID)
		run := now.Add(-time.Minute)
		r := store.Request{ID: uuid.NewString(), CustomerID: res.CustomerID, Kind: store.RequestErasure, Channel: "self-service", State: store.RequestScheduled,
			CreatedAt: now.Add(-8 * 24 * time.Hour), DueAt: now.Add(7 * 24 * time.Hour), RunAt: &run}
		if err := st.Store.PutRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		r2 := r
		r2.ID = uuid.NewString()
		if err := st.Store.PutRequest(ctx, r2); !errors.Is(err, store.ErrErasurePending) {
			t.Fatalf("a second scheduled erasure: %v", err)
		}
	}
	// The first is claimed (as the sweep does) before the person cancels.
	pending, err := st.Store.PendingErasure(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.SetRequestState(ctx, *pending, store.RequestScheduled, store.RequestRunning, now); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.SetRequestState(ctx, *pending, store.RequestScheduled, store.RequestCancelled, now); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a cancel after the claim: %v", err)
	}
	// The second customer's identifiers cannot be read by these
	// credentials: its erasure fails, the first's is done.
	blindFor := &selectiveOpener{Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-compliance"))), deny: ids[1]}
	e := &privacy.Eraser{Store: st.Store, Opener: blindFor, Actor: "local:kehu-privacy", Now: func() time.Time { return now }}
	n, err := e.RunDueErasures(ctx)
	if n != 1 || !errors.Is(err, privacy.ErrUnreadableIdentifier) {
		t.Fatalf("due erasures: %d %v", n, err)
	}
	if _, err := st.Store.Profile(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the claimed erasure did not run: %v", err)
	}
	open, _ := st.Store.OpenRequests(ctx)
	var left []string
	for _, r := range open {
		if slices.Contains(ids, r.CustomerID) {
			left = append(left, r.CustomerID+":"+r.State)
		}
	}
	if !slices.Equal(left, []string{ids[1] + ":" + store.RequestRunning}) {
		t.Fatalf("open requests after the run: %v", left)
	}
	// The next run, able to read, finishes it.
	blindFor.deny = ""
	if n, err := e.RunDueErasures(ctx); n != 1 || err != nil {
		t.Fatalf("the next run: %d %v", n, err)
	}
	if _, err := st.Store.PendingErasure(ctx, ids[1]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the erasure slot after the erasure: %v", err)
	}

	// An operator erases a customer whose own erasure is scheduled: the
	// operator's request is done; the scheduled one, when due, too.
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Wang Wei"}, "email": {stacktest.Unique("both") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	run := now.Add(-time.Minute)
	if err := st.Store.PutRequest(ctx, store.Request{ID: uuid.NewString(), CustomerID: res.CustomerID, Kind: store.RequestErasure, Channel: "self-service",
		State: store.RequestScheduled, CreatedAt: now.Add(-8 * 24 * time.Hour), DueAt: now.Add(7 * 24 * time.Hour), RunAt: &run}); err != nil {
		t.Fatal(err)
	}
	if err := e.Erase(ctx, res.CustomerID, "operator test", "operator"); err != nil {
		t.Fatalf("an operator's erasure beside a scheduled one: %v", err)
	}
	if n, err := e.RunDueErasures(ctx); n != 0 || err != nil {
		t.Fatalf("the scheduled erasure of an erased customer: %d %v", n, err)
	}
	reqs, _ := st.Store.CustomerRequests(ctx, res.CustomerID)
	if len(reqs) != 2 || reqs[0].State != store.RequestDone || reqs[1].State != store.RequestDone {
		t.Fatalf("requests: %+v", reqs)
	}
}

// selectiveOpener refuses to open one customer's values.
type selectiveOpener struct {
	record.Opener
	deny string
}

func (o *selectiveOpener) Open(ctx context.Context, aad envelope.AAD, blob []byte, keys map[string][]byte) ([]byte, error) {
	if aad.Customer == o.deny {
		return nil, envelope.ErrDenied
	}
	return o.Opener.Open(ctx, aad, blob, keys)
}

// failBIDX is the table, losing every delete of a blind-index entry.
type failBIDX struct{ store.DB }

func (f failBIDX) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if pk, ok := in.Key["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "BIDX#") {
		return nil, errors.New("injected: lost connection")
	}
	return f.DB.DeleteItem(ctx, in, o...)
}

// A retention erasure that stops after the profile is gone is finished:
// by an operator at once (the same request, no clash), or by the sweep
// once it is an hour old.
func TestStoppedErasuresAreFinished(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	opener := envelope.NewOpener(config.KMS(st.AWS(t, "kehu-privacy")))
	var ids []string
	for i := range 2 {
		res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Zhao Ming"}, "email": {stacktest.Unique(fmt.Sprint("stop", i)) + "@example.com"}},
			Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.CustomerID)
		broken := &privacy.Eraser{Store: store.New(failBIDX{st.DB}, st.Table), Opener: opener, Actor: "local:kehu-privacy"}
		if err := broken.Erase(ctx, res.CustomerID, "retention: no activity for the processing period", "retention"); err == nil {
			t.Fatal("the injected failure did not stop the erasure")
		}
	}
	finished := func(id string) bool {
		tomb, _ := st.Store.TombstoneOf(ctx, id)
		ledger, _ := st.Store.Ledger(ctx, id)
		reqs, _ := st.Store.CustomerRequests(ctx, id)
		return tomb != nil && tomb.State == store.Erased && len(ledger) == 1 && len(ledger[0].Sealed) == 0 &&
			len(reqs) == 1 && reqs[0].State == store.RequestDone && reqs[0].Channel == "retention"
	}
	// The operator, at once.
	comp := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-compliance"))), Actor: "local:kehu-compliance"}
	if err := comp.Erase(ctx, ids[0], "finish it", "operator"); err != nil || !finished(ids[0]) {
		t.Fatalf("the operator's resume: %v", err)
	}
	// The sweep: not while it may still run; an hour on, yes.
	sweep := &privacy.Eraser{Store: st.Store, Opener: opener, Actor: "local:kehu-privacy"}
	if _, err := sweep.RunDueErasures(ctx); err != nil || finished(ids[1]) {
		t.Fatalf("the sweep took a fresh erasure: %v", err)
	}
	sweep.Now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	if n, err := sweep.RunDueErasures(ctx); err != nil || n != 1 || !finished(ids[1]) {
		t.Fatalf("the sweep an hour on: %d %v", n, err)
	}
}

// Two erasers stripping the same ledger entry leave it once; a search
// through many quarantined payloads is audited a thousand to a record.
func TestStripTwiceAndSearchAuditChunks(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Meng Jiao"}, "email": {stacktest.Unique("strip") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	ledger, _ := st.Store.Ledger(ctx, res.CustomerID)
	for range 2 {
		l := ledger[0]
		l.CustomerID = res.CustomerID
		if err := st.Store.StripEntry(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := st.Store.Ledger(ctx, res.CustomerID); len(after) != 1 || !after[0].Erased {
		t.Fatalf("after two strips: %d entries", len(after))
	}

	ids := make([]string, 2500)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	before, _ := st.Store.Audit(ctx, store.QuarantineCustomer)
	if err := record.AuditQuarantineSearch(ctx, st.Store, record.QuarantineRead{Actor: "local:kehu-privacy", Purpose: "test", Action: "erasure search"}, ids); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Store.Audit(ctx, store.QuarantineCustomer)
	named := 0
	for _, a := range after[len(before):] {
		named += len(a.Fields)
	}
	if len(after)-len(before) != 3 || named != 2500 {
		t.Fatalf("%d records naming %d payloads", len(after)-len(before), named)
	}
}
