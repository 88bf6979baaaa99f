package store

import (
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
)

// Provenance answers, for one stored field: where it came from, under which
// consent, which tier (so who may read it), and when it was collected and
// last confirmed.
type Provenance struct {
	Field        string            `json:"field"`
	Tier         string            `json:"tier"`
	SubmissionID string            `json:"submission_id"`
	FormID       string            `json:"form"`
	Channel      string            `json:"channel"`
	Notice       string            `json:"notice"`
	Purposes     []consent.Purpose `json:"purposes"`
	CollectedAt  time.Time         `json:"collected_at"`
	ConfirmedAt  time.Time         `json:"confirmed_at"`
}

// FieldProvenance joins a profile's field sources with its ledger.
func FieldProvenance(p *Profile, ledger []LedgerEntry) map[string]Provenance {
	bySub := make(map[string]LedgerEntry, len(ledger))
	for _, e := range ledger {
		bySub[e.SubmissionID] = e
	}
	out := make(map[string]Provenance, len(p.Sources))
	for name, src := range p.Sources {
		e := bySub[src.SubmissionID]
		tier := customer.General
		if blob, ok := p.Sealed[name]; ok {
			tier, _, _, _, _ = envelope.Parse(blob)
		}
		out[name] = Provenance{Field: name, Tier: string(tier), SubmissionID: src.SubmissionID, FormID: e.FormID, Channel: e.Channel,
			Notice: e.Notice, Purposes: e.Purposes, CollectedAt: e.At, ConfirmedAt: src.ConfirmedAt}
	}
	return out
}
