package record

import (
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/store"
)

// A chat message anyone could have sent (asserted, none of the person's
// verified identifiers): its ledger entry in the person's copy keeps no
// interaction (its attachments name someone else's files); the person's
// own message keeps its.
func TestSubjectLedgerKeepsNoOthersInteraction(t *testing.T) {
	at := time.Now()
	x := &Export{Record: &Record{Ledger: []LedgerView{
		{LedgerEntry: store.LedgerEntry{SubmissionID: "S-stranger", Trust: customer.Asserted, Channel: "web-chat", At: at,
			Interaction: &store.Interaction{Direction: "inbound", Attachments: []string{"https://files.example/stranger-id-card.jpg"}}}},
		{LedgerEntry: store.LedgerEntry{SubmissionID: "S-own", Trust: customer.Proven, Channel: "web-chat", At: at,
			Interaction: &store.Interaction{Direction: "inbound", Attachments: []string{"https://files.example/own.jpg"}}}},
	}}}
	y := x.ForSubject()
	if y.Record.Ledger[0].Interaction != nil || y.Record.Ledger[1].Interaction == nil || y.Withheld == "" {
		t.Fatalf("ledger %+v %+v, note %q", y.Record.Ledger[0].Interaction, y.Record.Ledger[1].Interaction, y.Withheld)
	}
	if x.Record.Ledger[0].Interaction == nil {
		t.Fatal("ForSubject changed the operator's export")
	}
}
