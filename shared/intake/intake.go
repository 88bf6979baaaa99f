// Package intake is the one pipeline every channel shares: check the form,
// consent (fail closed), validate and normalise, resolve the customer by
// blind index under the trust rules, encrypt by tier, and write everything
// in one transaction, idempotently. Channels (web forms, survey tools, chat
// webhooks) only turn their requests into a Submission and the result into
// their answer.
package intake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// Store is what the pipeline needs of the table.
type Store interface {
	Form(ctx context.Context, id string) (*form.Definition, error)
	Lookup(ctx context.Context, refs ...store.IndexRef) (map[store.IndexRef]string, error)
	ProfileHead(ctx context.Context, id string) (*store.Profile, error)
	Acquire(ctx context.Context, keyHash, requestHash, owner string, now time.Time, lease, keep time.Duration) (*store.Idempotency, error)
	Release(ctx context.Context, keyHash, owner string) error
	Commit(ctx context.Context, c store.Commit) error
	PutQuarantine(ctx context.Context, q store.Quarantined, d store.Delivery, keys []store.DataKey) error
	Order(ctx context.Context, key string) (*store.OrderRecord, error)
	Withdraw(ctx context.Context, w store.Withdrawal) error
	Verify(ctx context.Context, v store.Verification) error
	RecordRefused(ctx context.Context, d store.Delivery, now time.Time) error
	Delivered(ctx context.Context, key string, now time.Time) (bool, error)
}

// Sealer encrypts one value for its tier.
type Sealer interface {
	Seal(ctx context.Context, aad envelope.AAD, plaintext []byte) (envelope.Sealed, error)
}

var (
	_ Store  = (*store.Store)(nil)
	_ Sealer = (*envelope.Sealer)(nil)
)

// Errors the channels map to answers.
var (
	ErrFormNotFound        = errors.New("form not found")
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	ErrInFlight            = errors.New("a request with this idempotency key is still in flight")
	ErrContention          = errors.New("too many concurrent writes for this customer")
	ErrBadIdempotencyKey   = errors.New("idempotency key must be 1 to 255 printable ASCII characters")
	ErrSubjectNotFound     = errors.New("the customer this submission is for does not exist")
)

// ValidationError lists every bad field of a submission.
type ValidationError struct {
	Problems []customer.FieldError
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%d invalid fields", len(e.Problems))
}

// Submission is one channel's input, already decoded. The form (or
// source) it is for is Submit's definition argument.
type Submission struct {
	Fields  map[string][]string
	Consent consent.Grant

	// IdempotencyKey is the client's key (the Idempotency-Key header);
	// IdempotencyKeySent says the header was there, even if empty.
	IdempotencyKey     string
	IdempotencyKeySent bool

	ClientIP  string // for the consent proof only; never stored raw
	UserAgent string

	// Trust says how far the submission's identity is proven; "" is
	// customer.Asserted. Subject is the customer a signed link (Proven) or
	// a trusted system names; the identifiers it carries are then added to
	// that customer rather than used to find one.
	Trust   customer.Trust
	Subject string
	// Basis overrides the definition's legal basis ("" keeps it).
	Basis consent.Basis

	// Interaction, for a message from a chat tool: kept on the customer's
	// ledger entry, its text sealed like a confidential field.
	Interaction *Interaction
	// Delivery, for a provider's event: a keyed hash of source and event
	// id, recorded in the same transaction; store.ErrDuplicate if taken.
	Delivery string
	// Order, for an order event: recorded once per order and added to (or,
	// refunded, taken back from) the customer's trade aggregates.
	Order *store.OrderChange

	// Link, for an answer through a single-use signed link: marked used in
	// the same transaction (store.ErrLinkUsed if it was).
	Link *store.LinkUse
	// Withdraw, for a proven submission: purposes the person withdrew
	// (an update survey's unticked consent).
	Withdraw []consent.Purpose
	// Confirm, for a proven submission: fields the person confirmed as
	// they are on file (those present are marked confirmed now).
	Confirm []string
}

// Interaction is one message between a person and the company.
// Direction is webhook.Inbound (from the person) or webhook.Outbound (to
// them): the mapped event's own words.
type Interaction struct {
	Source, Provider, Conversation, Direction string
	At                                        time.Time
	Text                                      string
	Attachments                               []string
}

