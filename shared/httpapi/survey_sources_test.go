package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// A survey tool's response lands as an asserted submission on channel
// survey, with the purposes its consent questions granted and nothing
// else; one without the required consent keeps nothing personal; a tool
// API that refuses answers 503 and writes nothing.
func TestSurveySources(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	now := signedAt.Add(time.Minute)
	h, svc := st.Webhook(t, nil, func() time.Time { return now })
	api, _ := stacktest.SurveyAPI(t)
	h.Directory = &webhook.Directory{SurveyAPIBaseURL: api}
	send := func(name string) string {
		t.Helper()
		resp, err := h.Handle(ctx, loadEvent(t, "../../events/webhook-intake/"+name))
		if err != nil {
			t.Fatal(err)
		}
		return resp.Body
	}
	customerOf := func(email string) *store.Profile {
		t.Helper()
		ref := store.IndexRef{Kind: customer.IdentityEmail, Hash: svc.Index.Identity(customer.IdentityEmail, email)}
		found, err := st.Store.Lookup(ctx, ref)
		if err != nil || found[ref] == "" {
			return nil
		}
		p, err := st.Store.Profile(ctx, found[ref])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	if body := send("typeform-response.json"); body != `{"status":"accepted"}` {
		t.Fatal(body)
	}
	p := customerOf("laura.chen@example.org")
	if p == nil || !p.Consent[consent.Processing].Granted || p.Consent[consent.Marketing].Granted || p.General["industry"] != "manufacturing" {
		t.Fatalf("typeform customer: %+v", p)
	}
	ledger, _ := st.Store.Ledger(ctx, p.CustomerID)
	if e := ledger[len(ledger)-1]; e.Channel != "survey" || e.FormID != "nps" || e.Trust != customer.Asserted || !slices.Equal(e.Purposes, []consent.Purpose{consent.Processing}) ||
		e.Notice != "survey-v1" || !slices.Equal(e.Fields(), []string{"company", "email", "industry", "name"}) {
		t.Fatalf("ledger entry %+v (fields %v)", e, e.Fields())
	}

	// Without the processing consent: acknowledged, nothing personal kept,
	// only the delivery mark with its reason.
	before := st.Count(t)
	if body := send("typeform-no-consent.json"); body != `{"status":"no-consent"}` {
		t.Fatal(body)
	}
	after := st.Count(t)
	if after["delivery"] != before["delivery"]+1 || after["profile"] != before["profile"] || after["quarantine"] != before["quarantine"] {
		t.Fatalf("items %v → %v", before, after)
	}
	var reasons []string
	for _, it := range st.Scan(t) {
		if r, ok := it["reason"].(*types.AttributeValueMemberS); ok {
			reasons = append(reasons, r.Value)
		}
	}
	if !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, "missing consent for processing") }) {
		t.Fatalf("no record of why: %v", reasons)
	}

	// Without consent nothing is kept, even when the response is unusable
	// otherwise (an invalid email, a yes/no mapped to a field), nor when it
	// is no response kehu can read at all.
	tf := testdata(t, "typeform-form-response.json")
	for name, body := range map[string]string{
		"invalid email": strings.Replace(strings.Replace(strings.Replace(tf, `"boolean": true`, `"boolean": false`, 1),
			"laura.chen@example.org", "not-an-email", 1), "a3a12ec67a1365927098a606107fac15", "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", 1),
		"partial": strings.Replace(strings.Replace(tf, `"form_response",`, `"form_response_partial",`, 1),
			"a3a12ec67a1365927098a606107fac15", "d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2", 1),
	} {
		before := st.Count(t)
		ev := webhookEvent("POST", "nps", map[string]string{"content-type": "application/json",
			"typeform-signature": webhook.TypeformSign([]byte(typeformSecret), []byte(body))}, nil, body)
		resp, err := h.Handle(ctx, ev)
		if err != nil || resp.StatusCode != 200 || (resp.Body != `{"status":"no-consent"}` && resp.Body != `{"status":"unreadable"}`) {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		after := st.Count(t)
		if after["quarantine"] != before["quarantine"] || after["submission"] != before["submission"] || after["delivery"] != before["delivery"]+1 {
			t.Fatalf("%s kept something: %v → %v", name, before, after)
		}
	}

	// SurveyMonkey: fetched, mapped; "No" to contact grants nothing.
	if body := send("surveymonkey-completed.json"); body != `{"status":"accepted"}` {
		t.Fatal(body)
	}
	p = customerOf("ming.li@example.com")
	if p == nil || p.General["region"] != "华南" || !p.Consent[consent.Processing].Granted || p.Consent[consent.Contact].Granted {
		t.Fatalf("surveymonkey customer: %+v", p)
	}

	// The tool's API refusing the token: 503, nothing written, retried.
	if _, err := st.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.Table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "WHK#" + svc.Index.Request("delivery\x00qx-survey\x00response:R_1dGCs8XYAyxmm3P")},
		"sk": &types.AttributeValueMemberS{Value: "WHK"}}}); err != nil {
		t.Fatal(err)
	}
	h.Directory = &webhook.Directory{SurveyAPIBaseURL: "http://127.0.0.1:1"} // nothing listens: the tool's API is down
	before = st.Count(t)
	resp, err := h.Handle(ctx, loadEvent(t, "../../events/webhook-intake/qualtrics-completed.json"))
	if err != nil || resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
		t.Fatalf("a failing tool API: %d %s", resp.StatusCode, resp.Body)
	}
	if after := st.Count(t); after["submission"] != before["submission"] || after["delivery"] != before["delivery"] {
		t.Fatalf("wrote on a failing tool API: %v → %v", before, after)
	}
	h.Directory = &webhook.Directory{SurveyAPIBaseURL: api}
	if body := send("qualtrics-completed.json"); body != `{"status":"accepted"}` {
		t.Fatalf("the retry after the outage: %s", body)
	}
	if p := customerOf("hui.wang@example.com"); p == nil || !p.Consent[consent.Marketing].Granted {
		t.Fatalf("qualtrics customer: %+v", p)
	}

	// A response the tool's API no longer has (404): asking again will not
	// help; the notification, ids only, is quarantined with the reason.
	gone := `{"event_type":"response_completed","event_datetime":"2026-11-23T10:14:52.123456+00:00","object_id":"5007154399","resources":{"survey_id":"405768925"}}`
	resp, err = h.Handle(ctx, webhookEvent("POST", "sm-feedback", map[string]string{"content-type": "application/json",
		"sm-signature": webhook.SurveyMonkeySign(smAPIKey, smAPISecret, []byte(gone))}, nil, gone))
	if err != nil || resp.Body != `{"status":"quarantined"}` {
		t.Fatalf("a response the API no longer has: %d %s", resp.StatusCode, resp.Body)
	}
}
