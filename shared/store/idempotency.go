package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Idempotency record states.
const (
	InFlight  = "in_flight"
	Completed = "completed"
)

// Idempotency is the record of one Idempotency-Key. KeyHash is a keyed
// hash of the form, where the key came from and the key; the raw key is
// never stored, nor anything of the request but its keyed hash.
type Idempotency struct {
	PK          string   `dynamodbav:"pk"`
	SK          string   `dynamodbav:"sk"`
	Entity      string   `dynamodbav:"entity"`
	State       string   `dynamodbav:"state"`
	RequestHash string   `dynamodbav:"request_hash"`
	Owner       string   `dynamodbav:"owner"`
	LeaseUntil  int64    `dynamodbav:"lease_until"` // unix milliseconds: compared as a number
	ExpiresAt   int64    `dynamodbav:"expires_at"`  // TTL, epoch seconds
	Response    Response `dynamodbav:"response"`
}

// Response is the first answer, replayed for retries.
// It names the submission only: the customer it went to is not the
// client's to know, and an answer kept for 24 hours must not tie an
// erased customer back to anything.
type Response struct {
	SubmissionID string `dynamodbav:"submission_id"`
}

func idemPK(keyHash string) string { return "IDEM#" + keyHash }

const idemSK = "IDEM"

// Acquire takes the key for owner: it records the request as in flight
// unless a record exists whose lease has not run out. It returns nil when
// the caller holds the key, and the existing record otherwise. A record
// of the same owner is the caller's own (an SDK retry after a lost
// answer): the put succeeds again.
func (s *Store) Acquire(ctx context.Context, keyHash, requestHash, owner string, now time.Time, lease, keep time.Duration) (*Idempotency, error) {
	rec := Idempotency{PK: idemPK(keyHash), SK: idemSK, Entity: "idempotency", State: InFlight, RequestHash: requestHash,
		Owner: owner, LeaseUntil: now.Add(lease).UnixMilli(), ExpiresAt: now.Add(keep).Unix()}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return nil, err
	}
	// A record in flight whose lease ran out was abandoned by a crashed
	// request: the same request may take it over.
	// A record past its expiry is gone for clients, even before TTL deletes it
	// (which can lag by a day or two).
	cond := expression.AttributeNotExists(expression.Name(PK)).
		Or(expression.Name(TTL).LessThan(expression.Value(now.Unix()))).
		Or(expression.And(
			expression.Name("state").Equal(expression.Value(InFlight)),
			expression.Name("owner").Equal(expression.Value(owner)),
		)).
		Or(expression.And(
			expression.Name("state").Equal(expression.Value(InFlight)),
			expression.Name("lease_until").LessThan(expression.Value(now.UnixMilli())),
			expression.Name("request_hash").Equal(expression.Value(requestHash)),
		))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnConsumedCapacity:              types.ReturnConsumedCapacityTotal,
	})
	if err == nil {
		if out.ConsumedCapacity != nil {
			s.count(*out.ConsumedCapacity)
		}
		return nil, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && ccf.Item != nil {
		var existing Idempotency
		if uerr := attributevalue.UnmarshalMap(ccf.Item, &existing); uerr != nil {
			return nil, uerr
		}
		return &existing, nil
	}
	if errors.As(err, &ccf) {
		// Older servers do not return the item: read it.
		var existing Idempotency
		if gerr := s.get(ctx, idemPK(keyHash), idemSK, &existing); gerr != nil {
			return nil, gerr
		}
		return &existing, nil
	}
	return nil, fmt.Errorf("acquire idempotency key: %w", classify(err))
}

// Release gives up a key the caller holds, after a failure, so that a retry
// need not wait for the lease.
func (s *Store) Release(ctx context.Context, keyHash, owner string) error {
	expr, err := expression.NewBuilder().WithCondition(expression.And(
		expression.Name("owner").Equal(expression.Value(owner)),
		expression.Name("state").Equal(expression.Value(InFlight)),
	)).Build()
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(idemPK(keyHash), idemSK), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", classify(err))
	}
	return nil
}

// completeIdempotency is the transaction item that marks a held key done.
func (s *Store) completeIdempotency(keyHash, owner string, r Response) (types.TransactWriteItem, error) {
	resp, err := attributevalue.Marshal(r)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("state"), expression.Value(Completed)).
			Set(expression.Name("response"), expression.Value(resp))).
		WithCondition(expression.Name("owner").Equal(expression.Value(owner))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: key(idemPK(keyHash), idemSK), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}