// Result is the outcome of an accepted submission.
type Result struct {
	SubmissionID string
	CustomerID   string
	NewCustomer  bool
	Replayed     bool     // an earlier answer for the same idempotency key
	Honeypot     bool     // looked accepted, stored nothing
	Review       string   // "" or store.ReviewIdentity / store.ReviewValues: left for a person to decide
	Held         []string // fields not applied because they disagree with confirmed values
}

// Service runs the pipeline.
type Service struct {
	Store    Store
	Sealer   Sealer
	Index    *blindindex.Index
	Table    string
	Now      func() time.Time
	NewID    func() string // customer ids
	NewSubID func() string // submission ids: time-ordered
	Lease    time.Duration // how long an in-flight key blocks others
	Keep     time.Duration // how long idempotency keys live (TTL)
	FormTTL  time.Duration // how long a form definition (or its absence) is cached
	Attempts int           // commits tried on write conflicts
	// Budget bounds a whole submission when the caller's context has no
	// earlier deadline; CommitTimeout bounds the transaction, which runs
	// to its end even if the client goes away.
	Budget        time.Duration
	CommitTimeout time.Duration

	mu     sync.Mutex
	forms  map[string]cachedForm
	stored sync.Map // data-key refs known to be in the table
}

type cachedForm struct {
	def *form.Definition // nil: no such form
	at  time.Time
}

// maxCachedForms bounds the form cache: unknown ids come from clients.
const maxCachedForms = 1024

// New returns a service with the usual settings.
func New(st Store, sealer Sealer, ix *blindindex.Index, table string) *Service {
	return &Service{Store: st, Sealer: sealer, Index: ix, Table: table, Now: time.Now, NewID: uuid.NewString, NewSubID: newV7,
		Lease: 30 * time.Second, Keep: 24 * time.Hour, FormTTL: time.Minute, Attempts: 3,
		Budget: 8 * time.Second, CommitTimeout: 4 * time.Second, forms: map[string]cachedForm{}}
}

