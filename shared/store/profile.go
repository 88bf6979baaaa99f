package store

import (
	"context"
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

// IndexRef names one blind-index entry: the kind of value and its keyed hash.
type IndexRef struct {
	Kind string
	Hash string
}

func (r IndexRef) pk() string { return "BIDX#" + r.Kind + "#" + r.Hash }

const indexSK = "BIDX"

type indexItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Entity     string    `dynamodbav:"entity"`
	CustomerID string    `dynamodbav:"customer_id"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
}

// Lookup finds the customers the blind-index entries point to (strongly
// consistent, one BatchGetItem). Entries that do not exist are absent.
func (s *Store) Lookup(ctx context.Context, refs ...IndexRef) (map[IndexRef]string, error) {
	found := map[IndexRef]string{}
	if len(refs) == 0 {
		return found, nil
	}
	byPK := map[string]IndexRef{}
	var keys []map[string]types.AttributeValue
	for _, r := range refs {
		if _, dup := byPK[r.pk()]; dup {
			continue
		}
		byPK[r.pk()] = r
		keys = append(keys, key(r.pk(), indexSK))
	}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 5 {
			return nil, fmt.Errorf("lookup blind index: %w", ErrUnavailable)
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("lookup blind index: %w", classify(err))
		}
		for _, raw := range out.Responses[s.table] {
			var it indexItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, err
			}
			found[byPK[it.PK]] = it.CustomerID
		}
		req = out.UnprocessedKeys
		if len(req) > 0 {
			time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
		}
	}
	return found, nil
}

// Profile is one customer's profile item: current values (sealed or
// general), the data keys of the sealed ones, and the current consent state.
// Where each value came from is not repeated here: the ledger entry of the
// submission that last brought a field says it (see FieldProvenance), and
// every profile write pays for the item's size.
type Profile struct {
	PK          string                            `dynamodbav:"pk"`
	SK          string                            `dynamodbav:"sk"`
	Entity      string                            `dynamodbav:"entity"`
	CustomerID  string                            `dynamodbav:"-"` // from pk: not stored twice
	Version     int64                             `dynamodbav:"version"`
	CreatedAt   time.Time                         `dynamodbav:"created_at,unixtime"`
	UpdatedAt   time.Time                         `dynamodbav:"updated_at,unixtime"`
	ReviewDueAt time.Time                         `dynamodbav:"review_due_at,unixtime"` // when to ask the customer to confirm their details
	Sealed      map[string][]byte                 `dynamodbav:"pii"`                    // field → envelope blob
	Keys        map[string][]byte                 `dynamodbav:"keys"`                   // key ref → wrapped data key
	General     map[string]string                 `dynamodbav:"general"`
	Consent     map[consent.Purpose]consent.State `dynamodbav:"consent"`
	IndexEmail  string                            `dynamodbav:"idx_email,omitempty"`
	IndexPhone  string                            `dynamodbav:"idx_phone,omitempty"`
}

func profilePK(id string) string { return "CUST#" + id }

const profileSK = "PROFILE"

// ProfileHead returns what a writer needs of a profile: its version, its
// blind-index hashes and its ciphertexts with their data keys (to drop data
// keys no field uses any more). Ciphertexts are safe to read for anyone.
func (s *Store) ProfileHead(ctx context.Context, id string) (*Profile, error) {
	var p Profile
	if err := s.get(ctx, profilePK(id), profileSK, &p, "version", "idx_email", "idx_phone", "pii", "keys"); err != nil {
		return nil, err
	}
	p.CustomerID = id
	return &p, nil
}

// Profile returns the whole profile item.
func (s *Store) Profile(ctx context.Context, id string) (*Profile, error) {
	var p Profile
	if err := s.get(ctx, profilePK(id), profileSK, &p); err != nil {
		return nil, err
	}
	p.CustomerID = id
	return &p, nil
}

// LedgerEntry is one append-only record of the consent ledger. A
// submission is a grant event: its entry also says what came (field names,
// never values), from which form and channel, and which other customers it
// matched. Withdrawals will be entries of their own, without fields.
type LedgerEntry struct {
	PK             string            `dynamodbav:"pk"`
	SK             string            `dynamodbav:"sk"`
	Entity         string            `dynamodbav:"entity"` // "submission"
	CustomerID     string            `dynamodbav:"customer_id"`
	SubmissionID   string            `dynamodbav:"submission_id"`
	Action         consent.Action    `dynamodbav:"action"`
	Purposes       []consent.Purpose `dynamodbav:"purposes"`
	Notice         string            `dynamodbav:"notice"`
	Channel        string            `dynamodbav:"channel"`
	FormID         string            `dynamodbav:"form_id"`
	At             time.Time         `dynamodbav:"at"`
	Proof          string            `dynamodbav:"proof"`
	Fields         []string          `dynamodbav:"fields,omitempty"`
	NewCustomer    bool              `dynamodbav:"new_customer,omitempty"`
	IdentityReview []string          `dynamodbav:"identity_review,omitempty"` // other customers this submission also matched
}

// IdentityReview is an open question for a person: a submission matched
// two different customers (by email and by phone) and was attached to the
// first, not merged. Reviews share one partition: they are rare, and one
// Query lists them all.
type IdentityReview struct {
	PK           string    `dynamodbav:"pk"`
	SK           string    `dynamodbav:"sk"`
	Entity       string    `dynamodbav:"entity"`
	SubmissionID string    `dynamodbav:"submission_id"`
	CustomerID   string    `dynamodbav:"customer_id"`
	AlsoMatched  []string  `dynamodbav:"also_matched"`
	At           time.Time `dynamodbav:"at"`
}

const reviewPK = "REVIEW#identity"

// IdentityReviews lists the open identity reviews, oldest first.
func (s *Store) IdentityReviews(ctx context.Context) ([]IdentityReview, error) {
	return queryAll[IdentityReview](ctx, s, expression.Key(PK).Equal(expression.Value(reviewPK)), "identity reviews")
}

// LedgerPrefix starts the sort key of every ledger entry.
const LedgerPrefix = "LEDGER#"

// Commit is everything one accepted submission writes.
type Commit struct {
	CustomerID  string
	NewCustomer bool
	PrevVersion int64 // the version read, for an existing customer
	At          time.Time
	ReviewDueAt time.Time

	Sealed   map[string][]byte // field → envelope blob
	Keys     map[string][]byte // key ref → wrapped data key, for the blobs above
	DropKeys []string          // key refs no field uses any more
	General  map[string]string
	Consent  map[consent.Purpose]consent.State

	IndexSet    map[string]string // kind → hash now on the profile
	IndexPut    []IndexRef        // entries to create for this customer
	IndexDelete []IndexRef        // stale entries of this customer to remove

	Entry LedgerEntry // the submission's ledger entry; keys are filled in by Commit

	// Idempotency, when set, marks the key held by Owner completed.
	Idempotency *IdempotencyDone

	// StaleIndexOwner, when set, is a customer whose profile no longer
	// exists: index entries pointing to it may be taken over.
	StaleIndexOwner string
}

// IdempotencyDone completes a held idempotency key.
type IdempotencyDone struct {
	KeyHash string
	Owner   string
}

// Commit writes c in one transaction. ErrConflict means another writer got
// there first (a blind-index entry now exists, the profile changed): read
// again and retry. Nothing is written unless everything is.
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
	entry.PK, entry.SK, entry.Entity, entry.CustomerID = profilePK(c.CustomerID), LedgerPrefix+sortTime(entry.At)+"#"+entry.SubmissionID, "submission", c.CustomerID
	entry.At = entry.At.UTC()
	if err := add(putNew(s.table, entry)); err != nil {
		return err
	}
	if len(entry.IdentityReview) > 0 {
		review := IdentityReview{PK: reviewPK, SK: sortTime(entry.At) + "#" + entry.SubmissionID, Entity: "identity-review",
			SubmissionID: entry.SubmissionID, CustomerID: c.CustomerID, AlsoMatched: entry.IdentityReview, At: entry.At}
		if err := add(putNew(s.table, review)); err != nil {
			return err
		}
	}
	for _, r := range c.IndexPut {
		if err := add(s.indexPut(r, c.CustomerID, c.StaleIndexOwner, c.At)); err != nil {
			return err
		}
	}
	for _, r := range c.IndexDelete {
		if err := add(s.indexDelete(r, c.CustomerID)); err != nil {
			return err
		}
	}
	if c.Idempotency != nil {
		if err := add(s.completeIdempotency(c.Idempotency.KeyHash, c.Idempotency.Owner,
			Response{SubmissionID: entry.SubmissionID, CustomerID: c.CustomerID})); err != nil {
			return err
		}
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems:          items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		err = classify(err)
		if failed := cancelled(err); len(failed) > 0 {
			return fmt.Errorf("commit submission %s: items %v failed their condition: %w", entry.SubmissionID, failed, err)
		}
		return fmt.Errorf("commit submission %s: %w", entry.SubmissionID, err)
	}
	s.count(out.ConsumedCapacity...)
	return nil
}

func (s *Store) profileWrite(c Commit) (types.TransactWriteItem, error) {
	if c.NewCustomer {
		p := Profile{PK: profilePK(c.CustomerID), SK: profileSK, Entity: "profile", Version: 1,
			CreatedAt: c.At.UTC(), UpdatedAt: c.At.UTC(), ReviewDueAt: c.ReviewDueAt.UTC(),
			Sealed: nonNil(c.Sealed), Keys: nonNil(c.Keys), General: nonNil(c.General), Consent: nonNil(c.Consent),
			IndexEmail: c.IndexSet["email"], IndexPhone: c.IndexSet["phone"]}
		return putNew(s.table, p)
	}
	up := expression.Set(expression.Name("updated_at"), expression.Value(c.At.Unix())).
		Set(expression.Name("review_due_at"), expression.Value(c.ReviewDueAt.Unix())).
		Add(expression.Name("version"), expression.Value(1))
	// Field names are catalogue names ([a-z0-9_]), safe as path segments.
	for _, f := range slices.Sorted(maps.Keys(c.Sealed)) {
		up = up.Set(expression.Name("pii."+f), expression.Value(c.Sealed[f]))
	}
	// Key refs are hex, safe as path segments.
	for _, ref := range slices.Sorted(maps.Keys(c.Keys)) {
		up = up.Set(expression.Name("keys."+ref), expression.Value(c.Keys[ref]))
	}
	for _, ref := range c.DropKeys {
		up = up.Remove(expression.Name("keys." + ref))
	}
	for _, f := range slices.Sorted(maps.Keys(c.General)) {
		up = up.Set(expression.Name("general."+f), expression.Value(c.General[f]))
	}
	for _, p := range slices.Sorted(maps.Keys(c.Consent)) {
		v, err := attributevalue.Marshal(c.Consent[p])
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		up = up.Set(expression.Name("consent."+string(p)), expression.Value(v))
	}
	for _, kind := range slices.Sorted(maps.Keys(c.IndexSet)) {
		up = up.Set(expression.Name("idx_"+kind), expression.Value(c.IndexSet[kind]))
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

func (s *Store) indexPut(r IndexRef, customerID, staleOwner string, now time.Time) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(indexItem{PK: r.pk(), SK: indexSK, Entity: "blind-index", CustomerID: customerID, CreatedAt: now.UTC()})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	cond := expression.AttributeNotExists(expression.Name(PK))
	if staleOwner != "" {
		cond = cond.Or(expression.Name("customer_id").Equal(expression.Value(staleOwner)))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

func (s *Store) indexDelete(r IndexRef, customerID string) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("customer_id").Equal(expression.Value(customerID))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(r.pk(), indexSK),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

// putNew is a transaction Put that fails if the item exists.
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

func nonNil[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}

// Ledger returns a customer's consent ledger, oldest first.
func (s *Store) Ledger(ctx context.Context, id string) ([]LedgerEntry, error) {
	return queryAll[LedgerEntry](ctx, s, expression.Key(PK).Equal(expression.Value(profilePK(id))).
		And(expression.Key(SK).BeginsWith(LedgerPrefix)), "ledger of "+id)
}
