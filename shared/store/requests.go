package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A data-subject request: a person's (or, for them, an operator's)
// request to see, copy, correct, withdraw or erase, with the date it must
// be answered by (the statutory time: 15 days under PIPL by default), so
// nothing is forgotten. Requests hold no personal value: the customer id,
// the kind, the dates, the state. They stay after an erasure, which the
// tombstone names.
//
// Each request is kept where it is read, so no read grows with the whole
// history: under its customer (REQ#<customer>: the privacy page reads one
// small partition), while open or scheduled in REQOPEN (the sweep and
// `kehu requests list --open` read only what is still to answer), and in
// the month it was made (REQLOG#<yyyy-mm>: `kehu requests list --since`,
// the erasures to repeat after a restore). A customer has at most one
// erasure scheduled: REQSLOT#<customer>/ERASURE names it, written only if
// absent (its own partition: freeing it is the only delete the page's
// function may make among the requests, besides REQOPEN).
type Request struct {
	PK         string     `dynamodbav:"pk" json:"-"`
	SK         string     `dynamodbav:"sk" json:"-"`
	Entity     string     `dynamodbav:"entity" json:"-"`
	ID         string     `dynamodbav:"id" json:"id"`
	CustomerID string     `dynamodbav:"customer_id" json:"customer_id"`
	Kind       string     `dynamodbav:"kind" json:"kind"`       // access, erasure, correction, withdrawal
	Channel    string     `dynamodbav:"channel" json:"channel"` // self-service, operator, retention
	State      string     `dynamodbav:"state" json:"state"`     // open, scheduled, running, done, cancelled
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
	RequestRunning   = "running"   // an erasure the sweep has claimed: too late to cancel
	RequestDone      = "done"
	RequestCancelled = "cancelled"
)

// ErrErasurePending means the customer has an erasure scheduled already.
var ErrErasurePending = errors.New("an erasure is scheduled already")

const (
	requestPKPrefix    = "REQ#"
	requestsOpenPK     = "REQOPEN"
	requestLogPKPrefix = "REQLOG#"
	slotPKPrefix       = "REQSLOT#"
	pendingErasureSK   = "ERASURE"
)

// slotKey is a customer's erasure slot: a partition of its own, so the
// functions that free it may delete nothing else of the requests.
func slotKey(customerID string) map[string]types.AttributeValue {
	return key(slotPKPrefix+customerID, pendingErasureSK)
}

func requestPK(customerID string) string { return requestPKPrefix + customerID }
func requestLogPK(t time.Time) string    { return requestLogPKPrefix + t.UTC().Format("2006-01") }
func requestSK(r Request) string         { return r.CreatedAt.UTC().Format(time.RFC3339Nano) + "#" + r.ID }

// open says whether a request state is still to be answered.
func open(state string) bool {
	return state == RequestOpen || state == RequestScheduled || state == RequestRunning
}

