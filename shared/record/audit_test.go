package record_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/intake"
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
