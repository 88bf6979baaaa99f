// Package record reads what kehu holds about one customer, decrypting what
// the caller's credentials may read: the current value of every field and
// identifier with its provenance (where it came from, under which basis
// and consent, with which trust, who may read it, when it was collected
// and last confirmed), and every value's history. Operators restore an
// earlier value through it.
package record

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/store"
)

// Opener decrypts values (envelope.Opener).
type Opener interface {
	Open(ctx context.Context, aad envelope.AAD, blob []byte, keys map[string][]byte) ([]byte, error)
}

var _ Opener = (*envelope.Opener)(nil)

// ReadBy says who may read each tier (the template's key policies): the
// people's roles and the functions that decrypt it, and the person ("you")
// in their own copy. The erasure's search reads identifiers to delete
// them.
var ReadBy = map[customer.Tier]string{
	customer.Restricted:   "compliance; you",
	customer.Confidential: "sales, service, compliance, the survey sender; you",
	customer.General:      "analysts, the segmenter, every role above",
}

// Reader reads customers' records. Every value it decrypts is audited:
// before a decrypted value is returned, an audit record names the actor,
// the fields and tiers, and the purpose; if that write fails, nothing is
// returned.
type Reader struct {
	Store   *store.Store
	Opener  Opener
	Actor   string // who reads: the IAM principal's ARN, or the local credential
	Purpose string // what for, as the operator states it
	Now     func() time.Time
}

// ErrNoActor means a reader that would decrypt does not say who reads.
var ErrNoActor = errors.New("a read of personal data must name its actor (for the audit)")

// audit records what l's reads decrypted, if anything: before any of it
// is returned.
func (r *Reader) audit(ctx context.Context, l *loaded, action string) error {
	if len(l.read) == 0 {
		return nil
	}
	if r.Actor == "" {
		return ErrNoActor
	}
	var fields, tiers []string
	for o := range l.read {
		if !slices.Contains(fields, o.field) {
			fields = append(fields, o.field)
		}
		if t := string(o.tier); !slices.Contains(tiers, t) {
			tiers = append(tiers, t)
		}
	}
	slices.Sort(fields)
	slices.Sort(tiers)
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	return r.Store.PutAudit(ctx, store.AuditRecord{CustomerID: l.profile.CustomerID, Actor: r.Actor, Purpose: r.Purpose, Action: action,
		Fields: fields, Tiers: tiers, At: now})
}

// Value is a value as these credentials see it: the text, or why not.
type Value struct {
	Text       *string `json:"value,omitempty"`
	Unreadable string  `json:"unreadable,omitempty"`
}

// Source is where a value came from.
type Source struct {
	SubmissionID string            `json:"submission_id"`
	FormID       string            `json:"form,omitempty"`
	Channel      string            `json:"channel"`
	Basis        consent.Basis     `json:"basis,omitempty"`
	Notice       string            `json:"notice,omitempty"`
	Purposes     []consent.Purpose `json:"purposes,omitempty"`
	CollectedAt  time.Time         `json:"collected_at"`
}

// Field is one field's current value and its provenance.
type Field struct {
	Field string `json:"field"`
	Tier  string `json:"tier"`
	Value
	ReadBy string         `json:"read_by"`
	Trust  customer.Trust `json:"trust"`
	Source
	ConfirmedAt time.Time `json:"confirmed_at"`
}

// Identifier is one email address, phone number or other identifier.
type Identifier struct {
	Kind customer.IdentityKind `json:"kind"`
	Tier string                `json:"tier"`
	Value
	Trust       customer.Trust `json:"trust"`
	Indexed     bool           `json:"indexed"` // false: another customer holds it; kept for the record
	Verified    bool           `json:"verified"`
	Confirmable bool           `json:"confirmable"`
	Source
}

// Record is what is held about one customer.
type Record struct {
	CustomerID   string                            `json:"customer_id"`
	CreatedAt    time.Time                         `json:"created_at"`
	UpdatedAt    time.Time                         `json:"updated_at"`
	ReviewDueAt  time.Time                         `json:"review_due_at"`
	ConfirmedAt  *time.Time                        `json:"confirmed_at,omitempty"`
	AgeBand      string                            `json:"age_band,omitempty"`
	Fields       []Field                           `json:"fields"`
	Identifiers  []Identifier                      `json:"identifiers"`
	Consent      map[consent.Purpose]consent.State `json:"consent"`
	Interactions []Interaction                     `json:"interactions"`
	Segments     []string                          `json:"segments"`
	Ledger       []LedgerView                      `json:"consent_ledger"`
}

