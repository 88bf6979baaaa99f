package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/customer"
)

// Ledger entry kinds of restriction.
const (
	EntityRestriction   = "restriction"   // processing restricted (PIPL Art. 44, GDPR Art. 18)
	EntityUnrestriction = "unrestriction" // the restriction lifted
)

// SetRestricted restricts (or lifts the restriction of) a customer's
// processing: the profile's flag and a ledger entry naming the actor, in
// one transaction. ErrNotFound: no such customer.
func (s *Store) SetRestricted(ctx context.Context, customerID string, restricted bool, actor, entryID string, now time.Time) error {
	up := expression.Set(expression.Name("updated_at"), expression.Value(now.Unix())).Add(expression.Name("version"), expression.Value(1))
	entity := EntityRestriction
	if restricted {
		up = up.Set(expression.Name("restricted"), expression.Value(true))
	} else {
		up, entity = up.Remove(expression.Name("restricted")), EntityUnrestriction
	}
	profile, err := s.profileUpdate(customerID, up, expression.AttributeExists(expression.Name(PK)))
	if err != nil {
		return err
	}
	entry, err := putNew(s.table, LedgerEntry{PK: profilePK(customerID), SK: ledgerSK(entryID), Entity: entity, Channel: "operator",
		Trust: customer.Trusted, Actor: actor, At: now.UTC()})
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{profile, entry}, entryID, entity+" of "+customerID)
	if slices.Contains(cancelled(err), 0) {
		return fmt.Errorf("%s of %s: %w", entity, customerID, ErrNotFound)
	}
	return err
}

// Tombstone is what remains of an erased customer: its id, when, why, who
// (operator or self-service) and the request. While the erasure runs it
// also lists the blind-index entries to delete (keyed hashes, removed when
// the erasure ends), so an interrupted erasure resumes.
type Tombstone struct {
	PK        string    `dynamodbav:"pk" json:"-"`
	SK        string    `dynamodbav:"sk" json:"-"`
	Entity    string    `dynamodbav:"entity" json:"-"`
	State     string    `dynamodbav:"state" json:"state"` // erasing, erased
	Actor     string    `dynamodbav:"actor" json:"actor"`
	Request   string    `dynamodbav:"request,omitempty" json:"request,omitempty"`
	Reason    string    `dynamodbav:"reason,omitempty" json:"reason,omitempty"`
	At        time.Time `dynamodbav:"at,unixtime" json:"at"`
	ErasedAt  time.Time `dynamodbav:"erased_at,unixtime,omitempty" json:"erased_at,omitempty"`
	IndexRefs []string  `dynamodbav:"index_refs,omitempty" json:"-"` // IndexRef.Key of each identifier, while erasing
	OrderRefs []string  `dynamodbav:"order_refs,omitempty" json:"-"` // order keys, while erasing
}

// Erasure states.
const (
	Erasing = "erasing"
	Erased  = "erased"
)

const tombstoneSK = "TOMBSTONE"

// ErrErased means the customer was erased already.
var ErrErased = errors.New("customer erased")