func newV7() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// Form returns a form definition, cached for FormTTL in the warm function;
// an unknown id is cached too, so a client cannot make every request read
// the table.
func (s *Service) Form(ctx context.Context, id string) (*form.Definition, error) {
	if !form.ValidID(id) {
		return nil, ErrFormNotFound
	}
	now := s.Now()
	s.mu.Lock()
	c, ok := s.forms[id]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.FormTTL {
		if c.def == nil {
			return nil, ErrFormNotFound
		}
		return c.def, nil
	}
	def, err := s.Store.Form(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	s.mu.Lock()
	if s.forms == nil || len(s.forms) >= maxCachedForms {
		s.forms = map[string]cachedForm{}
	}
	s.forms[id] = cachedForm{def: def, at: now}
	s.mu.Unlock()
	if def == nil {
		return nil, ErrFormNotFound
	}
	return def, nil
}

// Submit runs one submission through the pipeline. A nil error means it is
// durably written (or was a honeypot hit, or a replay).
func (s *Service) Submit(ctx context.Context, def *form.Definition, sub Submission) (_ Result, err error) {
	if _, ok := ctx.Deadline(); !ok && s.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Budget)
		defer cancel()
	}
	now := s.Now().UTC()
	trust := sub.Trust
	if trust == "" {
		trust = customer.Asserted
	}
	// A proven submission names its customer; an asserted one never does
	// (it would attach to whoever it names).
	if !trust.Valid() || trust == customer.Proven && sub.Subject == "" || trust == customer.Asserted && sub.Subject != "" {
		return Result{}, fmt.Errorf("submission with trust %q and subject set %v: only a proven or trusted submission names its customer", trust, sub.Subject != "")
	}
	fields := maps.Clone(sub.Fields)
	if def.Honeypot != "" {
		for _, v := range fields[def.Honeypot] {
			if strings.TrimSpace(v) != "" {
				return Result{SubmissionID: s.NewSubID(), CustomerID: s.NewID(), Honeypot: true}, nil
			}
		}
		delete(fields, def.Honeypot)
	}
	scope, key := "header", sub.IdempotencyKey
	if sub.IdempotencyKeySent && !validKey(key) {
		return Result{}, ErrBadIdempotencyKey
	}
	if def.IdempotencyField != "" {
		if v, ok := fields[def.IdempotencyField]; ok {
			if len(v) != 1 || (v[0] != "" && !validKey(v[0])) {
				return Result{}, &ValidationError{Problems: []customer.FieldError{{Field: def.IdempotencyField, Code: "invalid_idempotency_key",
					Detail: "must be given once, 1 to 255 printable ASCII characters"}}}
			}
			if !sub.IdempotencyKeySent && v[0] != "" {
				scope, key = "field", v[0]
			}
		}
		delete(fields, def.IdempotencyField)
	}

	values, probs := def.Check(fields, now)
	if len(probs) > 0 {
		return Result{}, &ValidationError{Problems: probs}
	}
	needs := consent.Needs{}
	for _, v := range values {
		needs.Sensitive = needs.Sensitive || v.Tier == customer.Restricted
		if v.Name == "birthday" {
			if age, ok := customer.AgeOn(v.Value, now); ok && age < customer.ChildAge {
				needs.Child = true
			}
		}
	}
	req := def.Consent.Requirement()
	req.Basis = def.Basis
	if sub.Basis != "" {
		req.Basis = sub.Basis
	}
	granted, err := consent.Check(sub.Consent, req, needs)
	if err != nil {
		return Result{}, err
	}

	w := write{def: def, trust: trust, subject: sub.Subject, basis: req.Basis, req: req, needs: needs, grant: sub.Consent,
		values: values, granted: granted, notice: sub.Consent.Notice, subID: s.NewSubID(), now: now,
		proof: s.Index.Proof(sub.ClientIP, sub.UserAgent), interaction: sub.Interaction, delivery: sub.Delivery, order: sub.Order,
		link: sub.Link}
	if trust == customer.Proven {
		w.confirm = sub.Confirm
		for _, p := range sub.Withdraw {
			if p.Valid() && !slices.Contains(granted, p) && !slices.Contains(w.withdraw, p) {
				w.withdraw = append(w.withdraw, p)
			}
		}
	}
	w.facts = s.facts(values, &w)

	if sub.IdempotencyKeySent || key != "" {
		reqHash := s.Index.Request(w.canonical())
		keyHash := s.Index.IdempotencyKey(def.ID+"\x00"+scope, key)
		owner := s.NewSubID()
		existing, aerr := s.Store.Acquire(ctx, keyHash, reqHash, owner, now, s.Lease, s.Keep)
		if aerr != nil {
			return Result{}, aerr
		}
		if existing != nil {
			switch {
			case existing.RequestHash != reqHash:
				return Result{}, ErrIdempotencyMismatch
			case existing.State == store.Completed:
				return Result{SubmissionID: existing.Response.SubmissionID, Replayed: true}, nil
			default:
				return Result{}, ErrInFlight
			}
		}
		w.held = &store.IdempotencyDone{KeyHash: keyHash, Owner: owner}
		defer func() {
			if err != nil { // the named result: whatever failed after the key was taken
				// Let a retry proceed at once; the lease covers a failed
				// release, and a completed key is never released.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				_ = s.Store.Release(rctx, w.held.KeyHash, w.held.Owner)
			}
		}()
	}

	for attempt := 0; attempt < max(1, s.Attempts); attempt++ {
		// Each attempt is a transaction of its own (other items, read
		// again): its own client request token.
		w.token = strings.ReplaceAll(w.subID, "-", "") + "-" + strconv.Itoa(attempt)
		res, err := s.commit(ctx, w)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return res, err
	}
	return Result{}, ErrContention
}

// write is one submission on its way to the table.
type write struct {
	def     *form.Definition
	trust   customer.Trust
	subject string
	basis   consent.Basis
	req     consent.Requirement
	needs   consent.Needs
	grant   consent.Grant
	values  []form.Value
	facts   facts
	granted []consent.Purpose
	notice  string
	subID   string
	now     time.Time
	proof   string
	held    *store.IdempotencyDone

	interaction *Interaction
	delivery    string
	order       *store.OrderChange
	token       string
	link        *store.LinkUse
	withdraw    []consent.Purpose
	confirm     []string
}

// ownActivity reports whether the submission is the customer's own act,
// which moves the retention clock (store.Commit.Active): a form post, a
// survey answer, a message from the person (direction "inbound"), an order
// they placed. A message the company sent to them (any other direction)
// and a refund are not.
func (w *write) ownActivity() bool {
	if in := w.interaction; in != nil && in.Direction != webhook.Inbound {
		return false
	}
	return w.order == nil || !w.order.Refund
}

// canonical is the request's content for its idempotency hash: the same
// normalised values, consent and identity claim whatever the encoding.
func (w *write) canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q\n", w.def.ID, w.trust, w.subject)
	for _, v := range w.values {
		fmt.Fprintf(&b, "%q=%q\n", v.Name, v.Value)
	}
	fmt.Fprintf(&b, "%q %q %q\n", w.granted, w.notice, w.basis)
	return b.String()
}