// Interaction is one message through a chat or help-desk tool, newest
// first in a record; its text is decrypted where the role may read it.
type Interaction struct {
	Source       string    `json:"source"`
	Provider     string    `json:"provider"`
	Conversation string    `json:"conversation,omitempty"`
	At           time.Time `json:"at"`
	Direction    string    `json:"direction"`
	Text         *string   `json:"text,omitempty"`
	Unreadable   string    `json:"unreadable,omitempty"`
	Attachments  []string  `json:"attachments,omitempty"`
	SubmissionID string    `json:"submission_id"`
}

// LedgerView is a ledger entry as the record shows it: with the names of
// the fields it brought, never their values.
type LedgerView struct {
	store.LedgerEntry
	Fields []string `json:"fields,omitempty"`
}

// ErrNoCustomer means there is no such customer.
var ErrNoCustomer = errors.New("no such customer")

// loaded is a customer's profile and ledger, with what opens its values.
type loaded struct {
	profile *store.Profile
	ledger  []store.LedgerEntry
	byID    map[string]*store.LedgerEntry
	keys    map[string][]byte
	read    map[opened]bool // what was decrypted: a field (or interaction text) in a tier
	// unopened are the tiers of the values that could not be decrypted,
	// for any reason (UnknownTier: a ciphertext too damaged to say).
	unopened map[string]bool
}

// opened is a field (or interaction text) decrypted in a tier: the same
// field may be read in two (a child's later values are restricted).
type opened struct {
	field string
	tier  customer.Tier
}

// UnknownTier stands in an export's Unreadable for a value whose
// ciphertext is too damaged to name its tier.
const UnknownTier = "unknown"

func (r *Reader) load(ctx context.Context, id string) (*loaded, error) {
	p, err := r.Store.Profile(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoCustomer, id)
	}
	if err != nil {
		return nil, err
	}
	ledger, err := r.Store.Ledger(ctx, id)
	if err != nil {
		return nil, err
	}
	l := &loaded{profile: p, ledger: ledger, byID: map[string]*store.LedgerEntry{}, read: map[opened]bool{},
		unopened: map[string]bool{}}
	var refs []string
	for i := range ledger {
		e := &ledger[i]
		l.byID[e.SubmissionID] = e
		blobs := slices.Collect(maps.Values(e.Sealed))
		if e.Interaction != nil && len(e.Interaction.Text) > 0 {
			blobs = append(blobs, e.Interaction.Text)
		}
		for _, blob := range blobs {
			if _, ref, _, _, err := envelope.Parse(blob); err == nil {
				refs = append(refs, ref)
			}
		}
	}
	if l.keys, err = r.Store.DataKeys(ctx, refs); err != nil {
		return nil, err
	}
	return l, nil
}

// value opens one field of one entry.
func (r *Reader) value(ctx context.Context, l *loaded, e *store.LedgerEntry, field string) (customer.Tier, Value) {
	if v, ok := e.Plain[field]; ok {
		return customer.General, Value{Text: &v}
	}
	blob, ok := e.Sealed[field]
	if !ok {
		return "", Value{Unreadable: "no value"}
	}
	tier, _, _, _, _ := envelope.Parse(blob)
	return tier, r.open(ctx, l, e.SubmissionID, field, blob)
}

// open decrypts one sealed value of a ledger entry.
func (r *Reader) open(ctx context.Context, l *loaded, submissionID, attribute string, blob []byte) Value {
	tier, _, _, _, err := envelope.Parse(blob)
	if err != nil {
		l.unopened[UnknownTier] = true
		return Value{Unreadable: "malformed ciphertext"}
	}
	pt, err := r.Opener.Open(ctx, envelope.AAD{Table: r.Store.Table(), Customer: l.profile.CustomerID,
		Attribute: store.ValueAttribute(submissionID, attribute), Tier: tier}, blob, l.keys)
	switch {
	case err == nil:
		s := string(pt)
		l.read[opened{attribute, tier}] = true
		return Value{Text: &s}
	case errors.Is(err, envelope.ErrDenied):
		l.unopened[string(tier)] = true
		return Value{Unreadable: "these credentials may not decrypt the " + string(tier) + " tier"}
	default:
		l.unopened[string(tier)] = true
		return Value{Unreadable: "cannot decrypt: " + err.Error()}
	}
}

func source(e *store.LedgerEntry) Source {
	return Source{SubmissionID: e.SubmissionID, FormID: e.FormID, Channel: e.Channel, Basis: e.Basis, Notice: e.Notice,
		Purposes: e.Purposes, CollectedAt: e.At}
}

