package record_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

// A copy names every tier it could not open, whatever the reason (here a
// damaged ciphertext, not a denial), and only the tier.
func TestExportNamesEveryUnopenedTier(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Du Fu"}, "email": {stacktest.Unique("un") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.Store.Entry(ctx, res.CustomerID, res.SubmissionID)
	if err != nil {
		t.Fatal(err)
	}
	blob := slices.Clone(e.Sealed["name"])
	blob[len(blob)-1] ^= 0xff
	if _, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.Table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CUST#" + res.CustomerID},
			"sk": &types.AttributeValueMemberS{Value: store.LedgerPrefix + res.SubmissionID}},
		UpdateExpression: aws.String("SET #v.#f = :b"), ExpressionAttributeNames: map[string]string{"#v": "values", "#f": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": &types.AttributeValueMemberB{Value: blob}}}); err != nil {
		t.Fatal(err)
	}
	x, err := st.Reader(t, "kehu-compliance").Export(ctx, res.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Unreadable, []string{"confidential"}) {
		t.Fatalf("a damaged value's tier is not reported: unreadable %v", x.Unreadable)
	}
	for _, f := range x.Record.Fields {
		if f.Field == "name" && (f.Value.Text != nil || f.Value.Unreadable == "") {
			t.Fatalf("the damaged name: %+v", f)
		}
	}
}

// The person's own copy discloses no one else (GDPR Art. 15(4)): not the
// phone another customer holds (kept on this one unindexed), not that
// customer's id, not an operator's ARN, not what a stranger's anonymous
// post brought; the operator's export still has all of it.
func TestSubjectCopyLeavesOthersOut(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	post := func(fields map[string][]string) intake.Result {
		t.Helper()
		res, err := svc.Submit(ctx, def, intake.Submission{Fields: fields,
			Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact}, Notice: "contact-v1"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	const othersPhone, ownPhone = "+86 139 8765 4321", "+86 138 2222 3333"
	email := stacktest.Unique("subject") + "@example.com"
	other := post(map[string][]string{"name": {"Other Person"}, "email": {stacktest.Unique("other") + "@example.com"}, "phone": {othersPhone}})
	// The person, with the other customer's phone (a typo, say): a customer
	// of their own, that phone kept on them unindexed, a review naming the other.
	res := post(map[string][]string{"name": {"Sun Li"}, "email": {email}, "phone": {othersPhone}, "message": {"hello from Sun"}})
	id := res.CustomerID
	p, _ := st.Store.Profile(ctx, id)
	if id == other.CustomerID || res.Review != store.ReviewIdentity || len(p.IDs) != 2 {
		t.Fatalf("setup: %+v %+v", res, p.IDs)
	}
	k := p.IdentifiersOf("email")[0]
	st.MarkVerified(t, id, k)
	// The person again (their verified address), with their own phone; then
	// an anonymous post with that phone only: a stranger's name and message.
	if r := post(map[string][]string{"name": {"Sun Li"}, "email": {email}, "phone": {ownPhone}}); r.CustomerID != id {
		t.Fatalf("the person's second post went to %s", r.CustomerID)
	}
	if r := post(map[string][]string{"name": {"Stranger Qian"}, "phone": {ownPhone}, "message": {"stranger message 7731"}}); r.CustomerID != id {
		t.Fatalf("the anonymous post went to %s", r.CustomerID)
	}
	const arn = "arn:aws:sts::123456789012:assumed-role/KehuCompliance/wang.operator"
	if err := st.Store.Withdraw(ctx, store.Withdrawal{CustomerID: id, EntryID: uuid.Must(uuid.NewV7()).String(), Purposes: []consent.Purpose{consent.Contact},
		Channel: "operator-phone", Trust: customer.Trusted, Actor: arn, At: time.Now()}); err != nil {
		t.Fatal(err)
	}

	x, err := st.Reader(t, "kehu-compliance").Export(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	others := []string{"87654321", other.CustomerID, arn, "wang.operator", "123456789012", "Stranger Qian", "stranger message 7731"}
	operators, _ := json.Marshal(x)
	for _, v := range others {
		if !strings.Contains(string(operators), v) {
			t.Errorf("the operator's export lacks %q", v)
		}
	}
	y := x.ForSubject()
	own, _ := json.Marshal(y)
	page, err := privacy.HTML(y)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range others {
		if strings.Contains(string(own), v) || strings.Contains(page, v) {
			t.Errorf("the person's own copy holds %q", v)
		}
	}
	for _, v := range []string{"Sun Li", email, "22223333", "hello from Sun", record.Withheld} {
		if !strings.Contains(string(own), v) || !strings.Contains(page, v) {
			t.Errorf("the person's own copy lacks %q", v)
		}
	}
	if !strings.Contains(string(own), `"actor": "KehuCompliance"`) && !strings.Contains(string(own), `"actor":"KehuCompliance"`) {
		t.Error("the own copy's ledger does not name the operator's role")
	}
	if y.Withheld == "" || len(y.Record.Identifiers) != 2 {
		t.Errorf("own copy: note %q, identifiers %+v", y.Withheld, y.Record.Identifiers)
	}
	if again, _ := json.Marshal(x); string(again) != string(operators) {
		t.Error("ForSubject changed the operator's export")
	}
}
