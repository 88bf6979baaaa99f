// Package store is the one place that speaks DynamoDB. It keeps forms,
// profiles, submissions, the consent ledger, the blind index and idempotency
// records in one table, and writes everything a submission produces in one
// transaction. Driver errors are translated into this package's sentinels.
//
// Keys never hold personal data: customers are random UUIDs, blind-index
// items are keyed by keyed HMACs, idempotency records by a SHA-256 of the key.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Sentinel errors.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflicting write")
	ErrUnavailable = errors.New("database unavailable")
)

// Attribute names of the key schema.
const (
	PK  = "pk"
	SK  = "sk"
	TTL = "expires_at"
)

// DefaultCallTimeout bounds one DynamoDB call, its SDK retries included:
// well inside a function's own timeout, so a stalled database is answered
// with a 503 the client can retry rather than held until the gateway gives up.
const DefaultCallTimeout = 3 * time.Second

// Store reads and writes the kehu table.
type Store struct {
	db    DB
	table string

	// CallTimeout bounds each call (DefaultCallTimeout when zero).
	CallTimeout time.Duration

	mu       sync.Mutex
	consumed float64 // write capacity units reported by DynamoDB
}

// New returns a store for table.
func New(db DB, table string) *Store { return &Store{db: db, table: table} }

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// WriteUnits is the total write capacity DynamoDB reported for this store's writes.
func (s *Store) WriteUnits() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumed
}

func (s *Store) count(cc ...types.ConsumedCapacity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cc {
		if c.WriteCapacityUnits != nil {
			s.consumed += *c.WriteCapacityUnits
		} else if c.CapacityUnits != nil {
			s.consumed += *c.CapacityUnits
		}
	}
}

// bound gives one call its deadline.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.CallTimeout
	if d <= 0 {
		d = DefaultCallTimeout
	}
	return context.WithTimeout(ctx, d)
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{PK: &types.AttributeValueMemberS{Value: pk}, SK: &types.AttributeValueMemberS{Value: sk}}
}

// sortTime is a fixed-width UTC time, so sort keys order by time.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// classify translates a DynamoDB error. Retryable failures (throttling,
// internal errors, an unreachable endpoint) wrap ErrUnavailable; failed
// conditions and transaction conflicts wrap ErrConflict.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return errors.Join(ErrConflict, err)
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return classifyCancellation(tce, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "TransactionConflictException", "TransactionInProgressException":
			return errors.Join(ErrConflict, err)
		case "ResourceNotFoundException", "ValidationException", "AccessDeniedException", "UnrecognizedClientException",
			"SerializationException", "ItemCollectionSizeLimitExceededException":
			return err
		}
		return errors.Join(ErrUnavailable, err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return errors.Join(ErrUnavailable, err)
}

// classifyCancellation reads a cancelled transaction's reasons: a failed
// condition or a conflicting transaction is a conflict (read again and
// retry); throttling and internal errors are a passing unavailability;
// anything else (a validation error, an item too large) will fail again
// however often it is retried, and is returned as it is.
func classifyCancellation(tce *types.TransactionCanceledException, err error) error {
	conflict, unavailable := false, false
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "ConditionalCheckFailed", "TransactionConflict":
			conflict = true
		case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "InternalServerError":
			unavailable = true
		default:
			return err
		}
	}
	switch {
	case unavailable:
		return errors.Join(ErrUnavailable, err)
	case conflict:
		return errors.Join(ErrConflict, err)
	}
	return err
}

// cancelled reports which transaction items failed their condition.
func cancelled(err error) []int {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	var out []int
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			out = append(out, i)
		}
	}
	return out
}

func (s *Store) get(ctx context.Context, pk, sk string, out any, projection ...string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	in := &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)}
	if len(projection) > 0 {
		names := map[string]string{}
		var parts []string
		for i, p := range projection {
			n := fmt.Sprintf("#p%d", i)
			names[n] = p
			parts = append(parts, n)
		}
		in.ProjectionExpression = aws.String(strings.Join(parts, ", "))
		in.ExpressionAttributeNames = names
	}
	res, err := s.db.GetItem(ctx, in)
	if err != nil {
		return fmt.Errorf("get %s: %w", pk, classify(err))
	}
	if res.Item == nil {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("read %s: %w", pk, err)
	}
	return nil
}

// queryAll reads every item of one key condition, strongly consistent,
// page by page, into T.
func queryAll[T any](ctx context.Context, s *Store, key expression.KeyConditionBuilder, what string, project ...string) ([]T, error) {
	b := expression.NewBuilder().WithKeyCondition(key)
	if len(project) > 0 {
		// Projected: the analysts' role reads named attributes only.
		names := expression.NamesList(expression.Name(project[0]))
		for _, n := range project[1:] {
			names = names.AddNames(expression.Name(n))
		}
		b = b.WithProjection(names)
	}
	cond, err := b.Build()
	if err != nil {
		return nil, err
	}
	var out []T
	ctx, cancel := s.bound(ctx)
	defer cancel()
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: cond.KeyCondition(),
		ExpressionAttributeNames: cond.Names(), ExpressionAttributeValues: cond.Values(), ProjectionExpression: cond.Projection(),
		ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, classify(err))
		}
		var items []T
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, items...)
	}
	return out, nil
}
