package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

func contactSub(name, email, phone string) intake.Submission {
	f := map[string][]string{"name": {name}, "region": {"华东"}, "industry": {"manufacturing"}, "message": {"请联系我 " + name}}
	if email != "" {
		f["email"] = []string{email}
	}
	if phone != "" {
		f["phone"] = []string{phone}
	}
	return intake.Submission{Fields: f, ClientIP: "203.0.113.7", UserAgent: "Mozilla/5.0 test",
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact}, Notice: "contact-v1"}}
}

// submit sends sub to the demo form contact.
func submit(t *testing.T, svc *intake.Service, sub intake.Submission) (intake.Result, error) {
	t.Helper()
	return submitTo(t, svc, "contact", sub)
}

func submitTo(t *testing.T, svc *intake.Service, formID string, sub intake.Submission) (intake.Result, error) {
	t.Helper()
	ctx := context.Background()
	def, err := svc.Form(ctx, formID)
	if err != nil {
		t.Fatal(err)
	}
	return svc.Submit(ctx, def, sub)
}

func TestNewAndReturningCustomer(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	email := strings.ToLower(stacktest.Unique("wei")) + "@example.com"

	first, err := submit(t, svc, contactSub("张伟", email, "138 0013 8000"))
	if err != nil {
		t.Fatal(err)
	}
	if !first.NewCustomer {
		t.Fatal("first submission did not create a customer")
	}
	// Same email in another case and with IDN-insensitive spacing: the same customer.
	second, err := submit(t, svc, contactSub("张伟", "  "+strings.ToUpper(email)+" ", ""))
	if err != nil {
		t.Fatal(err)
	}
	if second.CustomerID != first.CustomerID || second.NewCustomer {
		t.Fatalf("returning email made customer %s (new=%v), want %s", second.CustomerID, second.NewCustomer, first.CustomerID)
	}
	// Same phone written differently, no email: still the same customer.
	third, err := submit(t, svc, contactSub("张伟", "", "+86 138-0013-8000"))
	if err != nil {
		t.Fatal(err)
	}
	if third.CustomerID != first.CustomerID {
		t.Fatalf("returning phone made customer %s, want %s", third.CustomerID, first.CustomerID)
	}
	counts := st.Count(t)
	want := map[string]int{"profile": 1, "submission": 3, "blind-index": 2, "form": 1, "config": 3, "data-key": 1} // config: identity secret, intake keys, link secret
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %s items, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
	p, err := st.Store.Profile(context.Background(), first.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 3 {
		t.Errorf("profile version %d, want 3", p.Version)
	}
	rec := read(t, st, "kehu-sales", first.CustomerID)
	if len(rec.Ledger) != 3 {
		t.Fatalf("ledger: %d entries", len(rec.Ledger))
	}
	f := fieldsOf(rec)
	// The same name, region and message each time: the value keeps pointing
	// to the submission it first came from.
	if p.General["region"] != "华东" || f["name"].SubmissionID != first.SubmissionID || text(f["name"].Value) != "张伟" {
		t.Errorf("name provenance: %+v", f["name"])
	}
	if src := f["name"]; src.Tier != "confidential" || src.Notice != "contact-v1" || src.FormID != "contact" || src.Channel != "web-form" ||
		src.ConfirmedAt.IsZero() || src.CollectedAt.IsZero() || len(src.Purposes) != 2 || src.Trust != customer.Asserted || src.Basis != consent.BasisConsent {
		t.Errorf("name provenance incomplete: %+v", src)
	}
	if len(rec.Identifiers) != 2 {
		t.Fatalf("identifiers: %+v", rec.Identifiers)
	}
	for _, x := range rec.Identifiers {
		if !x.Indexed || x.Verified || !x.Confirmable || x.SubmissionID != first.SubmissionID {
			t.Errorf("identifier of a new customer: %+v", x)
		}
	}
	if e := rec.Ledger[0]; e.Proof == "" || e.Action != consent.Granted || !e.NewCustomer || len(e.Fields) == 0 {
		t.Errorf("first ledger entry: %+v", e)
	}
	if !p.Consent[consent.Contact].Granted || p.Consent[consent.Marketing].Granted {
		t.Errorf("consent state wrong: %+v", p.Consent)
	}
}

func read(t *testing.T, st *stacktest.Stack, principal, id string) *record.Record {
	t.Helper()
	r := st.Reader(t, principal)
	rec, err := r.Read(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func fieldsOf(rec *record.Record) map[string]record.Field {
	out := map[string]record.Field{}
	for _, f := range rec.Fields {
		out[f.Field] = f
	}
	return out
}

func identifiersOf(rec *record.Record, kind customer.IdentityKind) []string {
	var out []string
	for _, x := range rec.Identifiers {
		if x.Kind == kind {
			out = append(out, text(x.Value))
		}
	}
	slices.Sort(out)
	return out
}

func text(v record.Value) string {
	if v.Text == nil {
		return "(" + v.Unreadable + ")"
	}
	return *v.Text
}

// A data key is stored once, in an item of its own, however many values
// and submissions it seals: not beside every value.
func TestDataKeysStoredOnce(t *testing.T) {
	st := stacktest.New(t)
	svc, sealer := st.Intake(t)
	email := stacktest.Unique("keys") + "@example.com"
	first, err := submit(t, svc, contactSub("K", email, "13600136000"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := submit(t, svc, contactSub(fmt.Sprint("K", i), email, "")); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Count(t)["data-key"]; n != 1 {
		t.Fatalf("%d data-key items for one data key", n)
	}
	sealer.MaxUses = 1 // every value now gets a fresh data key
	if _, err := submit(t, svc, contactSub("K9", email, "")); err != nil {
		t.Fatal(err)
	}
	// name, email and message (region and industry are general): 3 new keys.
	if n := st.Count(t)["data-key"]; n != 4 {
		t.Fatalf("%d data-key items, want 4", n)
	}
	rec := read(t, st, "kehu-sales", first.CustomerID)
	for _, f := range rec.Fields {
		if f.Value.Text == nil {
			t.Errorf("%s does not open: %s", f.Field, f.Unreadable)
		}
	}
}

// The raw table holds none of the submitted personal values in plaintext:
// not in attributes, not in keys, not in the consent proof.
func TestNoPlaintextInTable(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	name := "Plain " + stacktest.Unique("Name")
	email := strings.ToLower(stacktest.Unique("secret")) + "@example.org"
	sub := contactSub(name, email, "13900139000")
	sub.Fields["company"] = []string{stacktest.Unique("SecretCo")}
	if _, err := submit(t, svc, sub); err != nil {
		t.Fatal(err)
	}
	needles := []string{name, email, "13900139000", "+8613900139000", sub.Fields["company"][0], sub.Fields["message"][0], "203.0.113.7", "Mozilla/5.0 test"}
	items := st.Scan(t)
	if len(items) < 5 {
		t.Fatalf("only %d items in the table", len(items))
	}
	for _, it := range items {
		dump := stacktest.Dump(it)
		for _, n := range needles {
			if bytes.Contains(dump, []byte(n)) {
				t.Errorf("plaintext %q found in item %s", n, it["pk"].(*types.AttributeValueMemberS).Value)
			}
		}
	}
	// General fields stay plain so segments can use them.
	found := false
	for _, it := range items {
		if bytes.Contains(stacktest.Dump(it), []byte("manufacturing")) {
			found = true
		}
	}
	if !found {
		t.Error("the general field industry is not stored in plain form")
	}
}

// Readers decrypt what intake sealed; a ciphertext copied to another
// customer, submission or field does not open; intake itself may not decrypt.
func TestCiphertextBinding(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	emailA := stacktest.Unique("alice") + "@example.com"
	a, err := submit(t, svc, contactSub("Alice "+stacktest.Unique("a"), emailA, ""))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := submit(t, svc, contactSub("Alice Again", emailA, ""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := submit(t, svc, contactSub("Bob "+stacktest.Unique("b"), stacktest.Unique("bob")+"@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.Store.Entry(ctx, a.CustomerID, a.SubmissionID)
	if err != nil {
		t.Fatal(err)
	}
	blob := e.Sealed["name"]
	_, ref, _, _, _ := envelope.Parse(blob)
	keys, err := st.Store.DataKeys(ctx, []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	sales := envelope.NewOpener(config.KMS(st.AWS(t, "kehu-sales")))
	aad := func(cust, sub, field string) envelope.AAD {
		return envelope.AAD{Table: st.Table, Customer: cust, Attribute: store.ValueAttribute(sub, field), Tier: customer.Confidential}
	}
	got, err := sales.Open(ctx, aad(a.CustomerID, a.SubmissionID, "name"), blob, keys)
	if err != nil || !strings.HasPrefix(string(got), "Alice ") {
		t.Fatalf("sales cannot read the name: %q, %v", got, err)
	}
	cases := []struct {
		name string
		aad  envelope.AAD
	}{
		{"copied to another customer", aad(b.CustomerID, a.SubmissionID, "name")},
		{"copied to another submission of the same customer", aad(a.CustomerID, a2.SubmissionID, "name")},
		{"copied to another field", aad(a.CustomerID, a.SubmissionID, "message")},
		{"read as another tier", envelope.AAD{Table: st.Table, Customer: a.CustomerID, Attribute: store.ValueAttribute(a.SubmissionID, "name"), Tier: customer.Restricted}},
		{"read under another table", envelope.AAD{Table: st.Table + "-other", Customer: a.CustomerID, Attribute: store.ValueAttribute(a.SubmissionID, "name"), Tier: customer.Confidential}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sales.Open(ctx, tc.aad, blob, keys); err == nil {
				t.Fatal("a moved ciphertext opened")
			}
		})
	}
	t.Run("intake credentials are refused Decrypt", func(t *testing.T) {
		in := envelope.NewOpener(config.KMS(st.AWS(t, "kehu-intake")))
		_, err := in.Open(ctx, aad(a.CustomerID, a.SubmissionID, "name"), blob, keys)
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" || !errors.Is(err, envelope.ErrDenied) {
			t.Fatalf("intake decrypt: %v, want AccessDeniedException", err)
		}
	})
	t.Run("sales is refused the restricted tier", func(t *testing.T) {
		k := config.KMS(st.AWS(t, "kehu-intake"))
		dk, err := k.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/kehu-restricted"), KeySpec: "AES_256",
			EncryptionContext: envelope.Context(st.Table, customer.Restricted)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = config.KMS(st.AWS(t, "kehu-sales")).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob,
			EncryptionContext: envelope.Context(st.Table, customer.Restricted)})
		if !errors.Is(envelope.Classify(err), envelope.ErrDenied) {
			t.Fatalf("sales decrypt of restricted: %v", err)
		}
	})
}

func TestIdempotency(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	sub := contactSub("Idem "+stacktest.Unique("i"), stacktest.Unique("idem")+"@example.com", "")
	sub.IdempotencyKey = stacktest.Unique("key")
	first, err := submit(t, svc, sub)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Count(t)
	again, err := submit(t, svc, sub)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.SubmissionID != first.SubmissionID || again.CustomerID != "" {
		t.Fatalf("retry answered %+v, want a replay of %+v", again, first)
	}
	if after := st.Count(t); !equalCounts(before, after) {
		t.Fatalf("a replay wrote: before %v, after %v", before, after)
	}

	changed := sub
	changed.Fields = map[string][]string{"name": {"Someone else"}, "email": sub.Fields["email"]}
	if _, err := submit(t, svc, changed); !errors.Is(err, intake.ErrIdempotencyMismatch) {
		t.Fatalf("same key, other body: %v, want ErrIdempotencyMismatch", err)
	}

	t.Run("in flight", func(t *testing.T) {
		inflight := contactSub("Flight "+stacktest.Unique("f"), stacktest.Unique("flight")+"@example.com", "")
		inflight.IdempotencyKey = stacktest.Unique("key")
		// Another instance holds the key: simulate with a slow sealer that
		// lets a second request arrive while the first is working.
		slow, _ := st.Intake(t)
		gate := make(chan struct{})
		release := make(chan struct{})
		slow.Sealer = gatedSealer{inner: slow.Sealer, gate: gate, release: release}
		done := make(chan error, 1)
		go func() { _, err := submit(t, slow, inflight); done <- err }()
		<-gate
		if _, err := submit(t, svc, inflight); !errors.Is(err, intake.ErrInFlight) {
			t.Errorf("while in flight: %v, want ErrInFlight", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r, err := submit(t, svc, inflight)
		if err != nil || !r.Replayed {
			t.Fatalf("after completion: %+v, %v; want a replay", r, err)
		}
	})

	t.Run("expired key is new again", func(t *testing.T) {
		later, _ := st.Intake(t)
		later.Now = func() time.Time { return time.Now().Add(25 * time.Hour) } // past Keep, before TTL deletion
		r, err := submit(t, later, changed)
		if err != nil || r.Replayed || r.SubmissionID == first.SubmissionID {
			t.Fatalf("an expired key: %+v, %v; want a new submission", r, err)
		}
	})

	t.Run("form's own submission id", func(t *testing.T) {
		s := contactSub("Field "+stacktest.Unique("f"), stacktest.Unique("field")+"@example.com", "")
		s.Fields["form_submission_id"] = []string{stacktest.Unique("sid")}
		a, err := submit(t, svc, s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := submit(t, svc, s)
		if err != nil || !b.Replayed || b.SubmissionID != a.SubmissionID {
			t.Fatalf("resubmitted form id: %+v, %v", b, err)
		}
	})
}

type gatedSealer struct {
	inner   intake.Sealer
	gate    chan struct{}
	release chan struct{}
}

func (g gatedSealer) Seal(ctx context.Context, aad envelope.AAD, p []byte) (envelope.Sealed, error) {
	select {
	case g.gate <- struct{}{}:
		<-g.release
	default:
	}
	return g.inner.Seal(ctx, aad, p)
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Rejected submissions store nothing at all.
func TestRejectionsStoreNothing(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	base := st.Count(t)
	email := stacktest.Unique("rej") + "@example.com"
	cases := []struct {
		name string
		mod  func(*intake.Submission)
		want error
	}{
		{"missing required consent", func(s *intake.Submission) { s.Consent.Purposes = []consent.Purpose{consent.Contact} }, consent.ErrMissing},
		{"no consent at all", func(s *intake.Submission) { s.Consent = consent.Grant{} }, consent.ErrMissing},
		{"notice not accepted", func(s *intake.Submission) { s.Consent.Notice = "contact-v0" }, consent.ErrInvalid},
		{"purpose not offered", func(s *intake.Submission) { s.Consent.Purposes = append(s.Consent.Purposes, consent.Profiling) }, consent.ErrInvalid},
		{"bad email", func(s *intake.Submission) { s.Fields["email"] = []string{"not-an-email"} }, nil},
		{"unknown field", func(s *intake.Submission) { s.Fields["national_id"] = []string{"110101199003077777"} }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := contactSub("Rejected", email, "")
			s.IdempotencyKey = stacktest.Unique("k")
			tc.mod(&s)
			_, err := submit(t, svc, s)
			var verr *intake.ValidationError
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err %v, want %v", err, tc.want)
			case tc.want == nil && !errors.As(err, &verr):
				t.Fatalf("err %v, want a validation error", err)
			}
			if got := st.Count(t); !equalCounts(base, got) {
				t.Fatalf("a rejected submission wrote: %v → %v", base, got)
			}
		})
	}
	t.Run("honeypot", func(t *testing.T) {
		s := contactSub("Bot", email, "")
		s.Fields["website"] = []string{"http://spam.example"}
		r, err := submit(t, svc, s)
		if err != nil || !r.Honeypot || r.SubmissionID == "" {
			t.Fatalf("honeypot: %+v, %v", r, err)
		}
		if got := st.Count(t); !equalCounts(base, got) {
			t.Fatalf("a honeypot hit wrote: %v → %v", base, got)
		}
	})
}

// faultyDB fails TransactWriteItems as a throttled DynamoDB would.
type faultyDB struct {
	store.DB
}

func (f faultyDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate of requests exceeds the allowed throughput."}
}

// A failing dependency leaves nothing written, not even the idempotency
// record, so the client's retry goes through.
func TestDependencyFailuresWriteNothing(t *testing.T) {
	st := stacktest.New(t)
	base := st.Count(t)
	ctx := context.Background()

	t.Run("KMS unreachable", func(t *testing.T) {
		svc, _ := st.Intake(t)
		dead := config.KMS(st.AWS(t, "kehu-intake"))
		deadKMS := kms.New(dead.Options(), func(o *kms.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") })
		svc.Sealer = envelope.NewSealer(deadKMS, st.Table, map[customer.Tier]string{customer.Confidential: "alias/kehu-confidential"})
		s := contactSub("Down", stacktest.Unique("down")+"@example.com", "")
		s.IdempotencyKey = stacktest.Unique("k")
		_, err := submit(t, svc, s)
		if !errors.Is(err, envelope.ErrUnavailable) {
			t.Fatalf("err %v, want envelope.ErrUnavailable", err)
		}
		if got := st.Count(t); !equalCounts(base, got) {
			t.Fatalf("KMS failure left items: %v → %v", base, got)
		}
	})
	t.Run("DynamoDB throttles the commit", func(t *testing.T) {
		svc, _ := st.Intake(t)
		svc.Store = store.New(faultyDB{DB: st.DB}, st.Table)
		s := contactSub("Throttled", stacktest.Unique("thr")+"@example.com", "")
		s.IdempotencyKey = stacktest.Unique("k")
		_, err := submit(t, svc, s)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("err %v, want store.ErrUnavailable", err)
		}
		if got := st.Count(t); !equalCounts(base, got) {
			t.Fatalf("a failed commit left items: %v → %v", base, got)
		}
		// The retry against a healthy table goes through with the same key.
		healthy, _ := st.Intake(t)
		if _, err := healthy.Submit(ctx, mustForm(t, healthy), s); err != nil {
			t.Fatalf("retry after failure: %v", err)
		}
	})
}

func mustForm(t *testing.T, svc *intake.Service) *form.Definition {
	t.Helper()
	def, err := svc.Form(context.Background(), "contact")
	if err != nil {
		t.Fatal(err)
	}
	return def
}

// Two existing customers matched by one submission are not merged, and
// neither changes: the submission becomes a customer of its own, and the
// question goes to review.
func TestIdentityConflictRecorded(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ea := stacktest.Unique("ca") + "@example.com"
	a, err := submit(t, svc, contactSub("A", ea, ""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := submit(t, svc, contactSub("B", "", "13700137000"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := submit(t, svc, contactSub("A or B", ea, "13700137000"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CustomerID == a.CustomerID || c.CustomerID == b.CustomerID || !c.NewCustomer || c.Review != store.ReviewIdentity {
		t.Fatalf("conflicting submission: %+v; want a customer of its own, reviewed", c)
	}
	for _, x := range []intake.Result{a, b} {
		if p, _ := st.Store.Profile(context.Background(), x.CustomerID); p.Version != 1 {
			t.Errorf("customer %s changed (version %d)", x.CustomerID, p.Version)
		}
	}
	reviews, err := st.Store.Reviews(context.Background())
	if err != nil || len(reviews) != 1 || reviews[0].CustomerID != c.CustomerID || reviews[0].SubmissionID != c.SubmissionID ||
		!slices.Equal(reviews[0].AlsoMatched, []string{a.CustomerID, b.CustomerID}) {
		t.Fatalf("review queue: %+v, %v", reviews, err)
	}
	// The index still points where it did, and the new customer holds the
	// identifiers for the record only.
	if ix := lookupPhone(t, st, svc, "+8613700137000"); ix != b.CustomerID {
		t.Fatalf("phone index re-pointed to %s", ix)
	}
	rec := read(t, st, "kehu-sales", c.CustomerID)
	for _, x := range rec.Identifiers {
		if x.Indexed || x.Confirmable || x.Verified {
			t.Errorf("an identifier held by another customer: %+v", x)
		}
	}
}

func lookupPhone(t *testing.T, st *stacktest.Stack, svc *intake.Service, e164 string) string {
	t.Helper()
	ref := store.IndexRef{Kind: customer.IdentityPhone, Hash: svc.Index.Identity(customer.IdentityPhone, e164)}
	found, err := st.Store.Lookup(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return found[ref]
}

// A returning customer's update costs 2 write units for the profile and 2
// for the ledger entry only while each stays within 1 KB: a demo-form
// submission must fit. The wrapped data keys (about 184 bytes each from
// AWS KMS) are in data-key items, not in either.
func TestItemsFitOneKilobyte(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	sub := contactSub("欧阳娜娜", stacktest.Unique("size")+"@example.com", "13512345678")
	sub.Fields["company"] = []string{"上海某某精密机械制造有限公司"}
	sub.Consent.Purposes = append(sub.Consent.Purposes, consent.Marketing)
	res, err := submit(t, svc, sub)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, it := range st.Scan(t) {
		if it["pk"].(*types.AttributeValueMemberS).Value != "CUST#"+res.CustomerID {
			continue
		}
		e := it["entity"].(*types.AttributeValueMemberS).Value
		size := store.ItemSize(it)
		if size > 1024 {
			t.Errorf("%s item is %d bytes; over 1 KB every write costs double", e, size)
		}
		seen[e] = true
		t.Logf("%s: %d bytes", e, size)
	}
	if !seen["profile"] || !seen["submission"] {
		t.Fatalf("items not found: %v", seen)
	}
}

func putKidsForm(t *testing.T, st *stacktest.Stack) {
	t.Helper()
	doc := []byte(`{"id":"kids-club","fields":[{"name":"name","required":true},{"name":"birthday"},{"name":"email"},{"name":"region"}],
	"consent":{"required":["processing"],"optional":["guardian","sensitive"],"notices":["kids-v1"]}}`)
	def, err := form.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.PutForm(context.Background(), def, doc, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func childBirthday() string { return time.Now().AddDate(-10, 0, 0).Format(time.DateOnly) }

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A child's data (under 14) needs a guardian's consent and the separate
// sensitive consent, and every field of it is stored as restricted.
func TestChildData(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	putKidsForm(t, st)
	birthday := childBirthday()
	sub := intake.Submission{
		Fields:  map[string][]string{"name": {"小明"}, "birthday": {birthday}, "email": {stacktest.Unique("kid") + "@example.com"}, "region": {"华南"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "kids-v1"}}
	before := st.Count(t)
	_, err := submitTo(t, svc, "kids-club", sub)
	var cerr *consent.Error
	if !errors.As(err, &cerr) || !slices.Equal(cerr.Missing, []consent.Purpose{consent.Guardian, consent.Sensitive}) {
		t.Fatalf("child without guardian consent: %v", err)
	}
	if after := st.Count(t); !equalCounts(before, after) {
		t.Fatalf("stored: %v → %v", before, after)
	}
	sub.Consent.Purposes = []consent.Purpose{consent.Processing, consent.Guardian, consent.Sensitive}
	res, err := submitTo(t, svc, "kids-club", sub)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Store.Profile(ctx, res.CustomerID)
	if p.AgeBand != customer.AgeBandChild || len(p.General) != 0 {
		t.Errorf("a child's profile: age band %q, plain values %v", p.AgeBand, p.General)
	}
	e, _ := st.Store.Entry(ctx, res.CustomerID, res.SubmissionID)
	for _, f := range []string{"name", "birthday", "email", "region"} {
		if tier, _, _, _, _ := envelope.Parse(e.Sealed[f]); tier != customer.Restricted {
			t.Errorf("%s stored as %q, want restricted", f, tier)
		}
	}
	if len(e.Plain) != 0 {
		t.Errorf("a child's general fields stored in plain: %v", e.Plain)
	}
	rec := read(t, st, "kehu-sales", res.CustomerID)
	for _, f := range rec.Fields {
		if f.Value.Text != nil {
			t.Errorf("sales reads a child's %s", f.Field)
		}
	}
	for _, x := range rec.Identifiers {
		if x.Value.Text != nil {
			t.Errorf("sales reads a child's %s", x.Kind)
		}
	}
}

// Simultaneous first submissions of one person make one customer: the
// blind-index entries are created under a condition, and the losers of the
// race read again and attach to the winner.
func TestConcurrentFirstSubmissions(t *testing.T) {
	st := stacktest.New(t)
	email := stacktest.Unique("race") + "@example.com"
	const n = 3
	ids := make(chan string, n)
	errs := make(chan error, n)
	var start sync.WaitGroup
	start.Add(1)
	for i := 0; i < n; i++ {
		svc, _ := st.Intake(t) // one warm function each, as concurrent Lambdas are
		go func() {
			start.Wait()
			r, err := submit(t, svc, contactSub(fmt.Sprint("Racer ", i), email, "13912345678"))
			errs <- err
			ids <- r.CustomerID
		}()
	}
	start.Done()
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen[<-ids] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d customers made for one person: %v", len(seen), seen)
	}
	if c := st.Count(t); c["profile"] != 1 || c["submission"] != n || c["blind-index"] != 2 || c["review"] != 0 {
		t.Fatalf("items: %v", c)
	}
}
