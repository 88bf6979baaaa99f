package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sources share one partition so they can be listed with a Query.
const sourcePK = "SOURCE"

// Source is a webhook source as stored: its definition without secrets
// (JSON) and its secrets, each wrapped by the secrets KMS key.
type Source struct {
	PK         string         `dynamodbav:"pk"`
	SK         string         `dynamodbav:"sk"`
	Entity     string         `dynamodbav:"entity"`
	ID         string         `dynamodbav:"-"` // from sk
	Definition string         `dynamodbav:"definition"`
	Secrets    []WrappedValue `dynamodbav:"secrets"`
	AESKey     []byte         `dynamodbav:"aes_key,omitempty"`   // WeCom EncodingAESKey, wrapped
	APIToken   []byte         `dynamodbav:"api_token,omitempty"` // wrapped
	UpdatedAt  time.Time      `dynamodbav:"updated_at,unixtime"`
}

// WrappedValue is one secret, wrapped, with when it was added.
type WrappedValue struct {
	Wrapped []byte    `dynamodbav:"w"`
	AddedAt time.Time `dynamodbav:"at,unixtime"`
}

// PutSource stores a source, replacing the one of the same id.
func (s *Store) PutSource(ctx context.Context, src Source) error {
	src.PK, src.SK, src.Entity = sourcePK, src.ID, "source"
	item, err := attributevalue.MarshalMap(src)
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put source %s: %w", src.ID, classify(err))
	}
	return nil
}

// Source returns a source, or ErrNotFound.
func (s *Store) Source(ctx context.Context, id string) (*Source, error) {
	var src Source
	if err := s.get(ctx, sourcePK, id, &src); err != nil {
		return nil, err
	}
	src.ID = src.SK
	return &src, nil
}

// Sources lists every source.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	out, err := queryAll[Source](ctx, s, expression.Key(PK).Equal(expression.Value(sourcePK)), "list sources")
	for i := range out {
		out[i].ID = out[i].SK
	}
	return out, err
}

// Delivery marks a provider's event as taken, so a redelivery writes
// nothing. It is written in the same transaction as what the event wrote
// (a submission, or a quarantined payload) and expires after KeepDelivery.
type Delivery struct {
	Key string // a keyed hash of source and event id
	// Source and Reason, for a delivery taken without storing anything of
	// it (a survey response without the consent its source requires): the
	// mark is then the record that it came and why nothing was kept.
	Source, Reason string
}

// KeepDelivery is how long delivery marks are kept: providers retry for
// hours (Slack), days at most; the issue asks for at least 72 hours.
const KeepDelivery = 7 * 24 * time.Hour

type deliveryItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Entity    string    `dynamodbav:"entity"`
	At        time.Time `dynamodbav:"at,unixtime"`
	ExpiresAt int64     `dynamodbav:"expires_at"`
	Source    string    `dynamodbav:"source,omitempty"`
	Reason    string    `dynamodbav:"reason,omitempty"`
}

func deliveryPK(key string) string { return "WHK#" + key }

const deliverySK = "WHK"

func (s *Store) deliveryPut(d Delivery, now time.Time) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(deliveryItem{PK: deliveryPK(d.Key), SK: deliverySK, Entity: "delivery", At: now.UTC(),
		ExpiresAt: now.Add(KeepDelivery).Unix(), Source: d.Source, Reason: d.Reason})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	// A mark past its expiry is gone for the rules, even before TTL deletes it.
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(PK)).
		Or(expression.Name(TTL).LessThan(expression.Value(now.Unix())))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

// RecordRefused takes a delivery without storing anything of it: only its
// mark, with the source and the reason (which never quotes the payload).
// ErrDuplicate if it was taken before.
func (s *Store) RecordRefused(ctx context.Context, d Delivery, now time.Time) error {
	it, err := s.deliveryPut(d, now)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{it}, "", "record a refused delivery")
	if slices.Contains(cancelled(err), 0) {
		return ErrDuplicate
	}
	return err
}

// Delivered reports whether a delivery mark is there (and not expired): a
// survey tool's retry is answered without fetching the response again.
func (s *Store) Delivered(ctx context.Context, key string, now time.Time) (bool, error) {
	var it deliveryItem
	err := s.get(ctx, deliveryPK(key), deliverySK, &it, PK, TTL)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && it.ExpiresAt >= now.Unix(), err
}
