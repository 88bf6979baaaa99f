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
	"github.com/kehu-dev/kehu/shared/sender"
)

// kehu surveys put/list, customer request-review and surveys send, with
// the sender's own credentials and Mailpit: a dry run sends nothing, the
// real run emails the customer once.
func TestSurveysCLI(t *testing.T) {
	st := stacktest.NewStreamed(t)
	st.Segmenter(t, time.Now)
	ctx := context.Background()
	t.Setenv("KEHU_SMTP_ADDR", stacktest.SMTPAddr(t))
	t.Setenv("KEHU_PUBLIC_URL", "https://kehu.test")

	as(t, st, "kehu-admin")
	doc := `{"id":"short","fields":[{"name":"name"},{"name":"region"}],"consent":{"required":[],"optional":["contact"],"notices":["short-v1"]}}`
	path := t.TempDir() + "/short.json"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := kehu(t, st.Table, "surveys", "put", path); code != 0 || !strings.Contains(out, "stored survey short") {
		t.Fatalf("surveys put: %d %s %s", code, out, errOut)
	}
	bad := t.TempDir() + "/bad.json"
	_ = os.WriteFile(bad, []byte(`{"id":"bad","fields":[{"name":"name","required":true}],"consent":{"required":[],"notices":["v"]}}`), 0o600)
	if _, errOut, code := kehu(t, st.Table, "surveys", "put", bad); code == 0 || !strings.Contains(errOut, "cannot be required") {
		t.Fatalf("a survey with a required field was stored: %s", errOut)
	}
	out, _, code := kehu(t, st.Table, "surveys", "list", "--json")
	var list []struct {
		ID     string   `json:"id"`
		Fields []string `json:"fields"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 2 {
		t.Fatalf("surveys list: %s %v", out, err)
	}

	svc, _ := st.Intake(t)
	def, _ := svc.Form(ctx, "contact")
	email := strings.ToLower(stacktest.Unique("cli")) + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Li Lei"}, "email": {email}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	as(t, st, "kehu-compliance")
	if out, errOut, code := kehu(t, st.Table, "customer", "request-review", res.CustomerID, "--json"); code != 0 || !strings.Contains(out, res.CustomerID) {
		t.Fatalf("request-review: %d %s %s", code, out, errOut)
	}
	if _, _, code := kehu(t, st.Table, "customer", "request-review", "00000000-0000-4000-8000-000000000000"); code != 1 {
		t.Fatalf("request-review of no one: %d", code)
	}
	// The request reaches review-due through the stream and the segmenter.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, err := st.Store.SegmentsOf(ctx, res.CustomerID)
		if err == nil && slices.Contains(s.Segments, "review-due") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in review-due after the request: %+v %v", s, err)
		}
	}

	as(t, st, "kehu-sender")
	run := func(args ...string) sender.Result {
		t.Helper()
		out, errOut, code := kehu(t, st.Table, append([]string{"surveys", "send", "--json"}, args...)...)
		var r sender.Result
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
			t.Fatalf("surveys send %v: %d %s %s", args, code, out, errOut)
		}
		return r
	}
	if r := run("--dry-run"); r.Confirmations != 1 || !r.DryRun {
		t.Fatalf("dry run: %+v", r)
	}
	if n := len(stacktest.Emails(t, email)); n != 0 {
		t.Fatalf("a dry run sent %d emails", n)
	}
	if r := run(); r.Confirmations != 1 {
		t.Fatalf("run: %+v", r)
	}
	if r := run(); r.Confirmations != 0 || r.Skipped[sender.SkipAwaiting] != 1 {
		t.Fatalf("second run: %+v", r)
	}
	// The sender's reads are in the customer's audit (kehu audit, compliance).
	as(t, st, "kehu-compliance")
	out, _, code = kehu(t, st.Table, "audit", res.CustomerID, "--json")
	var audit []struct{ Actor, Action string }
	if err := json.Unmarshal([]byte(out), &audit); code != 0 || err != nil || len(audit) != 1 || audit[0].Action != "send" ||
		audit[0].Actor != "local:LOCALSENDER" {
		t.Fatalf("audit: %s %v", out, err)
	}
	mails := stacktest.Emails(t, email)
	if len(mails) != 1 || !slices.Contains(mails[0].Headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click") {
		t.Fatalf("emails: %+v", mails)
	}
}
