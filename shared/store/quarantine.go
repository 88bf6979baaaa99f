package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Quarantine holds authentic webhook payloads kehu could not use (an event
// type it does not take, a changed schema, invalid fields): acknowledged to
// the provider, kept encrypted with the reason until an operator replays
// or drops them, or KeepQuarantine passes. One partition: they are rare.
const quarantinePK = "QUARANTINE"

// KeepQuarantine is how long a quarantined payload is kept.
const KeepQuarantine = 30 * 24 * time.Hour

// Quarantined is one kept payload. Payload is sealed in the confidential
// tier (AAD QuarantineAttribute(ID)); its data key is a DKEY item.
type Quarantined struct {
	PK          string    `dynamodbav:"pk" json:"-"`
	SK          string    `dynamodbav:"sk" json:"-"`
	Entity      string    `dynamodbav:"entity" json:"-"`
	ID          string    `dynamodbav:"-" json:"id"` // from sk
	Source      string    `dynamodbav:"source" json:"source"`
	Provider    string    `dynamodbav:"provider" json:"provider"`
	Reason      string    `dynamodbav:"reason" json:"reason"`
	At          time.Time `dynamodbav:"at,unixtime" json:"at"`
	Delivery    string    `dynamodbav:"delivery" json:"-"` // the delivery mark written with it
	Payload     []byte    `dynamodbav:"payload,omitempty" json:"-"`
	Size        int       `dynamodbav:"size" json:"size"` // bytes of the payload as received
	Compressed  bool      `dynamodbav:"gzip,omitempty" json:"-"`
	ExpiresAt   int64     `dynamodbav:"expires_at" json:"-"`
	ReplayedAs  string    `dynamodbav:"replayed_as,omitempty" json:"replayed_as,omitempty"` // the submission a replay made
	ReplayedFor string    `dynamodbav:"replayed_for,omitempty" json:"replayed_for,omitempty"`
}

// QuarantineAttribute names a quarantined payload in its associated data.
func QuarantineAttribute(id string) string { return "quarantine/" + id }

// QuarantineCustomer stands in for the customer in a quarantined
// payload's associated data: it belongs to no customer yet.
const QuarantineCustomer = "quarantine"

// PutQuarantine writes a quarantined payload with its delivery mark and
// any new data key, in one transaction. ErrDuplicate: the event was taken
// before.
func (s *Store) PutQuarantine(ctx context.Context, q Quarantined, d Delivery, keys []DataKey) error {
	q.PK, q.SK, q.Entity, q.Delivery = quarantinePK, q.ID, "quarantine", d.Key
	q.At = q.At.UTC()
	q.ExpiresAt = q.At.Add(KeepQuarantine).Unix()
	put, err := putNew(s.table, q)
	if err != nil {
		return err
	}
	mark, err := s.deliveryPut(d, q.At)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{put, mark}
	for _, k := range keys {
		it, err := s.dataKeyPut(k, q.At)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	err = s.transact(ctx, items, q.ID, "quarantine "+q.ID)
	if failed := cancelled(err); len(failed) == 1 && failed[0] == 1 {
		return fmt.Errorf("quarantine %s: %w", q.ID, ErrDuplicate)
	}
	return err
}

// Quarantine lists the quarantined payloads, oldest first, without them.
func (s *Store) Quarantine(ctx context.Context) ([]Quarantined, error) {
	// Without the payloads (up to 350 KB each): they are read one by one.
	out, err := queryAll[Quarantined](ctx, s, expression.Key(PK).Equal(expression.Value(quarantinePK)), "quarantine",
		PK, SK, "entity", "source", "provider", "reason", "at", "delivery", "size", "gzip", "expires_at", "replayed_as", "replayed_for")
	for i := range out {
		out[i].ID = out[i].SK
	}
	return out, err
}

// QuarantinedPayload returns one quarantined payload, or ErrNotFound.
func (s *Store) QuarantinedPayload(ctx context.Context, id string) (*Quarantined, error) {
	var q Quarantined
	if err := s.get(ctx, quarantinePK, id, &q); err != nil {
		return nil, err
	}
	q.ID = q.SK
	return &q, nil
}

// MarkReplayed records that a replay made submission subID for customer,
// and drops the payload (it is in the ledger now).
func (s *Store) MarkReplayed(ctx context.Context, id, subID, customerID string) error {
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("replayed_as"), expression.Value(subID)).
		Set(expression.Name("replayed_for"), expression.Value(customerID)).Remove(expression.Name("payload"))).
		WithCondition(expression.AttributeExists(expression.Name(PK))).Build()
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(quarantinePK, id), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if err != nil {
		return fmt.Errorf("mark %s replayed: %w", id, classify(err))
	}
	return nil
}

// DropQuarantined deletes a quarantined payload.
func (s *Store) DropQuarantined(ctx context.Context, id string) error {
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(PK))).Build()
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(quarantinePK, id),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names()})
	if err != nil {
		return fmt.Errorf("drop %s: %w", id, classify(err))
	}
	return nil
}
