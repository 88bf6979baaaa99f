// Package intake is the one pipeline every channel shares: check the form,
// consent (fail closed), validate and normalise, resolve the customer by
// blind index, encrypt by tier, and write everything in one transaction,
// idempotently. Channels (web forms, survey tools, chat webhooks) only turn
// their requests into a Submission and the result into their answer.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
)

// Store is what the pipeline needs of the table.
type Store interface {
	Form(ctx context.Context, id string) (*form.Definition, error)
	Lookup(ctx context.Context, refs ...store.IndexRef) (map[store.IndexRef]string, error)
	ProfileHead(ctx context.Context, id string) (*store.Profile, error)
	Acquire(ctx context.Context, keyHash, requestHash, owner string, now time.Time, lease, keep time.Duration) (*store.Idempotency, error)
	Release(ctx context.Context, keyHash, owner string) error
	Commit(ctx context.Context, c store.Commit) error
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
)

// ValidationError lists every bad field of a submission.
type ValidationError struct {
	Problems []customer.FieldError
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%d invalid fields", len(e.Problems))
}

// Submission is one channel's input, already decoded. The form it is for
// is Submit's definition argument.
type Submission struct {
	Fields         map[string][]string
	Consent        consent.Grant
	IdempotencyKey string // from the Idempotency-Key header; may be empty
	ClientIP       string // for the consent proof only; never stored raw
	UserAgent      string
}

// Result is the outcome of an accepted submission.
type Result struct {
	SubmissionID string
	CustomerID   string
	NewCustomer  bool
	Replayed     bool // an earlier answer for the same idempotency key
	Honeypot     bool // looked accepted, stored nothing
	Conflict     bool // matched two customers; recorded for review
}

// Service runs the pipeline.
type Service struct {
	Store    Store
	Sealer   Sealer
	Index    *blindindex.Index
	Table    string
	Now      func() time.Time
	NewID    func() string
	Lease    time.Duration // how long an in-flight key blocks others
	Keep     time.Duration // how long idempotency keys live (TTL)
	FormTTL  time.Duration // how long a form definition is cached
	Attempts int           // commits tried on write conflicts

	mu    sync.Mutex
	forms map[string]cachedForm
}

type cachedForm struct {
	def *form.Definition
	at  time.Time
}

// New returns a service with the usual settings.
func New(st Store, sealer Sealer, ix *blindindex.Index, table string) *Service {
	return &Service{Store: st, Sealer: sealer, Index: ix, Table: table, Now: time.Now, NewID: uuid.NewString,
		Lease: 30 * time.Second, Keep: 24 * time.Hour, FormTTL: time.Minute, Attempts: 3, forms: map[string]cachedForm{}}
}

