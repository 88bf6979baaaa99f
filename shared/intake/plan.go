package intake

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
)

// facts are what the trust rules need to know of a submission: its
// identifiers' blind-index refs, and its other values (fingerprinted for
// the customer they are compared with).
type facts struct {
	ids    []store.IndexRef // in match priority order
	fields []fieldFact      // non-identifier values
	// birthday is the age a submitted birthday gives (-1: none).
	age int
}

type fieldFact struct {
	name  string
	tier  customer.Tier
	value string // normalised; fingerprinted, never stored by the plan except general-tier values
}

func (s *Service) facts(values []form.Value, w *write) facts {
	f := facts{age: -1}
	for _, v := range values {
		if id, ok := customer.IdentityOfField(v.Name); ok {
			f.ids = append(f.ids, store.IndexRef{Kind: id.Kind, Hash: s.Index.Identity(id.Kind, v.Value)})
			continue
		}
		if v.Name == "birthday" {
			if age, ok := customer.AgeOn(v.Value, w.now); ok {
				f.age = age
			}
		}
		f.fields = append(f.fields, fieldFact{name: v.Name, tier: v.Tier, value: v.Value})
	}
	slices.SortStableFunc(f.ids, func(a, b store.IndexRef) int { return a.Kind.Priority() - b.Kind.Priority() })
	return f
}

// plan is what a submission will write, decided by the trust rules.
type plan struct {
	commit      store.Commit
	head        *store.Profile // the profile written to, as read (nil: a new customer)
	child       bool
	alsoMatched []string
	heldFields  []string
	confirmed   []string          // fields confirmed as they are on file
	withdrawn   []consent.Purpose // purposes withdrawn
}

// plan reads what the rules need (the blind index, the profiles it points
// to) and decides.
func (s *Service) plan(ctx context.Context, w write) (plan, error) {
	owners, err := s.Store.Lookup(ctx, w.facts.ids...)
	if err != nil {
		return plan{}, err
	}
	heads := map[string]*store.Profile{}
	var stale []string
	candidates := ownersOf(w.facts.ids, owners)
	if w.subject != "" && !slices.Contains(candidates, w.subject) {
		candidates = append([]string{w.subject}, candidates...)
	}
	for _, id := range candidates {
		head, err := s.Store.ProfileHead(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound) && id == w.subject:
			return plan{}, ErrSubjectNotFound
		case errors.Is(err, store.ErrNotFound):
			// The index points to a profile that is gone (erased): its
			// entries may be taken over by a new customer.
			stale = append(stale, id)
		case err != nil:
			return plan{}, err
		default:
			heads[id] = head
		}
	}
	return decide(w, owners, heads, stale, s.NewID(), s.Index.Fingerprint), nil
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

// anchors reports whether the customer holds an identifier of kind that
// speaks for them: one a trusted system set or a click verified, one that
// created the customer, or one the customer added through a proven link.
// An identifier an anonymous post added does not: it cannot claim the
// customer's empty slot and turn their own next address into a dispute.
func anchors(head *store.Profile, kind customer.IdentityKind) bool {
	for _, k := range head.IdentifiersOf(kind) {
		if x := head.IDs[k]; x.Indexed && (x.Verified || x.Confirmable || x.Trust == customer.Trusted) {
			return true
		}
	}
	return false
}

