package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/google/uuid"
)

// AuditRecord says that someone decrypted a customer's personal data:
// who (the IAM principal in AWS, the local credential locally), when,
// which fields of which tiers, and for what. It holds no personal value.
// Records live in a partition of their own per customer (AUDIT#<id>), so
// an erasure, which empties the customer's partition, keeps them; the
// roles that read data may add records there and never change or delete
// one.
type AuditRecord struct {
	PK         string    `dynamodbav:"pk" json:"-"`
	SK         string    `dynamodbav:"sk" json:"-"`
	Entity     string    `dynamodbav:"entity" json:"-"`
	CustomerID string    `dynamodbav:"customer_id" json:"customer_id"`
	Actor      string    `dynamodbav:"actor" json:"actor"`
	Purpose    string    `dynamodbav:"purpose" json:"purpose"`
	Action     string    `dynamodbav:"action" json:"action"` // show, history, export, restore, send, …
	Fields     []string  `dynamodbav:"fields,omitempty" json:"fields"`
	Tiers      []string  `dynamodbav:"tiers,omitempty" json:"tiers"`
	At         time.Time `dynamodbav:"at,unixtime" json:"at"`
}

func auditPK(customerID string) string { return "AUDIT#" + customerID }

// PutAudit appends an audit record; it never replaces one (its key is the
// time and a random id, and the put is conditioned on its absence).
func (s *Store) PutAudit(ctx context.Context, r AuditRecord) error {
	r.PK, r.Entity, r.At = auditPK(r.CustomerID), "audit", r.At.UTC()
	r.SK = sortTime(r.At) + "#" + uuid.NewString()
	if err := s.putIfAbsent(ctx, r); err != nil {
		return fmt.Errorf("audit a read of %s: %w", r.CustomerID, err)
	}
	return nil
}

// Audit lists a customer's audit records, oldest first.
func (s *Store) Audit(ctx context.Context, customerID string) ([]AuditRecord, error) {
	return queryAll[AuditRecord](ctx, s, expression.Key(PK).Equal(expression.Value(auditPK(customerID))), "audit of "+customerID)
}
