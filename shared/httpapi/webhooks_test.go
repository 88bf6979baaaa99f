package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

func slackEvent(t *testing.T, source, body string, at time.Time) events.APIGatewayV2HTTPRequest {
	ts := strconv.FormatInt(at.Unix(), 10)
	ev := events.APIGatewayV2HTTPRequest{Body: body, PathParameters: map[string]string{"sourceId": source},
		Headers: map[string]string{"content-type": "application/json", "x-slack-request-timestamp": ts,
			"x-slack-signature": "v0=" + hex.EncodeToString(sign256(slackSecret, "v0:"+ts+":"+body))}}
	ev.RequestContext.HTTP.Method = "POST"
	return ev
}

// A Slack message names the person by user id only; with an API token the
// source looks the user up (users.info, here a stand-in serving Slack's
// documented answer) and the profile gets the email. Without a token the
// profile carries the Slack identity alone, and a later form post naming
// an email is another customer: identities are never merged by guess.
func TestSlackLookupThroughStandIn(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	email := strings.ToLower(stacktest.Unique("egon")) + "@ghostbusters.example.com"
	var sawToken string
	standIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken = r.Header.Get("Authorization")
		if r.URL.Path != "/api/users.info" || r.URL.Query().Get("user") != "U0LOOKUP1" {
			http.Error(w, "unexpected", 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"user":{"id":"U0LOOKUP1","team_id":"T0TEAM","name":"spengler","real_name":"Egon Spengler",
			"profile":{"real_name":"Egon Spengler","display_name":"spengler","email":"` + email + `","phone":""}}}`))
	}))
	defer standIn.Close()
	dir := t.TempDir()
	doc := `{"id":"slack-lookup","provider":"slack","kind":"chat","basis":"service-request","notice":"chat-v1",
		"secrets":["` + slackSecret + `"],"api_token":"xoxb-local-test-token"}`
	if err := writeFile(dir+"/s.json", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutSourceFiles(ctx, st.Store, config.KMS(st.AWS(t, "kehu-admin")), stacktest.SecretsKey, dir); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	h.Directory = &webhook.Directory{SlackBaseURL: standIn.URL}
	msg := `{"type":"event_callback","team_id":"T0TEAM","event_id":"Ev0LOOKUP1","event":{"type":"message","channel":"D0DMLOOKUP1","user":"U0LOOKUP1","text":"Who you gonna call?","ts":"1795428930.000100"}}`
	resp, err := h.Handle(ctx, slackEvent(t, "slack-lookup", msg, now))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "accepted") {
		t.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
	}
	if sawToken != "Bearer xoxb-local-test-token" {
		t.Fatalf("the stand-in saw Authorization %q", sawToken)
	}
	// Find the customer by the email the lookup brought.
	as := func(principal string) *record.Reader {
		return st.Reader(t, principal)
	}
	reviews, _ := st.Store.Reviews(ctx)
	if len(reviews) != 0 {
		t.Fatalf("reviews %v", reviews)
	}
	var id string
	for _, it := range st.Scan(t) {
		if e, ok := it["entity"].(*types.AttributeValueMemberS); ok && e.Value == "profile" {
			id = strings.TrimPrefix(dumpPK(it), "CUST#")
		}
	}
	rec, err := as("kehu-sales").Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[customer.IdentityKind]string{}
	for _, x := range rec.Identifiers {
		if x.Text != nil {
			kinds[x.Kind] = *x.Text
		}
	}
	if kinds[customer.IdentityEmail] != email || kinds[customer.IdentitySlack] != "T0TEAM:U0LOOKUP1" {
		t.Fatalf("identifiers %v", kinds)
	}
	if len(rec.Interactions) != 1 || rec.Interactions[0].Text == nil || *rec.Interactions[0].Text != "Who you gonna call?" {
		t.Fatalf("interactions %+v", rec.Interactions)
	}
	// Neither the user id nor the direct-message channel is kept plain.
	for _, needle := range []string{"U0LOOKUP1", "D0DMLOOKUP1"} {
		if strings.Contains(dumpString(st.Scan(t)), needle) {
			t.Fatalf("%s is in the table in plaintext", needle)
		}
	}
	if c := rec.Interactions[0].Conversation; c == "" || strings.Contains(c, "D0DM") {
		t.Fatalf("conversation label %q", c)
	}
}

// Replays are answered as duplicates and write nothing: a Zendesk
// delivery again under another (unsigned) invocation id or re-signed at a
// new time, an Intercom notification again; an Intercom notification
// older than its delivery mark is refused.
func TestWebhookReplays(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	var now time.Time
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	send := func(ev events.APIGatewayV2HTTPRequest, status int, want string) {
		t.Helper()
		before := st.Count(t)
		resp, err := h.Handle(ctx, ev)
		if err != nil || resp.StatusCode != status || !strings.Contains(resp.Body, want) {
			t.Fatalf("%d %s %v, want %d %s", resp.StatusCode, resp.Body, err, status, want)
		}
		if after := st.Count(t); want != "accepted" && !reflect.DeepEqual(before, after) {
			t.Fatalf("a %s wrote: %v → %v", want, before, after)
		}
	}
	now = signedAt.Add(time.Minute)
	zendesk := loadEvent(t, "../../events/webhook-intake/zendesk-ticket.json")
	send(zendesk, 200, "accepted")
	zendesk.Headers["x-zendesk-webhook-invocation-id"] = "9999999999"
	send(zendesk, 200, "duplicate")
	later := signedAt.Add(2 * time.Minute).Format(time.RFC3339)
	zendesk.Headers["x-zendesk-webhook-signature-timestamp"] = later
	zendesk.Headers["x-zendesk-webhook-signature"] = base64.StdEncoding.EncodeToString(sign256(zendeskSecret, later+zendesk.Body))
	send(zendesk, 200, "duplicate")

	intercom := loadEvent(t, "../../events/webhook-intake/intercom-conversation.json")
	now = time.Unix(1718000061, 0)
	send(intercom, 200, "accepted")
	send(intercom, 200, "duplicate")
	now = now.Add(webhook.IntercomMaxAge)
	send(intercom, 401, "signature-invalid")
	if webhook.IntercomMaxAge >= store.KeepDelivery {
		t.Fatalf("Intercom notifications are taken for %v, their delivery marks kept for %v", webhook.IntercomMaxAge, store.KeepDelivery)
	}
}

// A body over the limit is refused before any verification work.
func TestWebhookBodyTooLarge(t *testing.T) {
	st := stacktest.New(t)
	h, _ := st.Webhook(t, nil, time.Now)
	h.MaxBody = 1024
	ev := slackEvent(t, "slack-connect", strings.Repeat("x", 2048), time.Now())
	resp, err := h.Handle(context.Background(), ev)
	if err != nil || resp.StatusCode != 413 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

func dumpString(v any) string { return fmt.Sprint(v) }

func dumpPK(it map[string]types.AttributeValue) string {
	if pk, ok := it["pk"].(*types.AttributeValueMemberS); ok {
		return pk.Value
	}
	return ""
}
