package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// A data-subject request: a person's (or, for them, an operator's)
// request to see, copy, correct, withdraw or erase, with the date it must
// be answered by (the statutory time: 15 days under PIPL by default), so
// nothing is forgotten. Requests hold no personal value: the customer id,
// the kind, the dates, the state. They live in one partition (they are
// few) and stay after an erasure, which the tombstone names.
type Request struct {
	PK         string     `dynamodbav:"pk" json:"-"`
	SK         string     `dynamodbav:"sk" json:"-"`
	Entity     string     `dynamodbav:"entity" json:"-"`
	ID         string     `dynamodbav:"id" json:"id"`
	CustomerID string     `dynamodbav:"customer_id" json:"customer_id"`
	Kind       string     `dynamodbav:"kind" json:"kind"`       // access, erasure, correction, withdrawal
	Channel    string     `dynamodbav:"channel" json:"channel"` // self-service, operator
	State      string     `dynamodbav:"state" json:"state"`     // open, scheduled, done, cancelled
	CreatedAt  time.Time  `dynamodbav:"created_at,unixtime" json:"created_at"`
	DueAt      time.Time  `dynamodbav:"due_at,unixtime" json:"due_at"`                     // the statutory answer date
	RunAt      *time.Time `dynamodbav:"run_at,unixtime,omitempty" json:"run_at,omitempty"` // an erasure's end of cooling-off
	DoneAt     *time.Time `dynamodbav:"done_at,unixtime,omitempty" json:"done_at,omitempty"`
}

// Request kinds and states.
const (
	RequestAccess     = "access"
	RequestErasure    = "erasure"
	RequestCorrection = "correction"

	RequestOpen      = "open"
	RequestScheduled = "scheduled" // an erasure waiting out its cooling-off
	RequestDone      = "done"
	RequestCancelled = "cancelled"
)

const requestsPK = "REQUESTS"

// PutRequest records a new request.
func (s *Store) PutRequest(ctx context.Context, r Request) error {
	r.PK, r.SK, r.Entity = requestsPK, r.CreatedAt.UTC().Format(time.RFC3339Nano)+"#"+r.ID, "request"
	r.CreatedAt, r.DueAt = r.CreatedAt.UTC(), r.DueAt.UTC()
	it, err := putNew(s.table, r)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: it.Put.TableName, Item: it.Put.Item,
		ConditionExpression: it.Put.ConditionExpression, ExpressionAttributeNames: it.Put.ExpressionAttributeNames})
	if err != nil {
		return fmt.Errorf("record a request: %w", classify(err))
	}
	return nil
}

// Requests lists every request, oldest first.
func (s *Store) Requests(ctx context.Context) ([]Request, error) {
	return queryAll[Request](ctx, s, expression.Key(PK).Equal(expression.Value(requestsPK)), "requests")
}

// PendingErasure returns a customer's erasure request waiting out its
// cooling-off, or ErrNotFound.
func (s *Store) PendingErasure(ctx context.Context, customerID string) (*Request, error) {
	all, err := s.Requests(ctx)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if r := all[i]; r.CustomerID == customerID && r.Kind == RequestErasure && r.State == RequestScheduled {
			return &r, nil
		}
	}
	return nil, ErrNotFound
}

// SetRequestState moves a request from one state to another (ErrConflict
// if it is not in from any more: cancelled, or done, meanwhile).
func (s *Store) SetRequestState(ctx context.Context, r Request, from, to string, now time.Time) error {
	up := expression.Set(expression.Name("state"), expression.Value(to))
	if to == RequestDone || to == RequestCancelled {
		up = up.Set(expression.Name("done_at"), expression.Value(now.Unix()))
	}
	err := s.updateIf(ctx, key(requestsPK, r.SK), up, expression.Name("state").Equal(expression.Value(from)))
	if errors.Is(err, ErrConflict) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("request %s: %w", r.ID, err)
	}
	return nil
}