func (s *Service) commit(ctx context.Context, w write) (Result, error) {
	p, err := s.plan(ctx, w)
	if err != nil {
		return Result{}, err
	}
	if p.child && !w.needs.Child {
		// A child's status stays with the customer: this submission needs
		// the guardian's consent even without a birthday.
		if _, err := consent.Check(w.grant, w.req, consent.Needs{Sensitive: w.needs.Sensitive, Child: true}); err != nil {
			return Result{}, err
		}
	}
	c := p.commit
	c.At = w.now
	action := consent.Granted
	if len(w.granted) == 0 {
		action = "" // processing rests on another basis and nothing was consented to
	}
	c.Entry = store.LedgerEntry{SubmissionID: w.subID, Action: action, Basis: w.basis, Trust: w.trust,
		Purposes: w.granted, Notice: w.notice, Channel: w.def.Channel, FormID: w.def.ID, At: w.now, Proof: w.proof,
		NewCustomer: c.NewCustomer, IdentityReview: p.alsoMatched, Held: p.heldFields, Withdrawn: p.withdrawn, Confirmed: p.confirmed}
	c.Link = w.link
	c.Entry.Restricted = p.head != nil && p.head.Restricted
	keys := newKeys{}
	seal := func(attribute string, tier customer.Tier, plaintext string) ([]byte, error) {
		return s.seal(ctx, envelope.AAD{Table: s.Table, Customer: c.CustomerID, Attribute: store.ValueAttribute(w.subID, attribute), Tier: tier},
			[]byte(plaintext), keys)
	}
	if in := w.interaction; in != nil {
		c.Entry.Interaction = &store.Interaction{Source: in.Source, Provider: in.Provider, Conversation: s.Index.Conversation(in.Source, in.Conversation),
			Direction: in.Direction, At: in.At.UTC(), Attachments: in.Attachments}
		if in.Text != "" {
			tier := customer.Confidential // free text of chats (DESIGN.md)
			if p.child {
				tier = customer.Restricted
			}
			blob, err := seal(store.InteractionText, tier, in.Text)
			if err != nil {
				return Result{}, err
			}
			c.Entry.Interaction.Text = blob
		}
	}
	if w.delivery != "" {
		c.Delivery = &store.Delivery{Key: w.delivery}
	}
	if o := w.order; o != nil {
		c.Order, c.Head = o, p.head
		c.Entry.Order = &store.LedgerOrder{Ref: o.Key, Refund: o.Refund, Amount: o.Amount, Currency: o.Currency, At: o.At.UTC()}
	}
	for _, v := range w.values {
		tier := v.Tier
		if p.child {
			tier = customer.Restricted // any data of a child under 14, general fields included
		}
		if !tier.Encrypted() {
			if c.Entry.Plain == nil {
				c.Entry.Plain = map[string]string{}
			}
			c.Entry.Plain[v.Name] = v.Value
			continue
		}
		blob, err := seal(v.Name, tier, v.Value)
		if err != nil {
			return Result{}, err
		}
		if c.Entry.Sealed == nil {
			c.Entry.Sealed = map[string][]byte{}
		}
		c.Entry.Sealed[v.Name] = blob
	}
	c.DataKeys = keys.list()
	days := w.def.ReviewAfterDays
	if days <= 0 {
		days = 365
	}
	if c.NewCustomer || w.trust != customer.Asserted {
		c.ReviewDueAt = w.now.AddDate(0, 0, days) // the details were just given or confirmed
	}
	c.Confirmed = w.trust == customer.Proven
	c.Active = w.ownActivity()
	c.Idempotency, c.Token = w.held, w.token
	// From here on the outcome must not depend on the client: a client that
	// hangs up does not cancel a transaction that may already be applied.
	cctx, cancel := commitContext(ctx, s.CommitTimeout)
	defer cancel()
	if err := s.Store.Commit(cctx, c); err != nil {
		return Result{}, err
	}
	s.remember(keys)
	res := Result{SubmissionID: w.subID, CustomerID: c.CustomerID, NewCustomer: c.NewCustomer, Held: p.heldFields}
	if c.Review != nil {
		res.Review = c.Review.Kind
	}
	return res, nil
}

// commitContext keeps ctx's deadline (the function's own) but not its
// cancellation, and bounds the commit by timeout.
func commitContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
