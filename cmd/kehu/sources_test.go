package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/store"
)

func chat(email, text string) string {
	return `{"type":"message.created","timestamp":"2026-11-23T10:00:00Z","data":{"conversation_id":"c-1","customer":{"email":"` + email +
		`","name":"李雷"},"text":"` + text + `"}}`
}

// Rotation: every active secret is accepted until removed; a removed one
// is refused once the source is loaded again.
func TestSourceSecretRotation(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	as(t, st, "kehu-admin")
	out, errOut, code := kehu(t, st.Table, "sources", "list", "--json")
	var list []struct {
		ID       string `json:"id"`
		Provider string `json:"provider"`
		Secrets  int    `json:"secrets"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 9 { // one per local source (local/sources)
		t.Fatalf("sources list: %d %s %s %v", code, out, errOut, err)
	}
	const oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a-new-secret-of-32-bytes-length!"))
	stdin = strings.NewReader(newSecret + "\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if out, errOut, code := kehu(t, st.Table, "sources", "secret", "add", "web-chat"); code != 0 || !strings.Contains(out, "2 secrets") {
		t.Fatalf("secret add: %d %s %s", code, out, errOut)
	}
	if strings.Contains(out+errOut, newSecret) {
		t.Fatal("the CLI printed the secret")
	}
	now := time.Now()
	send := func(secret, id string) int {
		h, _ := st.Webhook(t, nil, func() time.Time { return now }) // a fresh function: sources loaded now
		resp, err := h.Handle(ctx, stacktest.StandardEvent(t, "web-chat", secret, id, chat(stacktest.Unique("rot")+"@example.com", "hi"), now))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if got := send(oldSecret, "msg_rot_1"); got != 200 {
		t.Fatalf("old secret during rotation: %d", got)
	}
	if got := send(newSecret, "msg_rot_2"); got != 200 {
		t.Fatalf("new secret: %d", got)
	}
	if _, _, code := kehu(t, st.Table, "sources", "secret", "remove", "web-chat", "1"); code != 0 {
		t.Fatal("secret remove failed")
	}
	if got := send(oldSecret, "msg_rot_3"); got != 401 {
		t.Fatalf("removed secret: %d, want 401", got)
	}
	if got := send(newSecret, "msg_rot_4"); got != 200 {
		t.Fatalf("new secret after removal: %d", got)
	}
	if _, _, code := kehu(t, st.Table, "sources", "secret", "remove", "web-chat", "1"); code == 0 {
		t.Fatal("removed the last secret")
	}
}

// An authentic payload the source's mapping cannot use is quarantined
// (acknowledged with 200), and replayed into a profile after the mapping
// is fixed; a replay is taken once.
func TestQuarantineAndReplay(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	dir := t.TempDir()
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	put := func(mapping string) {
		doc := `{"id":"mapped-chat","provider":"standard","kind":"chat","basis":"service-request","notice":"chat-v1","secrets":["` + secret + `"],"map":` + mapping + `}`
		if err := os.WriteFile(dir+"/s.json", []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		as(t, st, "kehu-admin")
		if out, errOut, code := kehu(t, st.Table, "sources", "put", dir+"/s.json"); code != 0 {
			t.Fatalf("sources put: %s %s", out, errOut)
		}
	}
	put(`{"data.customer.mail":"email","data.body":"text"}`) // the tool renamed its fields
	email := stacktest.Unique("q") + "@example.com"
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	resp, err := h.Handle(ctx, stacktest.StandardEvent(t, "mapped-chat", secret, "msg_q_1", chat(email, "我的订单在哪里"), now))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "quarantined") {
		t.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
	}
	// The same delivery again is a duplicate, not a second quarantine.
	resp, _ = h.Handle(ctx, stacktest.StandardEvent(t, "mapped-chat", secret, "msg_q_1", chat(email, "我的订单在哪里"), now))
	if !strings.Contains(resp.Body, "duplicate") {
		t.Fatalf("redelivery: %s", resp.Body)
	}
	as(t, st, "kehu-compliance")
	out, _, code := kehu(t, st.Table, "quarantine", "list", "--json")
	var qs []struct{ ID, Source, Provider, Reason string }
	if err := json.Unmarshal([]byte(out), &qs); code != 0 || err != nil || len(qs) != 1 || qs[0].Source != "mapped-chat" || qs[0].Reason == "" {
		t.Fatalf("quarantine list: %s %v", out, err)
	}
	if strings.Contains(out, email) {
		t.Fatal("the quarantine list shows a personal value")
	}
	if out, _, _ := kehu(t, st.Table, "quarantine", "show", qs[0].ID); !strings.Contains(out, email) {
		t.Fatalf("quarantine show does not decrypt the payload: %s", out)
	}
	// Every opening of the payload is audited (AUDIT#quarantine: it is no
	// customer's yet), naming the payload, before it is shown.
	opened := func(action string) int {
		t.Helper()
		audit, err := st.Store.Audit(ctx, store.QuarantineCustomer)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range audit {
			if a.Action == action && a.Actor == "local:LOCALCOMPLIANCE" && slices.Equal(a.Fields, []string{store.QuarantineAttribute(qs[0].ID)}) &&
				slices.Equal(a.Tiers, []string{"confidential"}) && a.Purpose == "operator: kehu "+action {
				n++
			}
		}
		return n
	}
	if n := opened("quarantine show"); n != 1 {
		t.Fatalf("quarantine show audited %d times, want 1", n)
	}
	if _, _, code := kehu(t, st.Table, "quarantine", "replay", qs[0].ID); code == 0 {
		t.Fatal("replayed with the mapping still broken")
	}
	put(`{"data.customer.email":"email","data.customer.name":"name","data.text":"text","data.conversation_id":"conversation"}`)
	as(t, st, "kehu-compliance")
	out, errOut, code := kehu(t, st.Table, "quarantine", "replay", qs[0].ID, "--json")
	var replayed struct {
		CustomerID string `json:"customer_id"`
	}
	if err := json.Unmarshal([]byte(out), &replayed); code != 0 || err != nil || replayed.CustomerID == "" {
		t.Fatalf("replay: %d %s %s", code, out, errOut)
	}
	if _, _, code := kehu(t, st.Table, "quarantine", "replay", qs[0].ID); code == 0 {
		t.Fatal("replayed twice")
	}
	// Both replays opened the payload (the first could not use it); the
	// one that wrote is also on the audit of the customer it went to.
	if n := opened("quarantine replay"); n != 2 {
		t.Fatalf("quarantine replay audited %d times, want 2", n)
	}
	if audit, _ := st.Store.Audit(ctx, replayed.CustomerID); len(audit) != 1 || audit[0].Action != "quarantine replay" ||
		!slices.Equal(audit[0].Fields, []string{store.QuarantineAttribute(qs[0].ID)}) || audit[0].Actor != "local:LOCALCOMPLIANCE" {
		t.Fatalf("the replay on the customer's audit: %+v", audit)
	}
	out, _, _ = kehu(t, st.Table, "customer", "show", replayed.CustomerID, "--json")
	var doc struct {
		Interactions []struct {
			Source, Provider, Conversation, Direction string
			Text                                      *string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Interactions) != 1 || doc.Interactions[0].Text == nil ||
		*doc.Interactions[0].Text != "我的订单在哪里" || doc.Interactions[0].Conversation == "" ||
		strings.Contains(out, `"c-1"`) || doc.Interactions[0].Direction != "inbound" {
		t.Fatalf("interactions: %s %v", out, err)
	}
	as(t, st, "kehu-sales")
	out, _, code = kehu(t, st.Table, "customer", "find", "--email", email, "--json")
	if code != 0 || !strings.Contains(out, replayed.CustomerID) {
		t.Fatalf("find: %d %s", code, out)
	}
	as(t, st, "kehu-analyst") // no KMS: the text stays unreadable
	out, _, _ = kehu(t, st.Table, "customer", "show", replayed.CustomerID, "--json")
	if strings.Contains(out, "我的订单在哪里") || !strings.Contains(out, "unreadable") {
		t.Fatalf("an analyst reads the chat text: %s", out)
	}
}

// An order's payload is never replayed from quarantine (its order system
// sends it again), and a payload is never mapped as another provider's.
func TestQuarantinedOrderIsNotReplayed(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	body := `{"type":"order.completed","data":{"order_id":"SO-7","customer":{"email":"` + stacktest.Unique("o") +
		`@example.com"},"amount":"10.00","currency":"USD","completed_at":"2026-11-20T08:00:00Z"}}`
	resp, err := h.Handle(ctx, stacktest.StandardEvent(t, "shop-orders", "whsec_b3JkZXJzLWxvY2FsLXRlc3Qtc2VjcmV0LTI0Yg==", "msg_usd", body, now))
	if err != nil || !strings.Contains(resp.Body, "quarantined") {
		t.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
	}
	as(t, st, "kehu-compliance")
	out, _, _ := kehu(t, st.Table, "quarantine", "list", "--json")
	var qs []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &qs); err != nil || len(qs) != 1 {
		t.Fatalf("quarantine list: %s %v", out, err)
	}
	before := st.Count(t)
	if out, errOut, code := kehu(t, st.Table, "quarantine", "replay", qs[0].ID); code == 0 || !strings.Contains(errOut, "drop it instead") {
		t.Fatalf("replayed an order: %d %s %s", code, out, errOut)
	}
	if after := st.Count(t); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused replay wrote: %v → %v", before, after)
	}
}
