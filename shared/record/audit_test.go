package record_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

// noAudit is the table with every audit write failing.
type noAudit struct{ store.DB }

func (n noAudit) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if pk, ok := in.Item["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "AUDIT#") {
		return nil, errors.New("audit table unavailable")
	}
	return n.DB.PutItem(ctx, in, opts...)
}

// Every read that decrypts is audited — actor, fields, tiers, purpose —
// before anything is returned; a read whose audit write fails returns
// nothing; a read that decrypts nothing writes no record.
func TestEveryReadIsAudited(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Zhao Min"}, "email": {stacktest.Unique("au") + "@example.com"},
		"region": {"华北"}}, Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	r := st.Reader(t, "kehu-sales")
	r.Purpose = "complaint 4711"
	rec, err := r.Read(ctx, res.CustomerID)
	if err != nil || rec == nil {
		t.Fatal(err)
	}
	if _, err := r.History(ctx, res.CustomerID); err != nil {
		t.Fatal(err)
	}
	audit, err := st.Store.Audit(ctx, res.CustomerID)
	if err != nil || len(audit) != 2 {
		t.Fatalf("audit %+v %v", audit, err)
	}
	a := audit[0]
	if a.Actor != "local:kehu-sales" || a.Purpose != "complaint 4711" || a.Action != "show" || strings.Join(a.Tiers, ",") != "confidential" ||
		strings.Join(a.Fields, ",") != "email,name" || audit[1].Action != "history" {
		t.Fatalf("audit record %+v", a)
	}
	for _, v := range []string{"Zhao Min", "@example.com"} {
		if strings.Contains(strings.Join(append(a.Fields, a.Actor, a.Purpose), " "), v) {
			t.Fatalf("the audit holds a value: %+v", a)
		}
	}

	// The analyst decrypts nothing: no record.
	if _, err := st.Reader(t, "kehu-analyst").Read(ctx, res.CustomerID); err != nil {
		t.Fatal(err)
	}
	if audit, _ := st.Store.Audit(ctx, res.CustomerID); len(audit) != 2 {
		t.Fatalf("a read that decrypted nothing was audited: %d records", len(audit))
	}

	// The audit write fails: nothing is returned.
	broken := st.Reader(t, "kehu-compliance")
	broken.Store = store.New(noAudit{st.DB}, st.Table)
	if rec, err := broken.Read(ctx, res.CustomerID); rec != nil || err == nil {
		t.Fatalf("a read whose audit failed returned %+v (%v)", rec, err)
	}
	if rows, err := broken.History(ctx, res.CustomerID); rows != nil || err == nil {
		t.Fatalf("a history whose audit failed returned %d rows", len(rows))
	}
	// Nor may a reader read without saying who it is.
	anon := st.Reader(t, "kehu-sales")
	anon.Actor = ""
	if _, err := anon.Read(ctx, res.CustomerID); !errors.Is(err, record.ErrNoActor) {
		t.Fatalf("an anonymous read: %v", err)
	}
}

