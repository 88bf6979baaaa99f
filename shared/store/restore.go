package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/shared/customer"
)

// Restore moves a field's pointer back to the value an earlier submission
// brought, as an operator's decision (trusted), and records it in the
// ledger, in one transaction. Nothing is decrypted or re-encrypted: the
// value stays in the entry that brought it.
type Restore struct {
	CustomerID  string
	Field       string
	From        string // the submission whose value becomes current
	Fingerprint string // of the restored value, for later comparisons
	Plain       *string
	Actor       string // who decided
	EntryID     string // the restore's own ledger id
	At          time.Time
	PrevVersion int64
}

// Restore writes r. ErrConflict: the profile changed since it was read.
func (s *Store) Restore(ctx context.Context, r Restore) error {
	ref := FieldRef{Submission: r.From, Trust: customer.Trusted, Fingerprint: r.Fingerprint}
	up := expression.Set(expression.Name("updated_at"), expression.Value(r.At.Unix())).
		Add(expression.Name("version"), expression.Value(1))
	av, err := marshal(ref)
	if err != nil {
		return err
	}
	up = up.Set(expression.Name("src."+r.Field), expression.Value(av))
	if r.Plain != nil {
		up = up.Set(expression.Name("general."+r.Field), expression.Value(*r.Plain))
	}
	expr, err := expression.NewBuilder().WithUpdate(up).
		WithCondition(expression.Name("version").Equal(expression.Value(r.PrevVersion))).Build()
	if err != nil {
		return err
	}
	entry := LedgerEntry{PK: profilePK(r.CustomerID), SK: ledgerSK(r.EntryID), Entity: EntityRestore, Channel: "operator",
		Trust: customer.Trusted, At: r.At.UTC(), RestoredField: r.Field, RestoredFrom: r.From, Actor: r.Actor}
	put, err := putNew(s.table, entry)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.table, Key: key(profilePK(r.CustomerID), profileSK), UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, put}
	return s.transact(ctx, items, r.EntryID, "restore "+r.Field+" of "+r.CustomerID)
}
