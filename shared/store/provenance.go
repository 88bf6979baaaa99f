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

// FieldProvenance answers for every field of a profile from its ledger
// (oldest first, as Ledger returns it): a field's source is the newest
// submission that brought or confirmed it.
func FieldProvenance(p *Profile, ledger []LedgerEntry) map[string]Provenance {
	out := map[string]Provenance{}
	for i := len(ledger) - 1; i >= 0; i-- {
		e := ledger[i]
		for _, name := range e.Fields {
			if _, seen := out[name]; seen {
				continue
			}
			_, sealed := p.Sealed[name]
			_, plain := p.General[name]
			if !sealed && !plain {
				continue // no longer stored
			}
			tier := customer.General
			if sealed {
				tier, _, _, _, _ = envelope.Parse(p.Sealed[name])
			}
			out[name] = Provenance{Field: name, Tier: string(tier), SubmissionID: e.SubmissionID, FormID: e.FormID, Channel: e.Channel,
				Notice: e.Notice, Purposes: e.Purposes, CollectedAt: e.At, ConfirmedAt: e.At}
		}
	}
	return out
}