// TombstoneOf returns a customer's tombstone, or ErrNotFound.
func (s *Store) TombstoneOf(ctx context.Context, customerID string) (*Tombstone, error) {
	var t Tombstone
	if err := s.get(ctx, profilePK(customerID), tombstoneSK, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// BeginErasure writes the tombstone (state erasing) unless there is one:
// then it returns that one (an erasure to resume, or ErrErased).
func (s *Store) BeginErasure(ctx context.Context, customerID string, t Tombstone) (*Tombstone, error) {
	t.PK, t.SK, t.Entity, t.State, t.At = profilePK(customerID), tombstoneSK, "tombstone", Erasing, t.At.UTC()
	switch err := s.putIfAbsent(ctx, t); {
	case errors.Is(err, ErrConflict):
		old, gerr := s.TombstoneOf(ctx, customerID)
		if gerr != nil {
			return nil, gerr
		}
		if old.State == Erased {
			return old, ErrErased
		}
		return old, nil
	case err != nil:
		return nil, fmt.Errorf("begin erasure: %w", err)
	}
	return &t, nil
}

// FinishErasure marks the tombstone erased and drops the hashes it kept.
func (s *Store) FinishErasure(ctx context.Context, customerID string, now time.Time) error {
	err := s.updateIf(ctx, key(profilePK(customerID), tombstoneSK),
		expression.Set(expression.Name("state"), expression.Value(Erased)).Set(expression.Name("erased_at"), expression.Value(now.Unix())).
			Remove(expression.Name("index_refs")).Remove(expression.Name("order_refs")),
		expression.AttributeExists(expression.Name(PK)))
	if err != nil {
		return fmt.Errorf("finish erasure of %s: %w", customerID, err)
	}
	return nil
}

// PartitionKeys lists the sort keys and kinds of every item in a
// customer's partition.
func (s *Store) PartitionKeys(ctx context.Context, customerID string) ([]ItemKey, error) {
	return queryAll[ItemKey](ctx, s, expression.Key(PK).Equal(expression.Value(profilePK(customerID))), "items of "+customerID, SK, "entity")
}

// ItemKey is an item's sort key and kind.
type ItemKey struct {
	SK     string `dynamodbav:"sk"`
	Entity string `dynamodbav:"entity"`
}

// deleteIf deletes an item if cond holds (or unconditionally when nil);
// a failed condition is not an error (someone else's item now, or gone).
func (s *Store) deleteIf(ctx context.Context, pk, sk string, cond *expression.ConditionBuilder) error {
	in := &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(pk, sk)}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return err
		}
		in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = expr.Condition(), expr.Names(), expr.Values()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.db.DeleteItem(ctx, in)
	if err = classify(err); errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// DeleteCustomerItem deletes one item of a customer's partition.
func (s *Store) DeleteCustomerItem(ctx context.Context, customerID, sk string) error {
	return s.deleteIf(ctx, profilePK(customerID), sk, nil)
}

// DeleteIndexEntry deletes a blind-index entry if it still points to the customer.
func (s *Store) DeleteIndexEntry(ctx context.Context, ref IndexRef, customerID string) error {
	c := expression.Name("customer_id").Equal(expression.Value(customerID))
	return s.deleteIf(ctx, ref.pk(), indexSK, &c)
}

// DeleteOrder deletes an order record if it is the customer's.
func (s *Store) DeleteOrder(ctx context.Context, orderKey, customerID string) error {
	c := expression.Name("customer_id").Equal(expression.Value(customerID))
	return s.deleteIf(ctx, orderPK(orderKey), orderSK, &c)
}

// StripEntry replaces a ledger entry with what stays after an erasure: the
// record that processing was lawful (kind, action, basis, trust, purposes,
// notice, channel, form, time, actor) — no value, proof, interaction or
// other customer's id. It moves under a new key of the same time (a
// random UUIDv7 at the entry's time, so the ledger keeps its order): the
// submission id, which an idempotency answer still names until it
// expires, is then in no item of the customer's. One transaction; an
// entry stripped already is left as it is.
func (s *Store) StripEntry(ctx context.Context, e LedgerEntry) error {
	if e.Erased {
		return nil
	}
	pk, sk := e.PK, e.SK
	if pk == "" {
		pk, sk = profilePK(e.CustomerID), ledgerSK(e.SubmissionID)
	}
	kept := LedgerEntry{PK: pk, SK: ledgerSK(uuidAt(e.At)), Entity: e.Entity, Action: e.Action, Basis: e.Basis, Trust: e.Trust, Purposes: e.Purposes,
		Withdrawn: e.Withdrawn, Notice: e.Notice, Channel: e.Channel, FormID: e.FormID, At: e.At, Actor: e.Actor, NewCustomer: e.NewCustomer, Erased: true}
	put, err := putNew(s.table, kept)
	if err != nil {
		return err
	}
	gone, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(PK))).Build()
	if err != nil {
		return err
	}
	del := types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(pk, sk), ConditionExpression: gone.Condition(),
		ExpressionAttributeNames: gone.Names()}}
	err = s.transact(ctx, []types.TransactWriteItem{put, del}, "", "strip a ledger entry")
	if slices.Contains(cancelled(err), 1) {
		return nil // stripped meanwhile by another eraser
	}
	return err
}

