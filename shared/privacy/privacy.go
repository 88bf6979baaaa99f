// Package privacy carries out a person's rights over what kehu holds about
// them (PIPL Art. 44–47, GDPR Art. 15–18, 20): a copy (export), erasure,
// restriction. Erasure is complete: nothing personal about the customer
// remains in the table, only a tombstone, the consent ledger stripped to
// the record that processing was lawful, and the audit of reads.
package privacy

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/sender"
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
	Log    *slog.Logger // what it could not search (ids only); none if nil
}

func (e *Eraser) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
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
// In order: the tombstone (state erasing); for an operator's or the
// retention's erasure its request record (a self-service one has its
// own); the quarantined payloads that name the customer's identifiers;
// the identifiers' index keys and the order keys, kept on the tombstone,
// and the profile, deleted at the version they were read from (a
// submission meanwhile is read again: nothing it added is left behind;
// the profile's stream record takes the customer out of every segment);
// the blind-index entries (a later submission with the same address is a
// new customer); the order records; the reviews, with the identifiers
// another customer's submission carried (unindexed there); every ledger
// entry stripped to the lawful-processing record; every other item of the
// customer's partition (send records, link marks); the tombstone marked
// erased, and the request done. The audit records stay, in their own
// partition.
func (e *Eraser) Erase(ctx context.Context, customerID, reason, request string) error {
	tomb, err := e.Store.BeginErasure(ctx, customerID, store.Tombstone{Actor: e.Actor, Reason: reason, Request: request, At: e.now()})
	if err != nil {
		return err
	}
	p, err := e.Store.Profile(ctx, customerID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p = nil
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
	}
	// Every erasure is in the requests (a self-service one is already),
	// from its start: after a restore from a backup, `kehu requests list`
	// names the customers to erase again.
	own := ownRequest(customerID, tomb.Request, tomb.At) // the first run's: a resume is the same request
	if own != nil {
		if err := e.Store.PutRequest(ctx, *own); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	// The ledger read with the refs the profile was deleted at is final:
	// every write to it changes the profile's version in the same
	// transaction, so a write after the read makes the delete conflict.
	var ledger []store.LedgerEntry
	if p != nil {
		if err := e.forgetQuarantined(ctx, customerID); err != nil {
			return err
		}
		for p != nil {
			if ledger, err = e.keepRefs(ctx, p, tomb); err != nil {
				return err
			}
			err := e.Store.DeleteProfile(ctx, customerID, p.Version)
			if !errors.Is(err, store.ErrConflict) {
				if err != nil {
					return err
				}
				break
			}
			// A submission changed the profile since: its refs again (or
			// another eraser deleted it: the ledger is read afresh below).
			ledger = nil
			if p, err = e.Store.Profile(ctx, customerID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
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
	if err := e.Store.ForgetInReviews(ctx, customerID, tomb.IndexRefs); err != nil {
		return err
	}
	if ledger == nil { // resumed after the profile was gone
		if ledger, err = e.Store.Ledger(ctx, customerID); err != nil {
			return err
		}
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
	if own != nil {
		if err := e.Store.SetRequestState(ctx, *own, store.RequestRunning, store.RequestDone, e.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// ownRequest is the request record of an operator's or the retention's
// erasure (nil for a self-service one, which has its own): its id and
// time derive from the customer and the tombstone, so a resumed erasure
// finds it again.
func ownRequest(customerID, channel string, at time.Time) *store.Request {
	if channel != "operator" && channel != "retention" {
		return nil
	}
	at = at.UTC().Truncate(time.Second)
	return &store.Request{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("kehu-erasure:"+customerID)).String(), CustomerID: customerID,
		Kind: store.RequestErasure, Channel: channel, State: store.RequestRunning, CreatedAt: at, DueAt: at}
}

// keepRefs records on the tombstone what the erasure must delete outside
// the customer's partition: the index keys of the profile's identifiers
// and the keys of its orders (with those recorded before). It returns the
// ledger it read them from.
func (e *Eraser) keepRefs(ctx context.Context, p *store.Profile, tomb *store.Tombstone) ([]store.LedgerEntry, error) {
	ledger, err := e.Store.Ledger(ctx, p.CustomerID)
	if err != nil {
		return nil, err
	}
	orders := slices.Clone(tomb.OrderRefs)
	for _, l := range ledger {
		if l.Order != nil && l.Order.Ref != "" && !slices.Contains(orders, l.Order.Ref) {
			orders = append(orders, l.Order.Ref)
		}
	}
	refs := slices.Clone(tomb.IndexRefs)
	for k := range p.IDs {
		if !slices.Contains(refs, k) {
			refs = append(refs, k)
		}
	}
	slices.Sort(refs)
	if err := e.Store.RecordErasureRefs(ctx, p.CustomerID, refs, orders); err != nil {
		return nil, err
	}
	tomb.IndexRefs, tomb.OrderRefs = refs, orders
	return ledger, nil
}

// ErrUnreadableIdentifier means the eraser's credentials could not read
// one of the customer's identifiers, so the quarantined payloads naming
// it cannot be found: the erasure stops (state erasing) rather than leave
// them, and says which tier it lacks.
var ErrUnreadableIdentifier = errors.New("an identifier could not be read to search the quarantine")

// forgetQuarantined deletes the quarantined payloads that name any of the
// customer's identifiers: each is decrypted (audited) and searched for
// the identifiers' values, on their boundaries — an email case-folded, a
// phone by its last eight digits in a run of digits, a chat tool's user
// id as a whole word. A payload that cannot be decrypted is skipped and
// logged by its id (it cannot be searched; it stops no erasure).
func (e *Eraser) forgetQuarantined(ctx context.Context, customerID string) error {
	r := &record.Reader{Store: e.Store, Opener: e.Opener, Actor: e.Actor, Purpose: "erasure: find the quarantined payloads naming the customer", Now: e.Now}
	rec, err := r.Read(ctx, customerID)
	if err != nil {
		return err
	}
	var needles []func(string) bool
	for _, x := range rec.Identifiers {
		if !x.Indexed && !x.Confirmable {
			continue // another customer's, kept here for the record: not this person's to search for
		}
		if x.Value.Text == nil {
			return fmt.Errorf("%w (%s, tier %s: %s)", ErrUnreadableIdentifier, x.Kind, x.Tier, x.Value.Unreadable)
		}
		if m := matcher(x.Kind, *x.Value.Text); m != nil {
			needles = append(needles, m)
		}
	}
	if len(needles) == 0 {
		return nil
	}
	qs, err := e.Store.Quarantine(ctx)
	if err != nil {
		return err
	}
	// One audit record for the search, naming every payload it may open,
	// written before any is.
	by := record.QuarantineRead{Actor: e.Actor, Purpose: "erasure of " + customerID + ": search for its identifiers", Action: "erasure search", Now: e.Now, Audited: true}
	var ids []string
	for _, q := range qs {
		ids = append(ids, q.ID)
	}
	if len(ids) > 0 {
		if err := record.AuditQuarantineSearch(ctx, e.Store, by, ids); err != nil {
			return err
		}
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
		pt, err := record.OpenQuarantined(ctx, e.Store, e.Opener, q, by)
		if err != nil {
			if !unsearchable(err) {
				// Denied, unavailable, the audit not written: stop (the
				// erasure stays erasing and is run again), never skip.
				return fmt.Errorf("quarantined %s: %w", q.ID, err)
			}
			e.log().WarnContext(ctx, "a quarantined payload could not be searched for an erasure", "quarantine_id", q.ID)
			continue
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

// unsearchable says whether a quarantined payload is itself broken — a
// damaged ciphertext, one that does not open, its data key gone, a
// damaged gzip stream — so that nobody can ever search it: skipped, it
// must not stop every erasure.
func unsearchable(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, envelope.ErrMalformed) || errors.Is(err, envelope.ErrOpen) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &corrupt)
}

// matcher finds an identifier's value in a payload, on its boundaries.
func matcher(kind customer.IdentityKind, v string) func(string) bool {
	switch kind {
	case customer.IdentityEmail:
		re := regexp.MustCompile(`(?i)(^|[^a-z0-9._%+\-])` + regexp.QuoteMeta(strings.ToLower(v)) + `($|[^a-z0-9.\-]|\.($|[^a-z0-9]))`)
		return re.MatchString
	case customer.IdentityPhone:
		d := digits(v)
		if len(d) < 8 {
			return nil
		}
		tail := d[len(d)-8:]
		return func(p string) bool {
			for _, run := range phoneRuns.FindAllString(p, -1) {
				if strings.HasSuffix(digits(run), tail) {
					return true
				}
			}
			return false
		}
	default:
		if _, user, ok := strings.Cut(v, ":"); ok && user != "" {
			return regexp.MustCompile(`(^|[^\pL\pN_\-])` + regexp.QuoteMeta(user) + `($|[^\pL\pN_\-])`).MatchString
		}
		return nil
	}
}

// phoneRuns are the runs of a payload that may be a phone number: digits,
// with the separators people type between them.
var phoneRuns = regexp.MustCompile(`\+?\d[\d ()\-.]*\d`)

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
// (the same code path as an operator's erase). Each is claimed first
// (scheduled → running: a cancel after that is too late, and says so; one
// before it wins), then erased, then done; a claimed one an earlier run
// did not finish is finished — an operator's or the retention's too, once
// an hour old. One customer's failure stops no other's: it is returned
// with the count, joined, and the request stays running for the next run.
func (e *Eraser) RunDueErasures(ctx context.Context) (int, error) {
	open, err := e.Store.OpenRequests(ctx)
	if err != nil {
		return 0, err
	}
	now := e.now()
	n := 0
	var errs []error
	for _, r := range open {
		if r.Kind != store.RequestErasure {
			continue
		}
		switch {
		case r.Channel != "self-service":
			// An operator's or the retention's erasure that stopped (an
			// error, a crash): finished here once it is an hour old (an
			// operator may still be running it).
			if r.State != store.RequestRunning || r.CreatedAt.After(now.Add(-time.Hour)) {
				continue
			}
		case r.State == store.RequestScheduled && r.RunAt != nil && !r.RunAt.After(now):
			err := e.Store.SetRequestState(ctx, r, store.RequestScheduled, store.RequestRunning, now)
			if errors.Is(err, store.ErrConflict) {
				continue // cancelled (or claimed) meanwhile
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
		case r.State != store.RequestRunning:
			continue
		}
		reason, request := "the person's own request, after its cooling-off", r.ID
		if r.Channel != "self-service" {
			reason, request = "resumed: "+r.Channel+" erasure", r.Channel
		}
		err := e.Erase(ctx, r.CustomerID, reason, request)
		switch {
		case err == nil:
			n++
		case errors.Is(err, store.ErrErased), errors.Is(err, ErrNoCustomer):
		default:
			errs = append(errs, fmt.Errorf("erasure %s: %w", r.ID, err))
			continue
		}
		if err := e.Store.SetRequestState(ctx, r, store.RequestRunning, store.RequestDone, e.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// RunRetention applies the retention periods (segment.Thresholds'
// RetentionDays) to the customers in retention-lapsed — a query of that
// segment, never a table scan: a purpose whose period has passed since the
// customer's last activity is withdrawn (a ledger entry, channel
// retention); a customer whose processing period has passed is erased, by
// the same code as an operator's erase. It returns how many purposes it
// withdrew and customers it erased; one customer's failure stops no
// other's (the errors are joined).
func (e *Eraser) RunRetention(ctx context.Context, t segment.Thresholds) (withdrawn, erased int, err error) {
	var ids []string
	if err := e.Store.EachMember(ctx, segment.RetentionLapsed, func(id string) bool { ids = append(ids, id); return true }); err != nil {
		return 0, 0, err
	}
	now := e.now()
	var errs []error
	deferred := 0
	for _, id := range ids {
		p, err := e.Store.Profile(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules := segmenter.Rules(p)
		purposes, processing := segment.Lapsed(rules, now, t)
		if processing {
			// The processing period passed with no activity: retention's
			// own rule. Otherwise the customer has no purpose left (every
			// consent withdrawn), and is erased only once told.
			reason := "retention: no activity for the processing period"
			if days, ok := t.RetentionDays["processing"]; !ok || now.Before(rules.ActiveAt.AddDate(0, 0, days)) {
				reason = "retention: no purpose left (every consent withdrawn)"
				told, err := e.toldNoPurpose(ctx, p, rules, now)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if !told {
					deferred++
					continue // the sender tells them first; erased a week on
				}
			}
			switch err := e.Erase(ctx, id, reason, "retention"); {
			case err == nil:
				erased++
			case !errors.Is(err, store.ErrErased):
				errs = append(errs, fmt.Errorf("retention erasure of %s: %w", id, err))
			}
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
			errs = append(errs, err)
			continue
		}
		withdrawn += len(purposes)
	}
	if deferred > 0 {
		e.log().InfoContext(ctx, "no-purpose erasures wait for their notice", "customers", deferred)
	}
	return withdrawn, erased, errors.Join(errs...)
}

// toldNoPurpose says whether a customer with no purpose left may be erased
// now: the survey sender told their verified address (after their last
// withdrawal) at least sender.NoPurposeNoticeEvery ago — or they have no
// verified address, so no link of theirs exists that anyone could have
// used, and nobody to tell.
func (e *Eraser) toldNoPurpose(ctx context.Context, p *store.Profile, rules segment.Profile, now time.Time) (bool, error) {
	if sender.VerifiedAddress(p) == "" {
		return true, nil
	}
	r, err := e.Store.Send(ctx, p.CustomerID, sender.SendNoPurpose, "")
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// Sent, uncertain, or claimed a week ago and never finished (a crash
	// mid-send: as uncertain): told. A refused one is not.
	withdrawn := rules.WithdrawnAt
	return r.SentAt != nil && r.Outcome != store.SendFailed &&
		!r.SentAt.Before(withdrawn) && !r.SentAt.After(now.Add(-sender.NoPurposeNoticeEvery)), nil
}
