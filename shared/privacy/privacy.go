// Package privacy carries out a person's rights over what kehu holds about
// them (PIPL Art. 44–47, GDPR Art. 15–18, 20): a copy (export), erasure,
// restriction. Erasure is complete: nothing personal about the customer
// remains in the table, only a tombstone, the consent ledger stripped to
// the record that processing was lawful, and the audit of reads.
package privacy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/store"
)

// Eraser erases customers. Its credentials read every tier (compliance):
// it decrypts the customer's identifiers to find the quarantined payloads
// that name them, and that read is audited like any other.
type Eraser struct {
	Store  *store.Store
	Opener record.Opener
	Actor  string
	Now    func() time.Time
}

// ErrNoCustomer means there is no such customer, and never was one erased.
var ErrNoCustomer = errors.New("no such customer")

func (e *Eraser) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Erase erases a customer now. It is resumable: run again after an
// interruption, it finishes what is left; run on an erased customer, it
// returns store.ErrErased. reason and request say why (never personal
// data: they are kept on the tombstone).
//
// In order: the tombstone (state erasing, the identifiers' index keys and
// the order keys to delete); the quarantined payloads that name the
// customer's identifiers; the profile (its stream record takes the
// customer out of every segment); the blind-index entries (a later
// submission with the same address is a new customer); the order records;
// the reviews; every ledger entry stripped to the lawful-processing
// record; every other item of the customer's partition (send records,
// link marks, data of pending requests); the tombstone marked erased. The
// audit records stay, in their own partition.
func (e *Eraser) Erase(ctx context.Context, customerID, reason, request string) error {
	tomb, err := e.Store.BeginErasure(ctx, customerID, store.Tombstone{Actor: e.Actor, Reason: reason, Request: request, At: e.now()})
	if err != nil {
		return err
	}
	p, err := e.Store.Profile(ctx, customerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if len(tomb.IndexRefs) == 0 && len(tomb.OrderRefs) == 0 {
			keys, kerr := e.Store.PartitionKeys(ctx, customerID)
			if kerr != nil {
				return kerr
			}
			if len(keys) <= 1 { // the tombstone just written: there was no such customer
				_ = e.Store.DeleteCustomerItem(ctx, customerID, "TOMBSTONE")
				return fmt.Errorf("%w: %s", ErrNoCustomer, customerID)
			}
		}
	case err != nil:
		return err
	default:
		ledger, err := e.Store.Ledger(ctx, customerID)
		if err != nil {
			return err
		}
		var orders []string
		for _, l := range ledger {
			if l.Order != nil && l.Order.Ref != "" {
				orders = append(orders, l.Order.Ref)
			}
		}
		refs := make([]string, 0, len(p.IDs))
		for k := range p.IDs {
			refs = append(refs, k)
		}
		if err := e.Store.RecordErasureRefs(ctx, customerID, refs, orders); err != nil {
			return err
		}
		tomb.IndexRefs, tomb.OrderRefs = refs, orders
		if err := e.forgetQuarantined(ctx, customerID); err != nil {
			return err
		}
		if err := e.Store.DeleteCustomerItem(ctx, customerID, "PROFILE"); err != nil {
			return err
		}
	}
	for _, k := range tomb.IndexRefs {
		if ref, ok := store.IdentifierRef(k); ok {
			if err := e.Store.DeleteIndexEntry(ctx, ref, customerID); err != nil {
				return err
			}
		}
	}
	for _, o := range tomb.OrderRefs {
		if err := e.Store.DeleteOrder(ctx, o, customerID); err != nil {
			return err
		}
	}
	if err := e.Store.ForgetInReviews(ctx, customerID); err != nil {
		return err
	}
	ledger, err := e.Store.Ledger(ctx, customerID)
	if err != nil {
		return err
	}
	for _, l := range ledger {
		l.CustomerID = customerID
		if err := e.Store.StripEntry(ctx, l); err != nil {
			return err
		}
	}
	keys, err := e.Store.PartitionKeys(ctx, customerID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		switch {
		case k.SK == "TOMBSTONE", strings.HasPrefix(k.SK, store.LedgerPrefix):
		case k.SK == "SEGMENTS":
			// The segmenter's state: its removal is recorded there from the
			// profile's stream record (no personal data; deleting it would
			// lose the memberships it must leave).
		default:
			if err := e.Store.DeleteCustomerItem(ctx, customerID, k.SK); err != nil {
				return err
			}
		}
	}
	if err := e.Store.FinishErasure(ctx, customerID, e.now()); err != nil {
		return err
	}
	// Every erasure is in the requests (a self-service one is already):
	// after a restore from a backup, `kehu requests list` names the
	// customers to erase again.
	if request == "operator" || request == "retention" {
		now := e.now()
		r := store.Request{ID: uuid.NewString(), CustomerID: customerID, Kind: store.RequestErasure, Channel: request, State: store.RequestDone,
			CreatedAt: now, DueAt: now, DoneAt: &now}
		if err := e.Store.PutRequest(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// forgetQuarantined deletes the quarantined payloads that name any of the
// customer's identifiers: each is decrypted (compliance) and searched for
// the identifiers' values — an email case-folded, a phone by its last
// eight digits, a chat tool's user id as is.
func (e *Eraser) forgetQuarantined(ctx context.Context, customerID string) error {
	r := &record.Reader{Store: e.Store, Opener: e.Opener, Actor: e.Actor, Purpose: "erasure: find the quarantined payloads naming the customer", Now: e.Now}
	rec, err := r.Read(ctx, customerID)
	if err != nil {
		return err
	}
	var needles []func(string) bool
	for _, x := range rec.Identifiers {
		if x.Text == nil {
			continue
		}
		v := *x.Text
		switch x.Kind {
		case customer.IdentityEmail:
			low := strings.ToLower(v)
			needles = append(needles, func(p string) bool { return strings.Contains(strings.ToLower(p), low) })
		case customer.IdentityPhone:
			d := digits(v)
			if len(d) >= 8 {
				tail := d[len(d)-8:]
				needles = append(needles, func(p string) bool { return strings.Contains(digits(p), tail) })
			}
		default:
			if _, user, ok := strings.Cut(v, ":"); ok && user != "" {
				needles = append(needles, func(p string) bool { return strings.Contains(p, user) })
			}
		}
	}
	if len(needles) == 0 {
		return nil
	}
	qs, err := e.Store.Quarantine(ctx)
	if err != nil {
		return err
	}
	for i := range qs {
		q, err := e.Store.QuarantinedPayload(ctx, qs[i].ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if q.ReplayedFor == customerID {
			if err := e.Store.DropQuarantined(ctx, q.ID); err != nil {
				return err
			}
			continue
		}
		pt, err := record.OpenQuarantined(ctx, e.Store, e.Opener, q)
		if err != nil {
			return fmt.Errorf("quarantined %s: %w", q.ID, err)
		}
		for _, match := range needles {
			if match(string(pt)) {
				if err := e.Store.DropQuarantined(ctx, q.ID); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

var nonDigits = regexp.MustCompile(`\D`)

func digits(s string) string { return nonDigits.ReplaceAllString(s, "") }

// Restrict restricts (or lifts the restriction of) a customer's processing.
func Restrict(ctx context.Context, st *store.Store, customerID string, restricted bool, actor, entryID string, now time.Time) error {
	err := st.SetRestricted(ctx, customerID, restricted, actor, entryID, now)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoCustomer, customerID)
	}
	return err
}

// RunDueErasures carries out the erasures whose cooling-off has passed
// (the same code path as an operator's erase), and marks their requests
// done. It returns how many it erased.
func (e *Eraser) RunDueErasures(ctx context.Context) (int, error) {
	all, err := e.Store.Requests(ctx)
	if err != nil {
		return 0, err
	}
	now := e.now()
	n := 0
	for _, r := range all {
		if r.Kind != store.RequestErasure || r.State != store.RequestScheduled || r.RunAt == nil || r.RunAt.After(now) {
			continue
		}
		err := e.Erase(ctx, r.CustomerID, "the person's own request, after its cooling-off", r.ID)
		switch {
		case err == nil:
			n++
		case errors.Is(err, store.ErrErased), errors.Is(err, ErrNoCustomer):
		default:
			return n, err
		}
		if err := e.Store.SetRequestState(ctx, r, store.RequestScheduled, store.RequestDone, now); err != nil && !errors.Is(err, store.ErrConflict) {
			return n, err
		}
	}
	return n, nil
}

// RunRetention applies the retention periods (segment.Thresholds'
// RetentionDays) to the customers in retention-lapsed — a query of that
// segment, never a table scan: a purpose whose period has passed since the
// customer's last activity is withdrawn (a ledger entry, channel
// retention); a customer whose processing period has passed is erased, by
// the same code as an operator's erase. It returns how many purposes it
// withdrew and customers it erased.
func (e *Eraser) RunRetention(ctx context.Context, t segment.Thresholds) (withdrawn, erased int, err error) {
	var ids []string
	if err := e.Store.EachMember(ctx, segment.RetentionLapsed, func(id string) bool { ids = append(ids, id); return true }); err != nil {
		return 0, 0, err
	}
	now := e.now()
	for _, id := range ids {
		p, err := e.Store.Profile(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return withdrawn, erased, err
		}
		purposes, processing := segment.Lapsed(segmenter.Rules(p), now, t)
		if processing {
			err := e.Erase(ctx, id, "retention: no activity for the processing period", "retention")
			if err != nil && !errors.Is(err, store.ErrErased) {
				return withdrawn, erased, err
			}
			erased++
			continue
		}
		if len(purposes) == 0 {
			continue
		}
		w := store.Withdrawal{CustomerID: id, EntryID: uuid.Must(uuid.NewV7()).String(), Channel: "retention", Trust: customer.Trusted,
			Actor: e.Actor, At: now}
		for _, pp := range purposes {
			w.Purposes = append(w.Purposes, consent.Purpose(pp))
		}
		if err := e.Store.Withdraw(ctx, w); err != nil && !errors.Is(err, store.ErrNotFound) {
			return withdrawn, erased, err
		}
		withdrawn += len(purposes)
	}
	return withdrawn, erased, nil
}
