package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/record"
)

// as makes the CLI's usual AWS configuration (the environment) that of a
// local principal.
func as(t *testing.T, st *stacktest.Stack, principal string) {
	t.Helper()
	p := st.Principal(t, principal)
	t.Setenv("AWS_ACCESS_KEY_ID", p.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", p.SecretAccessKey)
	t.Setenv("AWS_REGION", st.Region())
}

func kehu(t *testing.T, table string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut, func(k string) string {
		if k == "TABLE_NAME" {
			return table
		}
		return os.Getenv(k)
	})
	return out.String(), errOut.String(), code
}

func TestCustomerShowAndFind(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	// A form with a restricted field, stored through the CLI itself.
	doc := `{"id":"kyc","fields":[{"name":"name","required":true},{"name":"email"},{"name":"national_id"},{"name":"region"}],
	"consent":{"required":["processing","sensitive"],"notices":["kyc-v1"]}}`
	path := t.TempDir() + "/kyc.json"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	as(t, st, "kehu-admin")
	if out, errOut, code := kehu(t, st.Table, "forms", "put", path); code != 0 || !strings.Contains(out, "stored form kyc") {
		t.Fatalf("forms put: %d %s %s", code, out, errOut)
	}
	if out, _, code := kehu(t, st.Table, "forms", "list"); code != 0 || !strings.Contains(out, "kyc") || !strings.Contains(out, "contact") {
		t.Fatalf("forms list: %d %s", code, out)
	}
	email := stacktest.Unique("kyc") + "@example.com"
	def, err := svc.Form(ctx, "kyc")
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Submit(ctx, def, intake.Submission{
		Fields:  map[string][]string{"name": {"周杰"}, "email": {email}, "national_id": {"110101199003077777"}, "region": {"华北"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Sensitive}, Notice: "kyc-v1"}})
	if err != nil {
		t.Fatal(err)
	}

	show := func(t *testing.T, principal string) map[string]record.Field {
		as(t, st, principal)
		out, errOut, code := kehu(t, st.Table, "customer", "show", res.CustomerID, "--json")
		if code != 0 {
			t.Fatalf("show as %s: %d %s", principal, code, errOut)
		}
		var doc struct {
			Fields        []record.Field
			Identifiers   []record.Identifier
			ConsentLedger []json.RawMessage `json:"consent_ledger"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.ConsentLedger) != 1 {
			t.Errorf("ledger has %d entries", len(doc.ConsentLedger))
		}
		m := map[string]record.Field{}
		for _, f := range doc.Fields {
			m[f.Field] = f
		}
		for _, x := range doc.Identifiers {
			m[string(x.Kind)] = record.Field{Field: string(x.Kind), Tier: x.Tier, Value: x.Value}
		}
		return m
	}
	t.Run("sales reads confidential, not restricted", func(t *testing.T) {
		f := show(t, "kehu-sales")
		if f["name"].Text == nil || *f["name"].Text != "周杰" || f["region"].Text == nil {
			t.Errorf("name/region: %+v %+v", f["name"], f["region"])
		}
		if f["national_id"].Text != nil || !strings.Contains(f["national_id"].Unreadable, "restricted") {
			t.Errorf("sales read the restricted tier: %+v", f["national_id"])
		}
		if n := f["national_id"]; !strings.HasPrefix(n.ReadBy, "compliance;") || n.Notice != "kyc-v1" || n.FormID != "kyc" || len(n.Purposes) != 2 ||
			n.ConfirmedAt.IsZero() || n.Trust != "asserted" || n.Basis != "consent" {
			t.Errorf("provenance of national_id: %+v", n)
		}
	})
	t.Run("compliance reads everything", func(t *testing.T) {
		f := show(t, "kehu-compliance")
		if f["national_id"].Text == nil || *f["national_id"].Text != "110101199003077777" {
			t.Errorf("compliance: %+v", f["national_id"])
		}
	})
	t.Run("intake reads nothing encrypted", func(t *testing.T) {
		f := show(t, "kehu-intake")
		if f["name"].Text != nil || f["email"].Text != nil || f["region"].Text == nil {
			t.Errorf("intake view: %+v", f)
		}
	})
	t.Run("find by email and phone", func(t *testing.T) {
		as(t, st, "kehu-sales")
		out, errOut, code := kehu(t, st.Table, "customer", "find", "--email", strings.ToUpper(email))
		if code != 0 || strings.TrimSpace(out) != res.CustomerID {
			t.Fatalf("find: %d %q %s", code, out, errOut)
		}
		if _, _, code := kehu(t, st.Table, "customer", "find", "--email", "nobody@example.com"); code != 1 {
			t.Fatalf("find of an unknown email exited %d", code)
		}
		if _, _, code := kehu(t, st.Table, "customer", "find"); code != 2 {
			t.Fatalf("find without a value exited %d", code)
		}
	})
}

func TestReviewList(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	def, _ := svc.Form(ctx, "contact")
	grant := consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}
	email := stacktest.Unique("r") + "@example.com"
	for _, f := range []map[string][]string{{"name": {"A"}, "email": {email}}, {"name": {"B"}, "phone": {"13311112222"}}, {"name": {"AB"}, "email": {email}, "phone": {"13311112222"}}} {
		if _, err := svc.Submit(ctx, def, intake.Submission{Fields: f, Consent: grant}); err != nil {
			t.Fatal(err)
		}
	}
	as(t, st, "kehu-sales")
	out, errOut, code := kehu(t, st.Table, "review", "list")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "identity") {
		t.Fatalf("review list: %d %q %s", code, out, errOut)
	}
	out, _, code = kehu(t, st.Table, "review", "list", "--json")
	var reviews []struct {
		Kind        string   `json:"kind"`
		AlsoMatched []string `json:"also_matched"`
	}
	if err := json.Unmarshal([]byte(out), &reviews); code != 0 || err != nil || len(reviews) != 1 || len(reviews[0].AlsoMatched) != 2 {
		t.Fatalf("review list --json: %d %s %v", code, out, err)
	}
}

// kehu customer history shows every value each field had with its source;
// restore makes an earlier one current again and is itself recorded; the
// raw table holds none of the values in plaintext, history included.
func TestHistoryAndRestore(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	def, _ := svc.Form(ctx, "contact")
	grant := consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}
	email := stacktest.Unique("hist") + "@example.com"
	names := []string{"First " + stacktest.Unique("n"), "Second " + stacktest.Unique("n"), "Third " + stacktest.Unique("n")}
	var subs []intake.Result
	for i, n := range names {
		r, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {n}, "email": {email},
			"region": {[]string{"华东", "华南", "华北"}[i]}}, Consent: grant})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, r)
	}
	id := subs[0].CustomerID
	as(t, st, "kehu-sales")
	out, errOut, code := kehu(t, st.Table, "customer", "history", id, "--json")
	if code != 0 {
		t.Fatalf("history: %d %s", code, errOut)
	}
	var rows []struct {
		Field        string  `json:"field"`
		Value        *string `json:"value"`
		SubmissionID string  `json:"submission_id"`
		Channel      string  `json:"channel"`
		At           string  `json:"at"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	var gotNames []string
	for _, r := range rows {
		if r.Field == "name" {
			if r.Value == nil || r.Channel != "web-form" || r.At == "" || r.SubmissionID == "" {
				t.Errorf("row %+v", r)
				continue
			}
			gotNames = append(gotNames, *r.Value)
		}
	}
	if strings.Join(gotNames, "|") != strings.Join(names, "|") {
		t.Fatalf("name history %v, want %v", gotNames, names)
	}

	// Restore the first name and region, as compliance (in AWS only its role
	// may write profiles; DynamoDB Local checks no IAM, the template test does).
	as(t, st, "kehu-compliance")
	for _, f := range []string{"name", "region"} {
		if out, errOut, code := kehu(t, st.Table, "customer", "restore", id, "--field", f, "--submission", subs[0].SubmissionID); code != 0 {
			t.Fatalf("restore %s: %d %s %s", f, code, out, errOut)
		}
	}
	if _, _, code := kehu(t, st.Table, "customer", "restore", id, "--field", "company", "--submission", subs[0].SubmissionID); code == 0 {
		t.Fatal("restored a field the submission did not carry")
	}
	if _, _, code := kehu(t, st.Table, "customer", "restore", id, "--field", "email", "--submission", subs[0].SubmissionID); code == 0 {
		t.Fatal("restored an identifier")
	}
	f := showFields(t, st, id, "kehu-compliance")
	if f["name"].Text == nil || *f["name"].Text != names[0] || f["name"].Trust != "trusted" || f["region"].Text == nil || *f["region"].Text != "华东" {
		t.Fatalf("after restore: %+v %+v", f["name"], f["region"])
	}
	p, _ := st.Store.Profile(ctx, id)
	if p.General["region"] != "华东" {
		t.Fatalf("plain region %q after restore", p.General["region"])
	}
	out, _, _ = kehu(t, st.Table, "customer", "show", id)
	if !strings.Contains(out, "restore name to submission "+subs[0].SubmissionID+" by local:LOCALCOMPLIANCE") {
		t.Fatalf("the restore is not in the ledger:\n%s", out)
	}
	// A later anonymous post may not replace the restored (operator's) value.
	r, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Vandal"}, "email": {email}}, Consent: grant})
	if err != nil || len(r.Held) != 1 {
		t.Fatalf("post after restore: %+v %v", r, err)
	}
	dump := fmt.Sprint(st.Scan(t))
	for _, n := range append(names, email) {
		if strings.Contains(dump, n) {
			t.Errorf("plaintext %q in the table", n)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"forms"}, &out, &errOut, func(string) string { return "" }); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut.String(), "TABLE_NAME") {
		t.Fatalf("stderr %q", errOut.String())
	}
}

func showFields(t *testing.T, st *stacktest.Stack, id, principal string) map[string]record.Field {
	t.Helper()
	as(t, st, principal)
	out, errOut, code := kehu(t, st.Table, "customer", "show", id, "--json")
	if code != 0 {
		t.Fatalf("show as %s: %d %s", principal, code, errOut)
	}
	var doc struct{ Fields []record.Field }
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	m := map[string]record.Field{}
	for _, f := range doc.Fields {
		m[f.Field] = f
	}
	return m
}