// decide applies the trust rules (README, "Identity and trust"). It is pure:
// owners are the blind index's answers, heads the profiles they (and the
// subject) point to, stale the erased customers whose index entries may be
// taken over (an entry of theirs counts as unclaimed), newID the id a new customer gets, fingerprint the keyed hash
// values are compared by.
//
//   - A proven or trusted submission naming its subject attaches to it.
//   - Otherwise one matched customer is the target, unless an asserted
//     submission disagrees with it: it brings an identifier of a kind the
//     customer already holds (and that speaks for them) with another
//     value. Then, as when its identifiers point to two customers, nothing
//     of theirs changes: the submission becomes a customer of its own, and
//     the question goes to review.
//   - Identifiers are only ever added: one another customer holds is kept
//     on this one unindexed, never re-pointed.
//   - A value replaces the current one only if its trust may (an asserted
//     value never replaces one the customer confirmed or a trusted system
//     set); otherwise it is held, kept in the ledger, and reviewed.
//   - A child's status is never lost: a submission attached to a child, or
//     one that becomes a customer of its own after touching a child
//     (disagreeing with one), is a child's.
func decide(w write, owners map[store.IndexRef]string, heads map[string]*store.Profile, stale []string, newID string,
	fingerprint func(customerID, field, value string) string) plan {
	var p plan
	c := store.Commit{Fields: map[string]store.FieldRef{}, General: map[string]string{}, IDs: map[string]store.Identifier{},
		StaleIndexOwners: stale}
	unclaimed := func(r store.IndexRef) bool { return owners[r] == "" || slices.Contains(stale, owners[r]) }
	distinct := slices.DeleteFunc(ownersOf(w.facts.ids, owners), func(o string) bool { return slices.Contains(stale, o) })
	var head *store.Profile
	switch {
	case w.subject != "":
		head = heads[w.subject]
	case len(distinct) == 1:
		head = heads[distinct[0]]
	}
	disagree := len(distinct) > 1 && w.subject == ""
	if head != nil && w.subject == "" && w.trust == customer.Asserted {
		for _, r := range w.facts.ids {
			if unclaimed(r) && anchors(head, r.Kind) {
				disagree = true
			}
		}
	}
	if disagree {
		head = nil
	}
	// A submission attached to a customer is a child's if that customer
	// is; one that becomes a customer of its own is if any customer it
	// touched is.
	touchesChild := head != nil && head.Child()
	if head == nil {
		for _, h := range heads {
			touchesChild = touchesChild || h.Child()
		}
	}
	if head != nil {
		c.CustomerID, c.PrevVersion = head.CustomerID, head.Version
		if w.subject == "" {
			// Found by the blind index: a duplicate customer prevented.
			c.Matched = maps.Clone(head.Matched)
			if c.Matched == nil {
				c.Matched = map[string]int64{}
			}
			c.Matched[w.def.Channel]++
		}
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
			// A trusted system repeating an identifier raises its trust,
			// never makes it verified: only a click on a link sent to it
			// (or creating the customer with it) does, or two orders
			// naming someone else's address would make it the customer's.
			if cur := head.IDs[r.Key()]; w.trust == customer.Trusted && cur.Trust != customer.Trusted {
				cur.Trust = customer.Trusted
				c.IDs[r.Key()] = cur
			}
		case unclaimed(r) && w.trust == customer.Proven && !c.NewCustomer:
			// An address the person adds through their own link is theirs
			// only once a click on a confirmation sent to it proves it:
			// until then it claims no index entry (nobody else's later
			// posts attach here), and the sender asks it to confirm.
			c.IDs[r.Key()] = store.Identifier{Submission: w.subID, Trust: w.trust, At: w.now.Unix(), Confirmable: true}
		case unclaimed(r):
			// Verified (links to the privacy page and the copy go there)
			// only when a trusted system creates the customer with it.
			// One added to an existing customer by anyone but the person
			// through their own link is neither verified nor confirmable:
			// an order with the customer's phone and another address must
			// not bring that address a confirmation to click, or the
			// customer's data with it.
			c.IDs[r.Key()] = store.Identifier{Submission: w.subID, Trust: w.trust, At: w.now.Unix(), Indexed: true,
				Verified:    w.trust == customer.Trusted && c.NewCustomer,
				Confirmable: c.NewCustomer}
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

	wasChild := head != nil && head.Child()
	for _, f := range w.facts.fields {
		fp := fingerprint(c.CustomerID, f.name, f.value)
		var cur store.FieldRef
		var has bool
		if head != nil {
			cur, has = head.Fields[f.name]
		}
		switch {
		case has && cur.Fingerprint == fp && (wasChild || !childOf(w, touchesChild)):
			// The same value again: it keeps pointing where it came from;
			// the customer or a trusted system repeating it confirms it.
			// (Not when the customer just turned out to be a child: the
			// value then points to this submission, stored restricted.)
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
		c.Fields[f.name] = store.FieldRef{Submission: w.subID, Trust: w.trust, Fingerprint: fp}
	}

	// Fields the person confirmed as they are (a proven answer): their
	// confirmation time is recorded, unless this submission brought a
	// value of its own for them. Their trust stays: the person confirmed
	// without seeing the values (no link shows them), so a value someone
	// else planted must not become the customer's own.
	if head != nil && w.trust == customer.Proven {
		for _, name := range w.confirm {
			cur, has := head.Fields[name]
			if _, brought := c.Fields[name]; !has || brought || slices.Contains(p.heldFields, name) || slices.Contains(p.confirmed, name) {
				continue
			}
			cur.ConfirmedAt = w.now.Unix()
			c.Fields[name] = cur
			p.confirmed = append(p.confirmed, name)
		}
	}

	// Age band: any applied birthday under 14, or touching a child
	// customer, makes (or keeps) the customer a child; only a trusted
	// system's birthday of 14 or over lifts it.
	_, birthdayApplied := c.Fields["birthday"]
	p.child = wasChild || touchesChild || (w.facts.age >= 0 && w.facts.age < customer.ChildAge && birthdayApplied)
	switch {
	case p.child && !wasChild:
		c.AgeBand = customer.AgeBandChild
		c.ClearGeneral = head != nil // a child's general fields are restricted too
	case wasChild && w.trust == customer.Trusted && birthdayApplied && w.facts.age >= customer.ChildAge:
		p.child, c.ClearAgeBand = false, true
	}
	for _, f := range w.facts.fields {
		if ref, ok := c.Fields[f.name]; ok && ref.Submission == w.subID && f.tier == customer.General && !p.child {
			c.General[f.name] = f.value
		}
	}

	// Consent: an asserted grant does not overwrite what the customer or a
	// trusted system recorded (a grant, or later a withdrawal); it stays in
	// the ledger.
	c.Consent = map[consent.Purpose]consent.State{}
	for _, pp := range w.granted {
		if head != nil {
			if cur, ok := head.Consent[pp]; ok && w.trust == customer.Asserted && cur.Trust != "" && cur.Trust != string(customer.Asserted) {
				continue
			}
		}
		c.Consent[pp] = consent.State{Granted: true, Notice: w.notice, At: w.now, Trust: string(w.trust)}
	}
	for _, pp := range w.withdraw {
		if head != nil && head.Consent[pp].Granted {
			c.Consent[pp] = consent.State{Granted: false, Notice: w.notice, At: w.now, Trust: string(w.trust)}
			p.withdrawn = append(p.withdrawn, pp)
		}
	}

	switch {
	case len(p.alsoMatched) > 0:
		c.Review = &store.Review{Kind: store.ReviewIdentity, AlsoMatched: p.alsoMatched, Fields: p.heldFields, MatchedKeys: map[string][]string{}}
		for _, r := range w.facts.ids {
			if o := owners[r]; slices.Contains(p.alsoMatched, o) {
				c.Review.MatchedKeys[o] = append(c.Review.MatchedKeys[o], r.Key())
			}
		}
	case len(p.heldFields) > 0:
		c.Review = &store.Review{Kind: store.ReviewValues, Fields: p.heldFields}
	}
	p.commit, p.head = c, head
	return p
}

// childOf says whether this submission makes its customer a child (before
// knowing whether its birthday is applied: a held birthday does not count,
// see decide).
func childOf(w write, touchesChild bool) bool {
	return touchesChild || (w.facts.age >= 0 && w.facts.age < customer.ChildAge)
}