// A history that opened a field in two tiers (a value from before the
// customer turned out to be a child, and one after) names both tiers.
func TestAuditNamesEveryTierOpened(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	doc := []byte(`{"id":"kids-club","fields":[{"name":"name","required":true},{"name":"birthday"},{"name":"email"}],
	"consent":{"required":["processing"],"optional":["guardian","sensitive"],"notices":["kids-v1"]}}`)
	kids, err := form.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Store.PutForm(ctx, kids, doc, time.Now()); err != nil {
		t.Fatal(err)
	}
	contact, _ := svc.Form(ctx, "contact")
	email := stacktest.Unique("tiers") + "@example.com"
	first, err := svc.Submit(ctx, contact, intake.Submission{Fields: map[string][]string{"name": {"Qin Lan"}, "email": {email}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	kidsDef, _ := svc.Form(ctx, "kids-club")
	second, err := svc.Submit(ctx, kidsDef, intake.Submission{Fields: map[string][]string{"name": {"Qin Xiaolan"}, "email": {email},
		"birthday": {time.Now().AddDate(-10, 0, 0).Format(time.DateOnly)}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Guardian, consent.Sensitive}, Notice: "kids-v1"}})
	if err != nil || second.CustomerID != first.CustomerID {
		t.Fatalf("%+v %v", second, err)
	}
	if _, err := st.Reader(t, "kehu-compliance").History(ctx, first.CustomerID); err != nil {
		t.Fatal(err)
	}
	audit, err := st.Store.Audit(ctx, first.CustomerID)
	if err != nil || len(audit) != 1 {
		t.Fatalf("audit %+v %v", audit, err)
	}
	if got := strings.Join(audit[0].Tiers, ","); got != "confidential,restricted" || strings.Join(audit[0].Fields, ",") != "birthday,email,name" {
		t.Fatalf("the history's audit names tiers %q, fields %v; want confidential,restricted", got, audit[0].Fields)
	}
}

const ordersSecret = "whsec_b3JkZXJzLWxvY2FsLXRlc3Qtc2VjcmV0LTI0Yg=="

// quarantineOne quarantines an order (a currency kehu does not take) and
// returns its id.
func quarantineOne(t *testing.T, st *stacktest.Stack) string {
	t.Helper()
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	body := `{"type":"order.completed","data":{"order_id":"SO-AUDIT-1","customer":{"email":"` + stacktest.Unique("q") +
		`@example.com"},"amount":"12.00","currency":"USD","completed_at":"` + now.Add(-time.Hour).Format(time.RFC3339) + `"}}`
	resp, err := h.Handle(context.Background(), stacktest.StandardEvent(t, "shop-orders", ordersSecret, "msg_"+stacktest.Unique("audit"), body, now))
	if err != nil || !strings.Contains(resp.Body, "quarantined") {
		t.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
	}
	qs, err := st.Store.Quarantine(context.Background())
	if err != nil || len(qs) != 1 {
		t.Fatalf("quarantine %+v %v", qs, err)
	}
	return qs[0].ID
}

// An erasure's search of the quarantine decrypts other people's payloads:
// each one it opens is audited (AUDIT#quarantine, naming the payload).
// Opening a quarantined payload fails closed: without its audit record, or
// an actor, nothing is returned.
func TestQuarantineReadsAreAudited(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	qid := quarantineOne(t, st)
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Fang Yu"}, "email": {stacktest.Unique("er") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	e := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-compliance"))), Actor: "local:kehu-compliance"}
	if err := e.Erase(ctx, res.CustomerID, "test", "operator"); err != nil {
		t.Fatal(err)
	}
	if qs, _ := st.Store.Quarantine(ctx); len(qs) != 1 {
		t.Fatalf("the unrelated payload was dropped: %+v", qs)
	}
	audit, err := st.Store.Audit(ctx, store.QuarantineCustomer)
	if err != nil || len(audit) != 1 {
		t.Fatalf("the erasure's search of the quarantine: audit %+v %v", audit, err)
	}
	if a := audit[0]; a.Actor != "local:kehu-compliance" || a.Action != "erasure search" || !slices.Equal(a.Fields, []string{store.QuarantineAttribute(qid)}) ||
		!slices.Equal(a.Tiers, []string{"confidential"}) || !strings.Contains(a.Purpose, res.CustomerID) {
		t.Fatalf("audit record %+v", a)
	}

	// Opening one fails closed: no audit written, no payload; nor without an actor.
	q, err := st.Store.QuarantinedPayload(ctx, qid)
	if err != nil {
		t.Fatal(err)
	}
	opener := envelope.NewOpener(config.KMS(st.AWS(t, "kehu-compliance")))
	by := record.QuarantineRead{Actor: "local:kehu-compliance", Purpose: "ticket 12", Action: "quarantine show"}
	if pt, err := record.OpenQuarantined(ctx, store.New(noAudit{st.DB}, st.Table), opener, q, by); pt != nil || err == nil {
		t.Fatalf("an opening whose audit failed returned %d bytes (%v)", len(pt), err)
	}
	anon := by
	anon.Actor = ""
	if pt, err := record.OpenQuarantined(ctx, st.Store, opener, q, anon); pt != nil || !errors.Is(err, record.ErrNoActor) {
		t.Fatalf("an anonymous opening: %d bytes, %v", len(pt), err)
	}
	if pt, err := record.OpenQuarantined(ctx, st.Store, opener, q, by); err != nil || !strings.Contains(string(pt), "SO-AUDIT-1") {
		t.Fatalf("open: %q %v", pt, err)
	}
	if audit, _ := st.Store.Audit(ctx, store.QuarantineCustomer); len(audit) != 2 || audit[1].Action != "quarantine show" || audit[1].Purpose != "ticket 12" {
		t.Fatalf("audit after the openings: %+v", audit)
	}
}
