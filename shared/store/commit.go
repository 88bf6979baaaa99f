package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/shared/consent"
)

// Commit is everything one accepted submission writes.
type Commit struct {
	CustomerID   string
	NewCustomer  bool
	PrevVersion  int64 // the version read, for an existing customer
	At           time.Time
	ReviewDueAt  time.Time
	Confirmed    bool   // the customer confirmed their details (a proven submission)
	AgeBand      string // set when not empty (only ever to a child's band)
	ClearAgeBand bool   // a trusted system's birthday shows the customer is 14 or over
	// Token is the transaction's client request token (1–36 characters):
	// an SDK retry after a lost answer is not applied twice.
	Token string

	Fields       map[string]FieldRef   // field pointers to set: to Entry, or kept with a new confirmation
	General      map[string]string     // plain general-tier values to set
	ClearGeneral bool                  // remove every plain value (a child's data is restricted)
	IDs          map[string]Identifier // identifiers to add or update, by IndexRef.Key
	Consent      map[consent.Purpose]consent.State

	IndexPut []IndexRef // blind-index entries to create for this customer

	Entry    LedgerEntry // SubmissionID, values and the rest; keys filled in here
	Review   *Review     // when something was left for a person to decide
	DataKeys []DataKey   // data keys first used by this submission

	// Idempotency, when set, marks the key held by Owner completed.
	Idempotency *IdempotencyDone
	// Delivery, when set, marks a provider's event taken: ErrDuplicate if
	// it was taken already.
	Delivery *Delivery
	// Order, when set, records an order event and updates the trade
	// aggregates: ErrDuplicate if this order was recorded (or refunded)
	// already. Head is the profile head the aggregates were read from.
	Order *OrderChange
	Head  *Profile

	// Link, when set, marks a single-use link used: ErrLinkUsed if it was.
	Link *LinkUse

	// Active: the submission is the customer's own act (a form post, an
	// answer, an inbound message, an order they placed): active_at, from
	// which retention counts, moves to At. A message the company sent or a
	// refund leaves it where it is.
	Active bool

	// Matched, when set, is the profile's new count of matched
	// submissions by channel (Profile.Matched): the blind index matched
	// this one to an existing customer.
	Matched map[string]int64

	// StaleIndexOwners are customers whose profiles no longer exist
	// (erased): index entries pointing to them may be taken over.
	StaleIndexOwners []string
}

// IdempotencyDone completes a held idempotency key.
type IdempotencyDone struct {
	KeyHash string
	Owner   string
}

// Commit writes c in one transaction. ErrConflict means another writer got
// there first (a blind-index entry now exists, the profile changed): read
// again and retry. Nothing is written unless everything is. The
// submission id is the transaction's client request token, so an SDK
// retry of a commit whose answer was lost does not apply it twice.
func (s *Store) Commit(ctx context.Context, c Commit) error {
	var items []types.TransactWriteItem
	add := func(it types.TransactWriteItem, err error) error {
		if err != nil {
			return err
		}
		items = append(items, it)
		return nil
	}
	if err := add(s.profileWrite(c)); err != nil {
		return err
	}
	entry := c.Entry
	entry.PK, entry.SK = profilePK(c.CustomerID), ledgerSK(entry.SubmissionID)
	if entry.Entity == "" {
		entry.Entity = EntitySubmission
	}
	entry.At = entry.At.UTC()
	if err := add(putNew(s.table, entry)); err != nil {
		return err
	}
	if r := c.Review; r != nil {
		r.PK, r.SK, r.Entity, r.SubmissionID, r.CustomerID, r.At = reviewPK, sortTime(entry.At)+"#"+entry.SubmissionID, "review", entry.SubmissionID, c.CustomerID, entry.At
		if err := add(putNew(s.table, r)); err != nil {
			return err
		}
	}
	for _, r := range c.IndexPut {
		if err := add(s.indexPut(r, c.CustomerID, c.StaleIndexOwners, c.At)); err != nil {
			return err
		}
	}
	for _, k := range c.DataKeys {
		if err := add(s.dataKeyPut(k, c.At)); err != nil {
			return err
		}
	}
	order := -1
	if c.Order != nil {
		order = len(items)
		if err := add(s.orderWrite(*c.Order, c.CustomerID, c.At)); err != nil {
			return err
		}
	}
	link := -1
	if c.Link != nil {
		link = len(items)
		if err := add(s.linkUsePut(*c.Link, c.At)); err != nil {
			return err
		}
	}
	delivery := -1
	if c.Delivery != nil {
		delivery = len(items)
		if err := add(s.deliveryPut(*c.Delivery, c.At)); err != nil {
			return err
		}
	}
	if c.Idempotency != nil {
		if err := add(s.completeIdempotency(c.Idempotency.KeyHash, c.Idempotency.Owner,
			Response{SubmissionID: entry.SubmissionID})); err != nil {
			return err
		}
	}
	for _, stale := range c.StaleIndexOwners {
		// Taking over an erased customer's index entries: still erased?
		cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(PK))).Build()
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table,
			Key: key(profilePK(stale), profileSK), ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names()}})
	}
	token := c.Token
	if token == "" {
		token = entry.SubmissionID
	}
	err := s.transact(ctx, items, token, "commit submission "+entry.SubmissionID)
	if failed := cancelled(err); link >= 0 && slices.Contains(failed, link) {
		return fmt.Errorf("commit submission %s: %w", entry.SubmissionID, ErrLinkUsed)
	}
	if failed := cancelled(err); (delivery >= 0 && slices.Contains(failed, delivery)) || (order >= 0 && slices.Contains(failed, order)) {
		return fmt.Errorf("commit submission %s: %w", entry.SubmissionID, ErrDuplicate)
	}
	return err
}

