package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"

	"github.com/google/uuid"
)

// TestDemoPageSubmissionID checks that every render of the demo page carries
// its own id, in a hidden input named as the contact form's idempotency field.
func TestDemoPageSubmissionID(t *testing.T) {
	raw, err := os.ReadFile("../../local/forms/contact.json")
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		IdempotencyField string `json:"idempotency_field"`
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	if def.IdempotencyField == "" {
		t.Fatal("local/forms/contact.json has no idempotency_field")
	}
	hidden := regexp.MustCompile(`<input type="hidden" name="` + regexp.QuoteMeta(def.IdempotencyField) + `" value="([^"]*)">`)

	render := func() string {
		rec := httptest.NewRecorder()
		demoPage(rec, httptest.NewRequest("GET", "/", nil))
		m := hidden.FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("no hidden input named %q in the demo page:\n%s", def.IdempotencyField, rec.Body)
		}
		if _, err := uuid.Parse(m[1]); err != nil {
			t.Fatalf("submission id %q: %v", m[1], err)
		}
		return m[1]
	}
	if a, b := render(), render(); a == b {
		t.Errorf("two renders carry the same submission id %s", a)
	}
}