// PutRequest records a new request: under its customer, in its month and,
// while open, in REQOPEN — in one transaction. A scheduled erasure also
// takes the customer's ERASURE slot: ErrErasurePending if one is
// scheduled already (a double click schedules one). ErrConflict: this
// request was recorded before.
func (s *Store) PutRequest(ctx context.Context, r Request) error {
	r.CreatedAt, r.DueAt, r.Entity = r.CreatedAt.UTC(), r.DueAt.UTC(), "request"
	sk := requestSK(r)
	var items []types.TransactWriteItem
	for _, pk := range []string{requestPK(r.CustomerID), requestLogPK(r.CreatedAt)} {
		c := r
		c.PK, c.SK = pk, sk
		it, err := putNew(s.table, c)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	if open(r.State) {
		c := r
		c.PK, c.SK = requestsOpenPK, sk
		it, err := putNew(s.table, c)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	if r.Kind == RequestErasure && r.State == RequestScheduled {
		it, err := putNew(s.table, map[string]any{PK: slotPKPrefix + r.CustomerID, SK: pendingErasureSK, "entity": "pending-erasure", "request_sk": sk})
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	err := s.transact(ctx, items, r.ID, "record a request")
	switch failed := cancelled(err); {
	case slices.Contains(failed, 0):
		return ErrConflict // recorded before
	case r.Kind == RequestErasure && r.State == RequestScheduled && slices.Contains(failed, len(items)-1):
		return ErrErasurePending
	}
	return err
}

// CustomerRequests lists a customer's requests, oldest first.
func (s *Store) CustomerRequests(ctx context.Context, customerID string) ([]Request, error) {
	return queryAll[Request](ctx, s, expression.Key(PK).Equal(expression.Value(requestPK(customerID))), "requests of "+customerID)
}

// OpenRequests lists the requests still to be answered (open, scheduled,
// running), oldest first.
func (s *Store) OpenRequests(ctx context.Context) ([]Request, error) {
	return queryAll[Request](ctx, s, expression.Key(PK).Equal(expression.Value(requestsOpenPK)), "open requests")
}

// RequestsSince lists the requests made since a time, oldest first, each
// in its current state: a query per month, then the customer's copy.
func (s *Store) RequestsSince(ctx context.Context, since, now time.Time) ([]Request, error) {
	var out []Request
	for m := time.Date(since.Year(), since.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(now); m = m.AddDate(0, 1, 0) {
		logged, err := queryAll[Request](ctx, s, expression.KeyAnd(expression.Key(PK).Equal(expression.Value(requestLogPK(m))),
			expression.Key(SK).GreaterThanEqual(expression.Value(since.UTC().Format(time.RFC3339Nano)))), "requests of "+m.Format("2006-01"))
		if err != nil {
			return nil, err
		}
		for _, l := range logged {
			var r Request
			switch err := s.get(ctx, requestPK(l.CustomerID), l.SK, &r); {
			case errors.Is(err, ErrNotFound):
				out = append(out, l) // as it was made
			case err != nil:
				return nil, err
			default:
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// PendingErasure returns a customer's erasure request waiting out its
// cooling-off (or claimed by the sweep: state running), or ErrNotFound.
func (s *Store) PendingErasure(ctx context.Context, customerID string) (*Request, error) {
	var slot struct {
		SK string `dynamodbav:"request_sk"`
	}
	if err := s.get(ctx, slotPKPrefix+customerID, pendingErasureSK, &slot); err != nil {
		return nil, err
	}
	var r Request
	if err := s.get(ctx, requestPK(customerID), slot.SK, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SetRequestState moves a request from one state to another (ErrConflict
// if it is not in from any more: cancelled, claimed or done meanwhile),
// with its REQOPEN entry and, when an erasure ends, the customer's
// ERASURE slot, in one transaction.
func (s *Store) SetRequestState(ctx context.Context, r Request, from, to string, now time.Time) error {
	sk := r.SK
	if sk == "" {
		sk = requestSK(r)
	}
	up := expression.Set(expression.Name("state"), expression.Value(to))
	if !open(to) {
		up = up.Set(expression.Name("done_at"), expression.Value(now.Unix()))
	}
	main, err := s.update(key(requestPK(r.CustomerID), sk), up, expression.Name("state").Equal(expression.Value(from)))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{main}
	if open(to) {
		u, err := s.update(key(requestsOpenPK, sk), expression.Set(expression.Name("state"), expression.Value(to)), expression.AttributeExists(expression.Name(PK)))
		if err != nil {
			return err
		}
		items = append(items, u)
	} else {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(requestsOpenPK, sk)}})
		if r.Kind == RequestErasure && r.RunAt != nil {
			// The customer's slot, which a scheduled erasure (one with a
			// run time) took; an operator's or the retention's erasure
			// never takes it.
			expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(PK)).
				Or(expression.Name("request_sk").Equal(expression.Value(sk)))).Build()
			if err != nil {
				return err
			}
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: slotKey(r.CustomerID),
				ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}})
		}
	}
	err = s.transact(ctx, items, uuid.NewString(), "request "+r.ID)
	if slices.Contains(cancelled(err), 0) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("request %s: %w", r.ID, err)
	}
	return nil
}

// update is an Update of a transaction, conditioned.
func (s *Store) update(k map[string]types.AttributeValue, up expression.UpdateBuilder, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: k, UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}