// ErrDuplicate means a provider's event was taken before: nothing was written.
var ErrDuplicate = errors.New("event delivered before")

func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem, token, what string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ClientRequestToken:     clientToken(token),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		err = classify(err)
		if failed := cancelled(err); len(failed) > 0 {
			return fmt.Errorf("%s: items %v failed their condition: %w", what, failed, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	s.count(out.ConsumedCapacity...)
	return nil
}

// clientToken is a transaction's idempotency token (1–36 characters).
func clientToken(id string) *string {
	if id == "" {
		return nil
	}
	if len(id) > 36 {
		id = id[:36]
	}
	return aws.String(id)
}

func (s *Store) profileWrite(c Commit) (types.TransactWriteItem, error) {
	if c.NewCustomer {
		p := Profile{PK: profilePK(c.CustomerID), SK: profileSK, Entity: "profile", Version: 1,
			CreatedAt: c.At.UTC(), UpdatedAt: c.At.UTC(), ReviewDueAt: c.ReviewDueAt.UTC(),
			General: nonNil(c.General), Fields: nonNil(c.Fields), IDs: nonNil(c.IDs), Consent: nonNil(c.Consent), AgeBand: c.AgeBand}
		if c.Active {
			at := c.At.UTC()
			p.ActiveAt = &at
		}
		if c.Confirmed {
			at := c.At.UTC()
			p.ConfirmedAt = &at
		}
		if o := c.Order; o != nil && !o.Refund {
			at := o.At.UTC()
			p.TradeCount, p.TradeTotal, p.TradeMonths, p.FirstTradeAt, p.LastTradeAt = 1, Decimal(o.Amount), map[string]Decimal{o.Month: Decimal(o.Amount)}, &at, &at
		}
		return putNew(s.table, p)
	}
	up := expression.Set(expression.Name("updated_at"), expression.Value(c.At.Unix())).
		Add(expression.Name("version"), expression.Value(1))
	if c.Active {
		up = up.Set(expression.Name("active_at"), expression.Value(c.At.Unix()))
	}
	if !c.ReviewDueAt.IsZero() {
		up = up.Set(expression.Name("review_due_at"), expression.Value(c.ReviewDueAt.Unix()))
	}
	if c.ClearAgeBand {
		up = up.Remove(expression.Name("age_band"))
	}
	if c.Order != nil {
		up = tradeUpdate(up, *c.Order, c.Head)
	}
	if c.Confirmed {
		up = up.Set(expression.Name("confirmed_at"), expression.Value(c.At.Unix()))
	}
	if c.Matched != nil {
		// The whole (small) map, computed from the version read: the
		// version condition keeps it from losing a count.
		up = up.Set(expression.Name("matched"), expression.Value(c.Matched))
	}
	if c.AgeBand != "" {
		up = up.Set(expression.Name("age_band"), expression.Value(c.AgeBand))
	}
	var err error
	// Field names are catalogue names ([a-z0-9_]) and identifier keys are
	// kind:base64url: both safe as path segments.
	set := func(prefix string, name string, v any) {
		if err != nil {
			return
		}
		av, merr := marshal(v)
		if merr != nil {
			err = merr
			return
		}
		up = up.Set(expression.Name(prefix+"."+name), expression.Value(av))
	}
	for _, f := range slices.Sorted(maps.Keys(c.Fields)) {
		set("src", f, c.Fields[f])
	}
	if c.ClearGeneral {
		up = up.Set(expression.Name("general"), expression.Value(map[string]string{}))
	} else {
		for _, f := range slices.Sorted(maps.Keys(c.General)) {
			set("general", f, c.General[f])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.IDs)) {
		set("ids", k, c.IDs[k])
	}
	for _, p := range slices.Sorted(maps.Keys(c.Consent)) {
		set("consent", string(p), c.Consent[p])
	}
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	expr, err := expression.NewBuilder().WithUpdate(up).
		WithCondition(expression.Name("version").Equal(expression.Value(c.PrevVersion))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: key(profilePK(c.CustomerID), profileSK), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}

func (s *Store) indexPut(r IndexRef, customerID string, staleOwners []string, now time.Time) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(indexItem{PK: r.pk(), SK: indexSK, Entity: "blind-index", CustomerID: customerID, CreatedAt: now.UTC()})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	cond := expression.AttributeNotExists(expression.Name(PK))
	for _, stale := range staleOwners {
		cond = cond.Or(expression.Name("customer_id").Equal(expression.Value(stale)))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

// dataKeyPut stores a wrapped data key unless it is there already. A
// different key under the same 8-byte ref fails the condition.
func (s *Store) dataKeyPut(k DataKey, now time.Time) (types.TransactWriteItem, error) {
	k.PK, k.SK, k.Entity, k.CreatedAt = dataKeyPK(k.Ref), dataKeySK, "data-key", now.UTC()
	item, err := attributevalue.MarshalMap(k)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(PK)).
		Or(expression.Name("wrapped").Equal(expression.Value(k.Wrapped)))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

// putNew is a transaction Put that fails if the item exists.
// putIfAbsent puts one new item on its own (not in a transaction):
// ErrConflict if an item with its key exists.
func (s *Store) putIfAbsent(ctx context.Context, v any) error {
	it, err := putNew(s.table, v)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: it.Put.TableName, Item: it.Put.Item,
		ConditionExpression: it.Put.ConditionExpression, ExpressionAttributeNames: it.Put.ExpressionAttributeNames})
	return classify(err)
}

func putNew(table string, v any) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(PK))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names()}}, nil
}

func marshal(v any) (types.AttributeValue, error) { return attributevalue.Marshal(v) }

func nonNil[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}