// uuidAt is a random UUIDv7 whose time is at's (RFC 9562 §5.7).
func uuidAt(at time.Time) string {
	u := uuid.New()
	ms := uint64(at.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// ForgetInReviews deletes the reviews of a customer's submissions and
// takes its id out of every other review that names it. A review names
// the customer when another customer's submission carried one of its
// identifiers (every such submission is reviewed): that submission's
// ledger entry keeps the value sealed, and its customer the key
// unindexed — both are removed first (the review says which keys; for a
// review that does not, idKeys, the erased customer's identifier keys,
// on the entry that first brought them), so a crash in between resumes.
func (s *Store) ForgetInReviews(ctx context.Context, customerID string, idKeys []string) error {
	reviews, err := s.Reviews(ctx)
	if err != nil {
		return err
	}
	for _, r := range reviews {
		switch {
		case r.CustomerID == customerID:
			if err := s.deleteIf(ctx, reviewPK, r.SK, nil); err != nil {
				return err
			}
		case slices.Contains(r.AlsoMatched, customerID):
			if err := s.forgetIdentifiers(ctx, r, customerID, idKeys); err != nil {
				return err
			}
			// The review, and the ledger entry of the submission it is
			// about (another customer's), name this one: no more.
			others := slices.DeleteFunc(slices.Clone(r.AlsoMatched), func(id string) bool { return id == customerID })
			for _, at := range []struct {
				pk, sk, attr string
			}{{reviewPK, r.SK, "also_matched"}, {profilePK(r.CustomerID), ledgerSK(r.SubmissionID), "identity_review"}} {
				up := expression.Set(expression.Name(at.attr), expression.Value(others))
				if len(others) == 0 {
					up = expression.Remove(expression.Name(at.attr))
				}
				if at.pk == reviewPK && r.MatchedKeys != nil {
					up = up.Remove(expression.Name("matched_keys." + customerID))
				}
				if err := s.updateIf(ctx, key(at.pk, at.sk), up, expression.AttributeExists(expression.Name(PK))); err != nil && !errors.Is(err, ErrConflict) {
					return err
				}
			}
		}
	}
	return nil
}

// forgetIdentifiers removes, from the customer a review is about, the
// erased customer's identifiers its submission carried: the sealed value
// from that submission's entry, then the profile's key if it holds it
// unindexed (one it holds indexed is its own: the index points there).
func (s *Store) forgetIdentifiers(ctx context.Context, r Review, erasedID string, idKeys []string) error {
	p, err := s.ProfileHead(ctx, r.CustomerID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	type at struct{ key, submission string }
	var found []at
	if keys, ok := r.MatchedKeys[erasedID]; ok {
		for _, k := range keys {
			found = append(found, at{k, r.SubmissionID})
		}
	} else { // a review from before matched keys were kept
		for _, k := range idKeys {
			if x, held := p.IDs[k]; held && !x.Indexed {
				found = append(found, at{k, x.Submission})
			}
		}
	}
	for _, f := range found {
		ref, _ := IdentifierRef(f.key)
		if spec, ok := customer.IdentityOfKind(ref.Kind); ok && f.submission != "" {
			err := s.updateIf(ctx, key(profilePK(r.CustomerID), ledgerSK(f.submission)),
				expression.Remove(expression.Name("values."+spec.Field)), expression.AttributeExists(expression.Name(PK)))
			if err != nil && !errors.Is(err, ErrConflict) {
				return err
			}
		}
		if x, held := p.IDs[f.key]; !held || x.Indexed {
			continue
		}
		err := s.updateIf(ctx, key(profilePK(r.CustomerID), profileSK),
			expression.Remove(expression.Name("ids."+f.key)).Add(expression.Name("version"), expression.Value(1)),
			expression.AttributeExists(expression.Name(PK)))
		if err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return nil
}

// RecordErasureRefs keeps, on the tombstone, what the erasure must still
// delete outside the customer's partition.
func (s *Store) RecordErasureRefs(ctx context.Context, customerID string, indexRefs, orderRefs []string) error {
	up := expression.Set(expression.Name("index_refs"), expression.Value(indexRefs))
	if len(indexRefs) == 0 {
		up = expression.Remove(expression.Name("index_refs"))
	}
	if len(orderRefs) > 0 {
		up = up.Set(expression.Name("order_refs"), expression.Value(orderRefs))
	}
	return s.updateIf(ctx, key(profilePK(customerID), tombstoneSK), up, expression.Name("state").Equal(expression.Value(Erasing)))
}

// DeleteProfile deletes a customer's profile if it is still at version
// (ErrConflict: a submission changed it meanwhile; read it again).
func (s *Store) DeleteProfile(ctx context.Context, customerID string, version int64) error {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("version").Equal(expression.Value(version))).Build()
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(profilePK(customerID), profileSK),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if err = classify(err); err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("delete the profile of %s: %w", customerID, err)
	}
	return err
}
