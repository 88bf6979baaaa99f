package intake_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

// indexOwners returns who each of a customer's identifiers' index entries
// point to, by identifier key.
func indexOwners(t *testing.T, st *stacktest.Stack, p *store.Profile) map[string]string {
	t.Helper()
	var refs []store.IndexRef
	for k := range p.IDs {
		r, _ := store.IdentifierRef(k)
		refs = append(refs, r)
	}
	found, err := st.Store.Lookup(context.Background(), refs...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for r, o := range found {
		out[r.Key()] = o
	}
	return out
}

// The takeover of the issue: an anonymous post naming a customer's phone
// with another email and name leaves the customer's identifiers, values
// and index entries as they were, records the disagreement, and the
// customer's next email-only submission still finds them.
func TestAnonymousPostCannotTakeOverACustomer(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	email, phone := stacktest.Unique("victim")+"@example.com", "13811112222"
	victim, err := submit(t, svc, contactSub("王芳", email, phone))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := st.Store.Profile(ctx, victim.CustomerID)
	owners := indexOwners(t, st, before)

	mallory, err := submit(t, svc, contactSub("Mallory", "m@evil.example", phone))
	if err != nil {
		t.Fatal(err)
	}
	if mallory.CustomerID == victim.CustomerID || mallory.Review != store.ReviewIdentity {
		t.Fatalf("the anonymous post was attached to the customer: %+v", mallory)
	}
	after, _ := st.Store.Profile(ctx, victim.CustomerID)
	if after.Version != before.Version || !equalJSON(t, after.IDs, before.IDs) || !equalJSON(t, after.Fields, before.Fields) {
		t.Fatalf("the customer changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := indexOwners(t, st, after); !equalJSON(t, got, owners) {
		t.Fatalf("index entries changed: %v → %v", owners, got)
	}
	rec := read(t, st, "kehu-sales", victim.CustomerID)
	if f := fieldsOf(rec); text(f["name"].Value) != "王芳" || !slices.Equal(identifiersOf(rec, customer.IdentityEmail), []string{email}) {
		t.Fatalf("the customer's record: name %q, emails %v", text(f["name"].Value), identifiersOf(rec, customer.IdentityEmail))
	}
	reviews, _ := st.Store.Reviews(ctx)
	if len(reviews) != 1 || reviews[0].SubmissionID != mallory.SubmissionID || !slices.Equal(reviews[0].AlsoMatched, []string{victim.CustomerID}) {
		t.Fatalf("disagreement not recorded: %+v", reviews)
	}
	// Mallory's own profile holds the phone unindexed: never matched, never
	// confirmable, so no link for the customer ever goes to Mallory.
	mrec := read(t, st, "kehu-sales", mallory.CustomerID)
	for _, x := range mrec.Identifiers {
		if x.Kind == customer.IdentityPhone && (x.Indexed || x.Confirmable || x.Verified) {
			t.Errorf("the customer's phone on Mallory's profile: %+v", x)
		}
	}
	next, err := submit(t, svc, contactSub("王芳", email, ""))
	if err != nil || next.CustomerID != victim.CustomerID {
		t.Fatalf("the customer's next email-only submission: %+v, %v", next, err)
	}

	t.Run("an anonymous post adds an identifier only as unverified and unconfirmable", func(t *testing.T) {
		c, err := submit(t, svc, contactSub("赵六", "", "13922223333"))
		if err != nil {
			t.Fatal(err)
		}
		added, err := submit(t, svc, contactSub("赵六", "attacker@evil.example", "13922223333"))
		if err != nil || added.CustomerID != c.CustomerID {
			t.Fatalf("%+v %v", added, err)
		}
		rec := read(t, st, "kehu-sales", c.CustomerID)
		for _, x := range rec.Identifiers {
			switch x.Kind {
			case customer.IdentityEmail:
				if x.Verified || x.Confirmable || !x.Indexed {
					t.Errorf("an email added by an anonymous post: %+v", x)
				}
			case customer.IdentityPhone:
				if !x.Confirmable {
					t.Errorf("the phone that created the customer: %+v", x)
				}
			}
		}
	})
}

// A value the customer confirmed (through a signed link: a proven
// submission) survives an anonymous post; the post's value is kept in the
// ledger and held for review.
func TestConfirmedValueSurvivesAssertedPost(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	email := stacktest.Unique("conf") + "@example.com"
	first, err := submit(t, svc, contactSub("李雷", email, ""))
	if err != nil {
		t.Fatal(err)
	}
	proven := contactSub("李雷雷", email, "")
	proven.Trust, proven.Subject = customer.Proven, first.CustomerID
	confirmed, err := submit(t, svc, proven)
	if err != nil || confirmed.CustomerID != first.CustomerID {
		t.Fatalf("proven submission: %+v %v", confirmed, err)
	}
	// An asserted submission naming its customer is refused outright: it
	// would attach to whoever it names.
	named := contactSub("Vandal", stacktest.Unique("named")+"@example.com", "")
	named.Subject = first.CustomerID
	if res, err := submit(t, svc, named); err == nil {
		t.Fatalf("an asserted submission named its customer: %+v", res)
	}
	anon, err := submit(t, svc, contactSub("Vandal", email, ""))
	if err != nil {
		t.Fatal(err)
	}
	if anon.CustomerID != first.CustomerID || !slices.Equal(anon.Held, []string{"name", "message"}) || anon.Review != store.ReviewValues {
		t.Fatalf("asserted post against a confirmed name: %+v", anon)
	}
	rec := read(t, st, "kehu-sales", first.CustomerID)
	f := fieldsOf(rec)
	if text(f["name"].Value) != "李雷雷" || f["name"].Trust != customer.Proven || f["name"].SubmissionID != confirmed.SubmissionID {
		t.Fatalf("confirmed name replaced: %+v", f["name"])
	}
	if rec.ConfirmedAt == nil {
		t.Error("the profile does not say when the customer confirmed")
	}
	// The vandal's value is not lost: it is in the history, held.
	r := st.Reader(t, "kehu-sales")
	rows, err := r.History(ctx, first.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range rows {
		if row.Field == "name" {
			names = append(names, text(row.Value))
			if text(row.Value) == "Vandal" && (!row.Held || row.Current) {
				t.Errorf("the held value's row: %+v", row)
			}
		}
	}
	if !slices.Equal(names, []string{"李雷", "李雷雷", "Vandal"}) {
		t.Fatalf("name history %v", names)
	}
	// An unconfirmed (asserted) value may still be replaced by the next post.
	if _, err := submit(t, svc, func() intake.Submission {
		s := contactSub("李雷雷", email, "")
		s.Fields["company"] = []string{"New Co"}
		return s
	}()); err != nil {
		t.Fatal(err)
	}
	if f := fieldsOf(read(t, st, "kehu-sales", first.CustomerID)); text(f["company"].Value) != "New Co" {
		t.Fatalf("company: %+v", f["company"])
	}
}

// A child's status stays with the customer: the next submission without a
// birthday needs the guardian's consent, and is stored restricted.
func TestChildStatusStaysWithTheCustomer(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	putKidsForm(t, st)
	email := stacktest.Unique("kid") + "@example.com"
	withBirthday := intake.Submission{
		Fields:  map[string][]string{"name": {"小明"}, "birthday": {childBirthday()}, "email": {email}, "region": {"华南"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Guardian, consent.Sensitive}, Notice: "kids-v1"}}
	first, err := submitTo(t, svc, "kids-club", withBirthday)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Count(t)
	// Through the general contact form, without a birthday or guardian consent.
	_, err = submit(t, svc, contactSub("小明", email, ""))
	var cerr *consent.Error
	if !errors.As(err, &cerr) || !slices.Contains(cerr.Missing, consent.Guardian) {
		t.Fatalf("a child's second submission without guardian consent: %v", err)
	}
	if after := st.Count(t); !equalCounts(before, after) {
		t.Fatalf("stored: %v → %v", before, after)
	}
	second := intake.Submission{Fields: map[string][]string{"name": {"小明明"}, "email": {email}, "region": {"华北"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Guardian, consent.Sensitive}, Notice: "kids-v1"}}
	res, err := submitTo(t, svc, "kids-club", second)
	if err != nil || res.CustomerID != first.CustomerID {
		t.Fatalf("with guardian consent: %+v %v", res, err)
	}
	p, _ := st.Store.Profile(ctx, first.CustomerID)
	if len(p.General) != 0 || p.AgeBand != customer.AgeBandChild {
		t.Errorf("child profile: %+v", p)
	}
	rec := read(t, st, "kehu-sales", first.CustomerID)
	for _, f := range rec.Fields {
		if f.Value.Text != nil || f.Tier != string(customer.Restricted) {
			t.Errorf("sales reads, or tier is not restricted, for a child's %s: %+v", f.Field, f)
		}
	}
	if f := fieldsOf(read(t, st, "kehu-compliance", first.CustomerID)); text(f["region"].Value) != "华北" {
		t.Errorf("compliance reads region %q", text(f["region"].Value))
	}
	// An adult birthday from an anonymous post does not lift the protection.
	adult := second
	adult.Fields = map[string][]string{"name": {"小明"}, "email": {email}, "birthday": {"1990-01-01"}}
	adultRes, err := submitTo(t, svc, "kids-club", adult)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Store.Profile(ctx, first.CustomerID); p.AgeBand != customer.AgeBandChild {
		t.Errorf("age band lifted by an asserted birthday: %q", p.AgeBand)
	}
	// Nor by an operator's restore of that birthday; the child's own
	// birthday may be restored.
	rd := st.Reader(t, "kehu-compliance")
	if err := rd.Restore(ctx, svc.Index, first.CustomerID, "birthday", adultRes.SubmissionID, "test", time.Now(), stacktest.Unique("r")); !errors.Is(err, record.ErrNotRestorable) {
		t.Fatalf("restored an adult birthday on a child: %v", err)
	}
	if err := rd.Restore(ctx, svc.Index, first.CustomerID, "birthday", first.SubmissionID, "test", time.Now(), stacktest.Unique("r")); err != nil {
		t.Fatalf("restore the child's birthday: %v", err)
	}
	if p, _ := st.Store.Profile(ctx, first.CustomerID); p.AgeBand != customer.AgeBandChild || len(p.General) != 0 {
		t.Errorf("after restore: %+v", p)
	}
}

// The idempotency record keeps a keyed hash of the request, which cannot
// be recomputed from guessed values without the secret.
func TestRequestHashIsKeyed(t *testing.T) {
	hashes := map[string]bool{}
	for i := 0; i < 2; i++ { // two tables, two blind-index secrets, one request
		st := stacktest.New(t)
		svc, _ := st.Intake(t)
		sub := contactSub("Hash", "hash@example.com", "")
		sub.IdempotencyKey, sub.IdempotencyKeySent = "same-key", true
		if _, err := submit(t, svc, sub); err != nil {
			t.Fatal(err)
		}
		for _, it := range st.Scan(t) {
			if it["entity"].(*types.AttributeValueMemberS).Value == "idempotency" {
				h := it["request_hash"].(*types.AttributeValueMemberS).Value
				hashes[h] = true
				plain := sha256.Sum256([]byte("contact"))
				if h == hex.EncodeToString(plain[:]) || len(h) < 40 {
					t.Errorf("request hash %q", h)
				}
			}
		}
	}
	if len(hashes) != 2 {
		t.Fatalf("one request hashed alike under two secrets: %v", hashes)
	}
}

// An email is stored as typed and matched case-folded.
func TestEmailStoredAsTypedMatchedFolded(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	u := strings.ToLower(stacktest.Unique("x"))
	typed := "Straße." + u + "@Example.com"
	a, err := submit(t, svc, contactSub("Groß", typed, ""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := submit(t, svc, contactSub("Groß", "strasse."+u+"@example.com", ""))
	if err != nil || b.CustomerID != a.CustomerID {
		t.Fatalf("folded address: %+v %v", b, err)
	}
	if got := identifiersOf(read(t, st, "kehu-sales", a.CustomerID), customer.IdentityEmail); !slices.Equal(got, []string{"Straße." + u + "@example.com"}) {
		t.Fatalf("stored emails %v", got)
	}
}

// Honeypots, idempotency keys: hostile requests that used to get through.
func TestHostileRequests(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	base := st.Count(t)
	email := stacktest.Unique("h") + "@example.com"

	hp := contactSub("Bot", email, "")
	hp.Fields["website"] = []string{"", "http://spam.example"}
	if r, err := submit(t, svc, hp); err != nil || !r.Honeypot {
		t.Fatalf("honeypot in its second value: %+v %v", r, err)
	}
	for _, tc := range []struct {
		name string
		key  string
	}{{"empty header", ""}, {"256 characters", strings.Repeat("k", 256)}, {"non-ASCII", "schlüssel"}} {
		s := contactSub("K", email, "")
		s.IdempotencyKey, s.IdempotencyKeySent = tc.key, true
		if _, err := submit(t, svc, s); !errors.Is(err, intake.ErrBadIdempotencyKey) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if got := st.Count(t); !equalCounts(base, got) {
		t.Fatalf("stored: %v → %v", base, got)
	}
	// A header key and the form's own submission id are two namespaces.
	fromField := contactSub("Field", email, "")
	fromField.Fields["form_submission_id"] = []string{"X1"}
	a, err := submit(t, svc, fromField)
	if err != nil {
		t.Fatal(err)
	}
	fromHeader := contactSub("Field", email, "")
	fromHeader.IdempotencyKey, fromHeader.IdempotencyKeySent = "field:X1", true
	b, err := submit(t, svc, fromHeader)
	if err != nil || b.Replayed || b.SubmissionID == a.SubmissionID {
		t.Fatalf("a header key collided with a form's submission id: %+v %v", b, err)
	}
	fromHeader.IdempotencyKey = "X1"
	c, err := submit(t, svc, fromHeader)
	if err != nil || c.Replayed {
		t.Fatalf("a header key equal to a form's submission id: %+v %v", c, err)
	}
}

// A returning anonymous post does not move the customer's review date (it
// is not a confirmation), and never zeroes it.
func TestReviewDateNotMovedByAnonymousPosts(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	email := stacktest.Unique("due") + "@example.com"
	first, err := submit(t, svc, contactSub("Due", email, ""))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := st.Store.Profile(ctx, first.CustomerID)
	if _, err := submit(t, svc, contactSub("Due Again", email, "")); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Store.Profile(ctx, first.CustomerID)
	if !after.ReviewDueAt.Equal(before.ReviewDueAt) || after.ReviewDueAt.Year() < 2026 {
		t.Fatalf("review due %v → %v", before.ReviewDueAt, after.ReviewDueAt)
	}
}
