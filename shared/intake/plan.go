package intake

import (
	"context"
	"errors"
	"slices"

	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
)

// facts are what the trust rules need to know of a submission, none of it
// personal data: its identifiers' blind-index refs and its other values'
// fingerprints.
type facts struct {
	ids    []store.IndexRef // in match priority order
	fields []fieldFact      // non-identifier values
}

type fieldFact struct {
	name        string
	tier        customer.Tier
	value       string // plain, for the general tier only
	fingerprint string
}

func (s *Service) facts(values []form.Value) facts {
	var f facts
	for _, v := range values {
		if id, ok := customer.IdentityOfField(v.Name); ok {
			f.ids = append(f.ids, store.IndexRef{Kind: id.Kind, Hash: s.Index.Identity(id.Kind, v.Value)})
			continue
		}
		ff := fieldFact{name: v.Name, tier: v.Tier, fingerprint: s.Index.Fingerprint(v.Name, v.Value)}
		if v.Tier == customer.General {
			ff.value = v.Value
		}
		f.fields = append(f.fields, ff)
	}
	slices.SortStableFunc(f.ids, func(a, b store.IndexRef) int { return a.Kind.Priority() - b.Kind.Priority() })
	return f
}

// plan is what a submission will write, decided by the trust rules.
type plan struct {
	commit      store.Commit
	child       bool
	alsoMatched []string
	heldFields  []string
}

// plan reads what the rules need (the blind index, the matched profile)
// and decides.
func (s *Service) plan(ctx context.Context, w write) (plan, error) {
	owners, err := s.Store.Lookup(ctx, w.facts.ids...)
	if err != nil {
		return plan{}, err
	}
	candidate := w.subject
	if candidate == "" {
		if distinct := ownersOf(w.facts.ids, owners); len(distinct) == 1 {
			candidate = distinct[0]
		}
	}
	var head *store.Profile
	stale := ""
	if candidate != "" {
		head, err = s.Store.ProfileHead(ctx, candidate)
		switch {
		case errors.Is(err, store.ErrNotFound) && w.subject != "":
			return plan{}, ErrSubjectNotFound
		case errors.Is(err, store.ErrNotFound):
			// The index points to a profile that is gone (erased): its
			// entries may be taken over by a new customer.
			head, stale = nil, candidate
		case err != nil:
			return plan{}, err
		}
	}
	return decide(w, owners, head, stale, s.NewID()), nil
}

func ownersOf(refs []store.IndexRef, owners map[store.IndexRef]string) []string {
	var out []string
	for _, r := range refs {
		if o := owners[r]; o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// decide applies the trust rules (README, "Identity and trust"). It is pure:
// owners are the blind index's answers, head the profile of the customer
// the submission would attach to (nil for none), stale an erased customer
// whose index entries may be taken over, newID the id a new customer gets.
//
//   - A proven or trusted submission naming its subject attaches to it.
//   - Otherwise one matched customer is the target, unless an asserted
//     submission disagrees with it: it brings an identifier of a kind the
//     customer already has, with another value (same phone, a different
//     email on file). Then, as when its identifiers point to two
//     customers, nothing of theirs changes: the submission becomes a
//     customer of its own, and the question goes to review.
//   - Identifiers are only ever added: an identifier another customer
//     holds is kept on this one unindexed, never re-pointed.
//   - A value replaces the current one only if its trust may (an asserted
//     value never replaces one the customer confirmed or a trusted system
//     set); otherwise it is held, kept in the ledger, and reviewed.
func decide(w write, owners map[store.IndexRef]string, head *store.Profile, stale, newID string) plan {
	var p plan
	c := store.Commit{Fields: map[string]store.FieldRef{}, General: map[string]string{}, IDs: map[string]store.Identifier{},
		StaleIndexOwner: stale}
	distinct := ownersOf(w.facts.ids, owners)
	if stale != "" {
		distinct = slices.DeleteFunc(distinct, func(o string) bool { return o == stale })
	}
	disagree := len(distinct) > 1 && w.subject == ""
	if head != nil && w.subject == "" && w.trust == customer.Asserted {
		for _, r := range w.facts.ids {
			if owners[r] == "" && len(head.IdentifiersOf(r.Kind)) > 0 {
				disagree = true
			}
		}
	}
	if disagree {
		head = nil
	}
	if head != nil {
		c.CustomerID, c.PrevVersion = head.CustomerID, head.Version
	} else {
		c.CustomerID, c.NewCustomer = newID, true
	}
	for _, o := range distinct {
		if o != c.CustomerID {
			p.alsoMatched = append(p.alsoMatched, o)
		}
	}

	for _, r := range w.facts.ids {
		owner := owners[r]
		switch {
		case owner == c.CustomerID:
			if cur := head.IDs[r.Key()]; w.trust == customer.Trusted && !cur.Verified {
				cur.Verified, cur.Trust = true, customer.Trusted
				c.IDs[r.Key()] = cur
			}
		case owner == "" || owner == stale:
			c.IDs[r.Key()] = store.Identifier{Submission: w.subID, Trust: w.trust, At: w.now.Unix(), Indexed: true,
				Verified:    w.trust == customer.Trusted,
				Confirmable: c.NewCustomer || w.trust != customer.Asserted}
			c.IndexPut = append(c.IndexPut, r)
		default: // another customer's: kept for the record, never matched
			if head != nil {
				if _, ok := head.IDs[r.Key()]; ok {
					continue
				}
			}
			c.IDs[r.Key()] = store.Identifier{Submission: w.subID, Trust: w.trust, At: w.now.Unix()}
		}
	}

	p.child = w.needs.Child || (head != nil && head.Child())
	if w.needs.Child && (head == nil || !head.Child()) {
		c.AgeBand = customer.AgeBandChild
		c.ClearGeneral = head != nil // a child's general fields are restricted too
	}
	for _, f := range w.facts.fields {
		var cur store.FieldRef
		var has bool
		if head != nil {
			cur, has = head.Fields[f.name]
		}
		switch {
		case has && cur.Fingerprint == f.fingerprint:
			// The same value again: it keeps pointing where it came from;
			// the customer or a trusted system repeating it confirms it.
			if w.trust != customer.Asserted {
				if w.trust == customer.Trusted || cur.Trust != customer.Trusted {
					cur.Trust = w.trust
				}
				cur.ConfirmedAt = w.now.Unix()
				c.Fields[f.name] = cur
			}
			continue
		case has && !w.trust.MayReplace(cur.Trust):
			p.heldFields = append(p.heldFields, f.name)
			continue
		}
		c.Fields[f.name] = store.FieldRef{Submission: w.subID, Trust: w.trust, Fingerprint: f.fingerprint}
		if f.tier == customer.General && !p.child {
			c.General[f.name] = f.value
		}
	}
	switch {
	case len(p.alsoMatched) > 0:
		c.Review = &store.Review{Kind: store.ReviewIdentity, AlsoMatched: p.alsoMatched, Fields: p.heldFields}
	case len(p.heldFields) > 0:
		c.Review = &store.Review{Kind: store.ReviewValues, Fields: p.heldFields}
	}
	p.commit = c
	return p
}