// Read returns a customer's record: current values, identifiers, consent
// and ledger.
func (r *Reader) Read(ctx context.Context, id string) (*Record, error) {
	l, err := r.load(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := r.record(ctx, l)
	if err != nil {
		return nil, err
	}
	if err := r.audit(ctx, l, "show"); err != nil {
		return nil, err
	}
	return rec, nil
}

// record builds a loaded customer's record, decrypting what it may.
func (r *Reader) record(ctx context.Context, l *loaded) (*Record, error) {
	p, id := l.profile, l.profile.CustomerID
	rec := &Record{CustomerID: id, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, ReviewDueAt: p.ReviewDueAt,
		ConfirmedAt: p.ConfirmedAt, AgeBand: p.AgeBand, Consent: p.Consent,
		Fields: []Field{}, Identifiers: []Identifier{}}
	rec.Interactions = []Interaction{}
	rec.Segments = []string{}
	if st, err := r.Store.SegmentsOf(ctx, id); err == nil && st.Segments != nil {
		rec.Segments = st.Segments
	} else if err != nil {
		return nil, err
	}
	for i := range l.ledger {
		e := &l.ledger[i]
		rec.Ledger = append(rec.Ledger, LedgerView{LedgerEntry: *e, Fields: e.Fields()})
		if in := e.Interaction; in != nil {
			x := Interaction{Source: in.Source, Provider: in.Provider, Conversation: in.Conversation, At: in.At, Direction: in.Direction,
				Attachments: in.Attachments, SubmissionID: e.SubmissionID}
			if len(in.Text) > 0 {
				v := r.open(ctx, l, e.SubmissionID, store.InteractionText, in.Text)
				x.Text, x.Unreadable = v.Text, v.Unreadable
			}
			rec.Interactions = append(rec.Interactions, x)
		}
	}
	slices.Reverse(rec.Interactions)
	for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
		ref := p.Fields[name]
		e := l.byID[ref.Submission]
		if e == nil {
			rec.Fields = append(rec.Fields, Field{Field: name, Value: Value{Unreadable: "its submission is missing"}, Trust: ref.Trust})
			continue
		}
		tier, v := r.value(ctx, l, e, name)
		f := Field{Field: name, Tier: string(tier), Value: v, ReadBy: ReadBy[tier], Trust: ref.Trust, Source: source(e), ConfirmedAt: e.At}
		if ref.ConfirmedAt > 0 {
			f.ConfirmedAt = time.Unix(ref.ConfirmedAt, 0).UTC()
		}
		rec.Fields = append(rec.Fields, f)
	}
	for _, k := range slices.Sorted(maps.Keys(p.IDs)) {
		idr, _ := store.IdentifierRef(k)
		x := p.IDs[k]
		out := Identifier{Kind: idr.Kind, Trust: x.Trust, Indexed: x.Indexed, Verified: x.Verified, Confirmable: x.Confirmable}
		spec, _ := customer.IdentityOfKind(idr.Kind)
		if e := l.byID[x.Submission]; e != nil {
			tier, v := r.value(ctx, l, e, spec.Field)
			out.Tier, out.Value, out.Source = string(tier), v, source(e)
		} else {
			out.Value = Value{Unreadable: "its submission is missing"}
		}
		rec.Identifiers = append(rec.Identifiers, out)
	}
	return rec, nil
}

// HistoryRow is one value a field had, from one submission.
type HistoryRow struct {
	Field string `json:"field"`
	Value
	Tier         string    `json:"tier"`
	SubmissionID string    `json:"submission_id"`
	Channel      string    `json:"channel"`
	At           time.Time `json:"at"`
	Current      bool      `json:"current"`
	Held         bool      `json:"held,omitempty"` // brought but not applied: it disagreed with a confirmed value
}

// History returns every value each field had, field by field, oldest
// first. A restore shows as the row of the value it brought back.
func (r *Reader) History(ctx context.Context, id string) ([]HistoryRow, error) {
	l, err := r.load(ctx, id)
	if err != nil {
		return nil, err
	}
	rows := r.history(ctx, l)
	if err := r.audit(ctx, l, "history"); err != nil {
		return nil, err
	}
	return rows, nil
}

