package intake

import (
	"context"
	"errors"
	"slices"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/store"
)

// Withdrawal is a person's (or, for them, an operator's) withdrawal of
// consent purposes.
type Withdrawal struct {
	CustomerID string
	Purposes   []consent.Purpose
	Channel    string         // "email-link", "one-click", "operator"
	Trust      customer.Trust // Proven for a link; Trusted for an operator
	Actor      string         // the operator, when one acted
	ClientIP   string         // for the proof only
	UserAgent  string
}

// Withdraw records a withdrawal as a ledger entry and the profile's consent
// states, in one transaction. Purposes not currently granted are left out;
// when none is left nothing is written (a repeated one-click POST, say) and
// the answer is the same. It reports the purposes it withdrew.
func (s *Service) Withdraw(ctx context.Context, w Withdrawal) ([]consent.Purpose, error) {
	head, err := s.Store.ProfileHead(ctx, w.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSubjectNotFound
	}
	if err != nil {
		return nil, err
	}
	var withdraw []consent.Purpose
	for _, p := range w.Purposes {
		if st, ok := head.Consent[p]; ok && st.Granted && !slices.Contains(withdraw, p) {
			withdraw = append(withdraw, p)
		}
	}
	if len(withdraw) == 0 {
		return nil, nil
	}
	slices.Sort(withdraw)
	err = s.Store.Withdraw(ctx, store.Withdrawal{CustomerID: w.CustomerID, EntryID: s.NewSubID(), Purposes: withdraw, Channel: w.Channel,
		Trust: w.Trust, Actor: w.Actor, Proof: s.Index.Proof(w.ClientIP, w.UserAgent), At: s.Now().UTC()})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSubjectNotFound
	}
	return withdraw, err
}

// VerifyIdentifier marks the identifier a confirmation link was sent for
// verified: the customer's identifier of that kind added by that
// submission, still indexed to the customer — or, one the person added
// through their link, claiming its index entry now if nobody holds it.
// The link is used up in the same transaction.
func (s *Service) VerifyIdentifier(ctx context.Context, link store.LinkUse, kind customer.IdentityKind, submissionID, clientIP, userAgent string) error {
	head, err := s.Store.ProfileHead(ctx, link.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSubjectNotFound
	}
	if err != nil {
		return err
	}
	for _, k := range head.IdentifiersOf(kind) {
		if x := head.IDs[k]; x.Submission == submissionID && (x.Indexed || x.Confirmable) {
			return s.Store.Verify(ctx, store.Verification{CustomerID: link.CustomerID, IDKey: k, Claim: !x.Indexed, EntryID: s.NewSubID(),
				Proof: s.Index.Proof(clientIP, userAgent), At: s.Now().UTC(), Link: link})
		}
	}
	return store.ErrNotVerifiable
}
