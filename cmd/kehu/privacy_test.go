package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

// The operator's privacy commands: an export with every value from every
// channel, decrypted as far as the role may read and saying what it could
// not; the audit of those reads; consent withdrawn by phone; restriction;
// erasure.
func TestPrivacyCLI(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	as(t, st, "kehu-admin")
	kyc := t.TempDir() + "/kyc.json"
	_ = os.WriteFile(kyc, []byte(`{"id":"kyc","fields":[{"name":"name"},{"name":"email"},{"name":"national_id"},{"name":"region"}],
		"consent":{"required":["processing","sensitive"],"optional":["marketing"],"notices":["kyc-v1"]}}`), 0o600)
	if _, errOut, code := kehu(t, st.Table, "forms", "put", kyc); code != 0 {
		t.Fatal(errOut)
	}
	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "kyc")
	email := strings.ToLower(stacktest.Unique("priv")) + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Song Jia"}, "email": {email},
		"national_id": {"110101199003074518"}, "region": {"华北"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Sensitive, consent.Marketing}, Notice: "kyc-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	body := `{"type":"message.created","timestamp":"` + now.Format(time.RFC3339) + `","data":{"conversation_id":"c9","customer":{"email":"` + email + `"},"text":"where is my parcel?"}}`
	if resp, err := h.Handle(ctx, stacktest.StandardEvent(t, "web-chat", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_priv_1", body, now)); err != nil || resp.StatusCode != 200 {
		t.Fatalf("chat: %d %s", resp.StatusCode, resp.Body)
	}
	id := res.CustomerID

	export := func(principal string) (record.Export, string) {
		t.Helper()
		as(t, st, principal)
		out, errOut, code := kehu(t, st.Table, "customer", "export", id, "--purpose", "subject access request 7")
		var x record.Export
		if err := json.Unmarshal([]byte(out), &x); code != 0 || err != nil {
			t.Fatalf("export as %s: %d %s %s %v", principal, code, out, errOut, err)
		}
		return x, errOut
	}
	full, _ := export("kehu-compliance")
	dump, _ := json.Marshal(full)
	for _, v := range []string{"Song Jia", email, "110101199003074518", "华北", "where is my parcel?", "kyc-v1", "web-chat"} {
		if !strings.Contains(string(dump), v) {
			t.Errorf("the compliance export lacks %q", v)
		}
	}
	if len(full.Unreadable) != 0 || len(full.History) == 0 || full.Format != "kehu-export/1" {
		t.Fatalf("export %+v", full)
	}
	partial, errOut := export("kehu-sales")
	if !slices.Equal(partial.Unreadable, []string{"restricted"}) || !strings.Contains(errOut, "restricted") {
		t.Fatalf("the sales export: unreadable %v, stderr %q", partial.Unreadable, errOut)
	}
	if dump, _ := json.Marshal(partial); strings.Contains(string(dump), "110101199003074518") {
		t.Fatal("the sales export holds a restricted value")
	}
	as(t, st, "kehu-compliance")
	if out, _, code := kehu(t, st.Table, "customer", "export", id, "--html"); code != 0 || !strings.Contains(out, "Song Jia") || !strings.Contains(out, "<table>") {
		t.Fatalf("html export: %d", code)
	}

	// The audit shows both reads, with their actors and purpose.
	out, _, code := kehu(t, st.Table, "audit", id, "--json")
	var audit []store.AuditRecord
	if err := json.Unmarshal([]byte(out), &audit); code != 0 || err != nil || len(audit) != 3 {
		t.Fatalf("audit: %s %v", out, err)
	}
	if audit[0].Action != "export" || audit[0].Purpose != "subject access request 7" || audit[0].Actor != "local:LOCALCOMPLIANCE" ||
		!slices.Contains(audit[0].Tiers, "restricted") || audit[1].Actor != "local:LOCALSALES" || slices.Contains(audit[1].Tiers, "restricted") {
		t.Fatalf("audit %+v", audit)
	}

	// A withdrawal by phone: recorded with the operator and the channel.
	if _, _, code := kehu(t, st.Table, "consent", "withdraw", id, "--purpose", "marketing"); code != 2 {
		t.Fatalf("a withdrawal without its channel: %d", code)
	}
	if _, errOut, code := kehu(t, st.Table, "consent", "withdraw", id, "--purpose", "marketing", "--channel", "phone"); code != 0 {
		t.Fatal(errOut)
	}
	p, _ := st.Store.Profile(ctx, id)
	ledger, _ := st.Store.Ledger(ctx, id)
	last := ledger[len(ledger)-1]
	if p.Consent[consent.Marketing].Granted || last.Entity != store.EntityWithdrawal || last.Channel != "operator-phone" || last.Actor != "local:LOCALCOMPLIANCE" {
		t.Fatalf("withdrawal: %+v %+v", p.Consent, last)
	}
	// Again: not granted any more, nothing recorded.
	if out, errOut, code := kehu(t, st.Table, "consent", "withdraw", id, "--purpose", "marketing", "--channel", "letter"); code != 0 || !strings.Contains(out, "nothing recorded") {
		t.Fatalf("a second withdrawal: %d %s %s", code, out, errOut)
	}
	if again, _ := st.Store.Ledger(ctx, id); len(again) != len(ledger) {
		t.Fatalf("a withdrawal of what was not granted was recorded: %d entries, was %d", len(again), len(ledger))
	}
	// Restriction and its lifting.
	for _, cmd := range []string{"restrict", "unrestrict"} {
		if _, errOut, code := kehu(t, st.Table, "customer", cmd, id); code != 0 {
			t.Fatal(errOut)
		}
	}
	if p, _ := st.Store.Profile(ctx, id); p.Restricted {
		t.Fatal("still restricted")
	}
	// The requests list (none yet: requests come from the privacy page).
	if out, _, code := kehu(t, st.Table, "requests", "list", "--open", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("requests list: %d %s", code, out)
	}
	// Erasure: a reason is required; then the customer is gone, its audit stays.
	if _, _, code := kehu(t, st.Table, "customer", "erase", id); code != 2 {
		t.Fatalf("an erasure without a reason: %d", code)
	}
	// The reason is kept forever: no address, no phone, nothing long.
	for _, bad := range []string{"called from 139 1234 5678", "called from 139/1234/5678", "证件 １３９１２３４５６７８", "asked by wang@example.com", strings.Repeat("why ", 60)} {
		if _, errOut, code := kehu(t, st.Table, "customer", "erase", id, "--reason", bad); code != 2 || !strings.Contains(errOut, "--reason") {
			t.Fatalf("a reason holding personal data (%.20s): %d %s", bad, code, errOut)
		}
	}
	if _, err := st.Store.Profile(ctx, id); err != nil {
		t.Fatalf("a refused erasure erased: %v", err)
	}
	if out, errOut, code := kehu(t, st.Table, "customer", "erase", id, "--reason", "subject request 7 of 2026-11-23"); code != 0 || !strings.Contains(out, "erased") {
		t.Fatalf("erase: %d %s %s", code, out, errOut)
	}
	if _, _, code := kehu(t, st.Table, "customer", "show", id); code != 1 {
		t.Fatalf("an erased customer is shown: %d", code)
	}
	if out, _, _ := kehu(t, st.Table, "audit", id, "--json"); !strings.Contains(out, "subject access request 7") {
		t.Fatal("the audit did not survive the erasure")
	}
	// The erasure is among the requests (after a restore, these are erased again).
	out, _, _ = kehu(t, st.Table, "requests", "list", "--json")
	var reqs []store.Request
	if err := json.Unmarshal([]byte(out), &reqs); err != nil || len(reqs) != 1 || reqs[0].CustomerID != id || reqs[0].Kind != "erasure" || reqs[0].State != "done" {
		t.Fatalf("requests after the erasure: %s %v", out, err)
	}
}