// Export is everything held about a customer, as a person's copy (PIPL
// Art. 45, GDPR Art. 15 and 20): the record (current values with
// provenance, identifiers, consent, interactions, segments, the ledger)
// and every value each field had. Unreadable lists the tiers of the values
// that could not be decrypted, whatever the reason — these credentials may
// not, a key is missing, a ciphertext is damaged (UnknownTier when it
// cannot even say its tier) — and nothing else: their values are marked
// so.
type Export struct {
	Format     string       `json:"format"` // "kehu-export/1"
	ExportedAt time.Time    `json:"exported_at"`
	Record     *Record      `json:"record"`
	History    []HistoryRow `json:"history"`
	Unreadable []string     `json:"unreadable_tiers"`
	// Withheld, on the person's own copy (ForSubject), says what it leaves
	// out and why, when it left out anything.
	Withheld string `json:"withheld,omitempty"`
}

// Export reads the whole of what is held about a customer, in one audited read.
func (r *Reader) Export(ctx context.Context, id string) (*Export, error) {
	l, err := r.load(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := r.record(ctx, l)
	if err != nil {
		return nil, err
	}
	rows := r.history(ctx, l)
	if err := r.audit(ctx, l, "export"); err != nil {
		return nil, err
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	x := &Export{Format: "kehu-export/1", ExportedAt: now.UTC(), Record: rec, History: rows, Unreadable: slices.Sorted(maps.Keys(l.unopened))}
	if x.Unreadable == nil {
		x.Unreadable = []string{}
	}
	return x, nil
}

// history lists every value each field had of a loaded customer.
func (r *Reader) history(ctx context.Context, l *loaded) []HistoryRow {
	current := map[string]string{} // field → submission whose value is current
	for f, ref := range l.profile.Fields {
		current[f] = ref.Submission
	}
	var rows []HistoryRow
	for i := range l.ledger {
		e := &l.ledger[i]
		switch e.Entity {
		case store.EntityRestore:
			from := l.byID[e.RestoredFrom]
			if from == nil {
				continue
			}
			tier, v := r.value(ctx, l, from, e.RestoredField)
			rows = append(rows, HistoryRow{Field: e.RestoredField, Value: v, Tier: string(tier), SubmissionID: e.SubmissionID,
				Channel: e.Channel, At: e.At})
		default:
			for _, f := range e.Fields() {
				tier, v := r.value(ctx, l, e, f)
				_, isID := customer.IdentityOfField(f)
				rows = append(rows, HistoryRow{Field: f, Value: v, Tier: string(tier), SubmissionID: e.SubmissionID, Channel: e.Channel,
					At: e.At, Current: isID || current[f] == e.SubmissionID, Held: slices.Contains(e.Held, f)})
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b HistoryRow) int {
		if a.Field != b.Field {
			if a.Field < b.Field {
				return -1
			}
			return 1
		}
		return a.At.Compare(b.At)
	})
	return rows
}

// ErrNotRestorable means the field cannot be restored from that submission.
var ErrNotRestorable = errors.New("not restorable")

// Restore makes the value a field had in an earlier submission current
// again, as an operator's (trusted) decision recorded in the ledger. The
// value is read (so these credentials must be able to read its tier) to
// compute its fingerprint for later comparisons.
func (r *Reader) Restore(ctx context.Context, ix *blindindex.Index, id, field, from, actor string, now time.Time, entryID string) error {
	if _, isID := customer.IdentityOfField(field); isID {
		return fmt.Errorf("%w: %s is an identifier; identifiers are never removed, so there is nothing to restore", ErrNotRestorable, field)
	}
	spec, ok := customer.Lookup(field)
	if !ok {
		return fmt.Errorf("%w: %s is not a catalogue field", ErrNotRestorable, customer.SafeName(field))
	}
	l, err := r.load(ctx, id)
	if err != nil {
		return err
	}
	e := l.byID[from]
	if e == nil || e.Entity != store.EntitySubmission || !e.Has(field) {
		return fmt.Errorf("%w: submission %s of customer %s holds no value of %s", ErrNotRestorable, from, id, field)
	}
	_, v := r.value(ctx, l, e, field)
	if v.Text == nil {
		return fmt.Errorf("%w: %s", ErrNotRestorable, v.Unreadable)
	}
	if err := r.audit(ctx, l, "restore"); err != nil {
		return err
	}
	if age, ok := customer.AgeOn(*v.Text, now); field == "birthday" && ok && (age < customer.ChildAge) != l.profile.Child() {
		// The age band moves only with a submission (a child's status is
		// never lost to a restore, nor gained without its rules).
		return fmt.Errorf("%w: this birthday would change the customer's age band; submit it instead", ErrNotRestorable)
	}
	rs := store.Restore{CustomerID: id, Field: field, From: from, Fingerprint: ix.Fingerprint(id, field, *v.Text), Actor: actor,
		EntryID: entryID, At: now, PrevVersion: l.profile.Version}
	// The catalogue decides what is kept plain, not the tier the value was
	// sealed under (a child's general values are sealed restricted).
	if spec.Tier == customer.General && !l.profile.Child() {
		rs.Plain = v.Text
	}
	return r.Store.Restore(ctx, rs)
}

// QuarantineRead says who opens quarantined payloads and what for: the
// audit record written before a payload's plaintext is returned.
type QuarantineRead struct {
	Actor   string // who: the IAM principal's ARN, or the local credential
	Purpose string // what for
	Action  string // "quarantine show", "quarantine replay", "erasure search", …
	Now     func() time.Time
	// Audited: the caller wrote the audit of this read already, naming
	// this payload among others (AuditQuarantineSearch).
	Audited bool
}

// AuditQuarantineSearch writes, before any is opened, the audit of a
// search through many quarantined payloads (an erasure's): records naming
// them all, a thousand to a record. Open each with by.Audited set.
func AuditQuarantineSearch(ctx context.Context, st *store.Store, by QuarantineRead, ids []string) error {
	if by.Actor == "" {
		return ErrNoActor
	}
	at := by.now()
	for len(ids) > 0 {
		n := min(len(ids), searchAuditChunk)
		rec := store.AuditRecord{CustomerID: store.QuarantineCustomer, Actor: by.Actor, Purpose: by.Purpose, Action: by.Action,
			Tiers: []string{string(customer.Confidential)}, At: at}
		for _, id := range ids[:n] {
			rec.Fields = append(rec.Fields, store.QuarantineAttribute(id))
		}
		if err := st.PutAudit(ctx, rec); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// searchAuditChunk is how many payloads one search audit record names:
// well within DynamoDB's 400 KB item (an id is about 50 bytes).
const searchAuditChunk = 1000

func (by QuarantineRead) now() time.Time {
	if by.Now != nil {
		return by.Now()
	}
	return time.Now()
}

// OpenQuarantined decrypts (and unzips) a quarantined payload; nil when
// none was kept. The payload is no customer's yet, so its opening is
// audited in the quarantine's own audit partition (AUDIT#quarantine, as
// store.QuarantineCustomer), naming the payload, before the plaintext is
// returned: if that write fails, nothing is returned.
func OpenQuarantined(ctx context.Context, st *store.Store, o Opener, q *store.Quarantined, by QuarantineRead) ([]byte, error) {
	if len(q.Payload) == 0 {
		return nil, nil
	}
	if by.Actor == "" {
		return nil, ErrNoActor
	}
	_, ref, _, _, err := envelope.Parse(q.Payload)
	if err != nil {
		return nil, err
	}
	keys, err := st.DataKeys(ctx, []string{ref})
	if err != nil {
		return nil, err
	}
	pt, err := o.Open(ctx, envelope.AAD{Table: st.Table(), Customer: store.QuarantineCustomer,
		Attribute: store.QuarantineAttribute(q.ID), Tier: customer.Confidential}, q.Payload, keys)
	if err != nil {
		return nil, err
	}
	if !by.Audited {
		if err := auditQuarantine(ctx, st, by, store.QuarantineCustomer, q.ID); err != nil {
			return nil, err
		}
	}
	if q.Compressed {
		zr, err := gzip.NewReader(bytes.NewReader(pt))
		if err != nil {
			return nil, err
		}
		if pt, err = io.ReadAll(io.LimitReader(zr, 8<<20)); err != nil {
			return nil, err
		}
	}
	return pt, nil
}

// AuditReplay records on a customer's own audit that a quarantined payload
// (opened as by says) was replayed into that customer.
func AuditReplay(ctx context.Context, st *store.Store, by QuarantineRead, quarantineID, customerID string) error {
	if by.Actor == "" {
		return ErrNoActor
	}
	return auditQuarantine(ctx, st, by, customerID, quarantineID)
}

func auditQuarantine(ctx context.Context, st *store.Store, by QuarantineRead, customerID, quarantineID string) error {
	return st.PutAudit(ctx, store.AuditRecord{CustomerID: customerID, Actor: by.Actor, Purpose: by.Purpose, Action: by.Action,
		Fields: []string{store.QuarantineAttribute(quarantineID)}, Tiers: []string{string(customer.Confidential)}, At: by.now()})
}