// Form returns a form definition, cached for FormTTL in the warm function.
func (s *Service) Form(ctx context.Context, id string) (*form.Definition, error) {
	if !form.ValidID(id) {
		return nil, ErrFormNotFound
	}
	now := s.Now()
	s.mu.Lock()
	c, ok := s.forms[id]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < s.FormTTL {
		return c.def, nil
	}
	def, err := s.Store.Form(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrFormNotFound
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.forms[id] = cachedForm{def: def, at: now}
	s.mu.Unlock()
	return def, nil
}

// Submit runs one submission through the pipeline. A nil error means it is
// durably written (or was a honeypot hit, or a replay).
func (s *Service) Submit(ctx context.Context, def *form.Definition, sub Submission) (_ Result, err error) {
	now := s.Now().UTC()
	fields := maps.Clone(sub.Fields)
	if def.Honeypot != "" {
		if v := fields[def.Honeypot]; len(v) > 0 && v[0] != "" {
			return Result{SubmissionID: s.NewID(), CustomerID: s.NewID(), Honeypot: true}, nil
		}
		delete(fields, def.Honeypot)
	}
	key := sub.IdempotencyKey
	if def.IdempotencyField != "" {
		if v := fields[def.IdempotencyField]; key == "" && len(v) == 1 && v[0] != "" {
			key = "field:" + v[0]
		}
		delete(fields, def.IdempotencyField)
	}
	if key != "" && !validKey(key) {
		return Result{}, ErrBadIdempotencyKey
	}

	values, probs := def.Check(fields, now)
	if len(probs) > 0 {
		return Result{}, &ValidationError{Problems: probs}
	}
	needs := consent.Needs{}
	for _, v := range values {
		needs.Sensitive = needs.Sensitive || v.Tier == customer.Restricted
		if v.Name == "birthday" {
			if age, ok := customer.AgeOn(v.Value, now); ok && age < 14 {
				needs.Child = true
			}
		}
	}
	granted, err := consent.Check(sub.Consent, def.Consent.Requirement(), needs)
	if err != nil {
		return Result{}, err
	}

	var held *store.IdempotencyDone
	if key != "" {
		reqHash := requestHash(def.ID, values, granted, sub.Consent.Notice)
		keyHash := hashHex(def.ID + "\x00" + key)
		owner := s.NewID()
		existing, aerr := s.Store.Acquire(ctx, keyHash, reqHash, owner, now, s.Lease, s.Keep)
		if aerr != nil {
			return Result{}, aerr
		}
		if existing != nil {
			switch {
			case existing.RequestHash != reqHash:
				return Result{}, ErrIdempotencyMismatch
			case existing.State == store.Completed:
				return Result{SubmissionID: existing.Response.SubmissionID, CustomerID: existing.Response.CustomerID, Replayed: true}, nil
			default:
				return Result{}, ErrInFlight
			}
		}
		held = &store.IdempotencyDone{KeyHash: keyHash, Owner: owner}
		defer func() {
			if err != nil { // the named result: whatever failed after the key was taken
				// Let a retry proceed at once; the lease covers a failed release.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				defer cancel()
				_ = s.Store.Release(rctx, held.KeyHash, held.Owner)
			}
		}()
	}

	w := write{def: def, values: values, granted: granted, notice: sub.Consent.Notice, child: needs.Child,
		subID: s.NewID(), now: now, proof: s.Index.Proof(sub.ClientIP, sub.UserAgent), held: held}
	for attempt := 0; attempt < max(1, s.Attempts); attempt++ {
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
	values  []form.Value
	granted []consent.Purpose
	notice  string
	child   bool
	subID   string
	now     time.Time
	proof   string
	held    *store.IdempotencyDone
}

func (s *Service) commit(ctx context.Context, w write) (Result, error) {
	c, head, conflict, err := s.resolve(ctx, w)
	if err != nil {
		return Result{}, err
	}
	c.Sealed, c.Keys, c.General = map[string][]byte{}, map[string][]byte{}, map[string]string{}
	for _, v := range w.values {
		tier := v.Tier
		if w.child && tier == customer.Confidential {
			tier = customer.Restricted // any data of a child under 14 is restricted
		}
		if tier.Encrypted() {
			sealed, err := s.Sealer.Seal(ctx, envelope.AAD{Table: s.Table, Customer: c.CustomerID, Attribute: "pii." + v.Name, Tier: tier}, []byte(v.Value))
			if err != nil {
				return Result{}, err
			}
			c.Sealed[v.Name] = sealed.Blob
			c.Keys[sealed.Ref] = sealed.Wrapped
		} else {
			c.General[v.Name] = v.Value
		}
	}
	c.DropKeys = unusedKeys(head, c.Sealed, c.Keys)
	c.Consent = map[consent.Purpose]consent.State{}
	for _, p := range w.granted {
		c.Consent[p] = consent.State{Granted: true, Notice: w.notice, At: w.now}
	}
	days := w.def.ReviewAfterDays
	if days <= 0 {
		days = 365
	}
	c.At, c.ReviewDueAt = w.now, w.now.AddDate(0, 0, days)
	c.Entry = store.LedgerEntry{SubmissionID: w.subID, Action: consent.Granted, Purposes: w.granted, Notice: w.notice,
		Channel: w.def.Channel, FormID: w.def.ID, At: w.now, Proof: w.proof,
		Fields: names(w.values), NewCustomer: c.NewCustomer, IdentityReview: conflict}
	c.Idempotency = w.held
	if err := s.Store.Commit(ctx, c); err != nil {
		return Result{}, err
	}
	return Result{SubmissionID: w.subID, CustomerID: c.CustomerID, NewCustomer: c.NewCustomer, Conflict: len(conflict) > 0}, nil
}

// resolve finds the customer a submission belongs to through the blind
// index: email first, then phone. Two different customers are not merged:
// the submission attaches to the first and the other is recorded for review.
func (s *Service) resolve(ctx context.Context, w write) (store.Commit, *store.Profile, []string, error) {
	var refs []store.IndexRef
	for _, v := range w.values {
		switch v.Name {
		case "email":
			refs = append(refs, store.IndexRef{Kind: string(blindindex.Email), Hash: s.Index.Hash(blindindex.Email, v.Value)})
		case "phone":
			refs = append(refs, store.IndexRef{Kind: string(blindindex.Phone), Hash: s.Index.Hash(blindindex.Phone, v.Value)})
		}
	}
	slices.SortFunc(refs, func(a, b store.IndexRef) int { // email before phone
		return cmpKind(a.Kind) - cmpKind(b.Kind)
	})
	found, err := s.Store.Lookup(ctx, refs...)
	if err != nil {
		return store.Commit{}, nil, nil, err
	}
	target := ""
	var others []string
	for _, r := range refs {
		switch owner := found[r]; {
		case owner == "":
		case target == "":
			target = owner
		case owner != target && !slices.Contains(others, owner):
			others = append(others, owner)
		}
	}
	c := store.Commit{IndexSet: map[string]string{}}
	if target != "" {
		head, err := s.Store.ProfileHead(ctx, target)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The index points to a profile that is gone (erased): start afresh.
			c.StaleIndexOwner, target = target, ""
		case err != nil:
			return store.Commit{}, nil, nil, err
		default:
			c.CustomerID, c.PrevVersion = target, head.Version
			current := map[string]string{"email": head.IndexEmail, "phone": head.IndexPhone}
			for _, r := range refs {
				if owner := found[r]; owner != "" && owner != target {
					continue // belongs to another customer: recorded for review, not re-pointed
				}
				if found[r] == "" {
					c.IndexPut = append(c.IndexPut, r)
				}
				if old := current[r.Kind]; old != r.Hash {
					c.IndexSet[r.Kind] = r.Hash
					if old != "" {
						c.IndexDelete = append(c.IndexDelete, store.IndexRef{Kind: r.Kind, Hash: old})
					}
				}
			}
			return c, head, others, nil
		}
	}
	c.CustomerID, c.NewCustomer = s.NewID(), true
	for _, r := range refs {
		if owner := found[r]; owner != "" && owner != c.StaleIndexOwner {
			continue
		}
		c.IndexPut = append(c.IndexPut, r)
		c.IndexSet[r.Kind] = r.Hash
	}
	return c, nil, others, nil
}

// unusedKeys lists the data keys of an existing profile that no field will
// use once the new values replace theirs.
func unusedKeys(head *store.Profile, sealed map[string][]byte, added map[string][]byte) []string {
	if head == nil {
		return nil
	}
	used := map[string]bool{}
	for ref := range added {
		used[ref] = true
	}
	for field, blob := range head.Sealed {
		if _, replaced := sealed[field]; replaced {
			continue
		}
		if _, ref, _, _, err := envelope.Parse(blob); err == nil {
			used[ref] = true
		}
	}
	var drop []string
	for ref := range head.Keys {
		if !used[ref] {
			drop = append(drop, ref)
		}
	}
	slices.Sort(drop)
	return drop
}

func cmpKind(k string) int {
	if k == string(blindindex.Email) {
		return 0
	}
	return 1
}

func names(vs []form.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	slices.Sort(out)
	return out
}

// requestHash identifies a request's content for idempotency: the same
// normalised values and consent give the same hash whatever the encoding.
func requestHash(formID string, vs []form.Value, granted []consent.Purpose, notice string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q\n", formID)
	for _, v := range vs {
		fmt.Fprintf(h, "%q=%q\n", v.Name, v.Value)
	}
	fmt.Fprintf(h, "%q %q\n", granted, notice)
	return hex.EncodeToString(h.Sum(nil))
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func validKey(k string) bool {
	if len(k) == 0 || len(k) > 255+len("field:") {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
