package privacy

import (
	"strings"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

// The readable copy carries what the JSON does: each value's trust and
// tier, and the consent record — a withdrawal shown as one.
func TestHTMLCarriesTheConsentRecord(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	name := "Lu <You>"
	x := &record.Export{Format: "kehu-export/1", ExportedAt: at, Record: &record.Record{
		Fields: []record.Field{{Field: "name", Tier: "confidential", Value: record.Value{Text: &name}, Trust: customer.Proven,
			ReadBy: record.ReadBy[customer.Confidential]}},
		Ledger: []record.LedgerView{
			{LedgerEntry: store.LedgerEntry{Entity: store.EntitySubmission, Channel: "web-form", FormID: "contact", Basis: consent.BasisConsent,
				Purposes: []consent.Purpose{consent.Processing, consent.Marketing}, Notice: "contact-v1", Trust: customer.Asserted, At: at}},
			{LedgerEntry: store.LedgerEntry{Entity: store.EntityWithdrawal, Channel: "privacy-page", Purposes: []consent.Purpose{consent.Marketing},
				Trust: customer.Proven, At: at.Add(time.Hour)}},
		}}}
	page, err := HTML(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Lu &lt;You&gt;", "<td>proven</td>", "<td>confidential</td>", "Consent record",
		"<td>2026-03-01 10:30</td><td>withdrawal</td><td>privacy-page </td><td></td><td></td><td>marketing </td>",
		"<td>submission</td><td>web-form contact</td><td>consent</td><td>processing marketing </td><td></td><td>contact-v1</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
