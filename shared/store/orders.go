package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Order states.
const (
	OrderCompleted = "completed"
	OrderRefunded  = "refunded"
)

// OrderRecord is one order of the company's order system, kept so that an
// order counts once however often it is delivered and a refund reverses
// exactly what it added. It holds no personal data: a keyed hash of the
// order id, the customer id, the amount and when.
type OrderRecord struct {
	PK          string    `dynamodbav:"pk"`
	SK          string    `dynamodbav:"sk"`
	Entity      string    `dynamodbav:"entity"`
	Key         string    `dynamodbav:"-"` // from pk
	CustomerID  string    `dynamodbav:"customer_id"`
	Amount      string    `dynamodbav:"amount"` // exact decimal, as sent
	Currency    string    `dynamodbav:"currency"`
	Month       string    `dynamodbav:"month"` // "2006-01" of CompletedAt, the 12-month window's unit
	CompletedAt time.Time `dynamodbav:"completed_at,unixtime"`
	State       string    `dynamodbav:"state"`
	RefundedAt  time.Time `dynamodbav:"refunded_at,unixtime,omitempty"`
}

func orderPK(key string) string { return "ORDER#" + key }

const orderSK = "ORDER"

// Order returns an order record by its key, or ErrNotFound.
func (s *Store) Order(ctx context.Context, key string) (*OrderRecord, error) {
	var o OrderRecord
	if err := s.get(ctx, orderPK(key), orderSK, &o); err != nil {
		return nil, err
	}
	o.Key = key
	return &o, nil
}

// OrderChange is what an order event does, in its submission's transaction:
// a completion records the order (once: ErrDuplicate if recorded) and adds
// to the customer's trade aggregates; a refund marks a completed order
// refunded (once) and takes back exactly what it added.
type OrderChange struct {
	Key      string
	Refund   bool
	Amount   string // the order's amount (for a refund: the recorded one)
	Currency string
	Month    string
	At       time.Time // completion, or refund time
}

// MonthOf is an order's month in the trade aggregates.
func MonthOf(t time.Time) string { return t.UTC().Format("2006-01") }

func (s *Store) orderWrite(o OrderChange, customerID string, now time.Time) (types.TransactWriteItem, error) {
	if !o.Refund {
		return putNew(s.table, OrderRecord{PK: orderPK(o.Key), SK: orderSK, Entity: "order", CustomerID: customerID, Amount: o.Amount,
			Currency: o.Currency, Month: o.Month, CompletedAt: o.At.UTC(), State: OrderCompleted})
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("state"), expression.Value(OrderRefunded)).
			Set(expression.Name("refunded_at"), expression.Value(o.At.Unix()))).
		WithCondition(expression.Name("state").Equal(expression.Value(OrderCompleted)).
			And(expression.Name("customer_id").Equal(expression.Value(customerID)))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key(orderPK(o.Key), orderSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values()}}, nil
}

// number is a DynamoDB number from an exact decimal string (DynamoDB adds
// numbers exactly, to 38 digits).
func number(dec string) types.AttributeValue { return &types.AttributeValueMemberN{Value: dec} }

func negate(dec string) string {
	if len(dec) > 0 && dec[0] == '-' {
		return dec[1:]
	}
	return "-" + dec
}

// tradeUpdate adds an order (or takes a refund back) to the profile's
// aggregates: count, total, the month's total, first and last trade (a
// refund of the only order removes them).
func tradeUpdate(up expression.UpdateBuilder, o OrderChange, head *Profile) expression.UpdateBuilder {
	amount, count := o.Amount, "1"
	if o.Refund {
		amount, count = negate(o.Amount), "-1"
	}
	up = up.Add(expression.Name("trade_count"), expression.Value(number(count))).
		Add(expression.Name("trade_total"), expression.Value(number(amount)))
	if head == nil || head.TradeMonths == nil {
		up = up.Set(expression.Name("trade_months"), expression.Value(&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{o.Month: number(amount)}}))
	} else {
		m := expression.Name("trade_months." + o.Month)
		up = up.Set(m, expression.Plus(expression.IfNotExists(m, expression.Value(number("0"))), expression.Value(number(amount))))
	}
	if o.Refund && head != nil && head.TradeCount <= 1 {
		// The only order taken back: no trade times remain (the update is
		// conditioned on the head's version). With more orders left, the
		// times stay those of the orders seen (segment/doc.go).
		up = up.Remove(expression.Name("first_trade_at")).Remove(expression.Name("last_trade_at"))
	}
	if !o.Refund {
		if head == nil || head.FirstTradeAt == nil || o.At.Before(*head.FirstTradeAt) {
			up = up.Set(expression.Name("first_trade_at"), expression.Value(o.At.Unix()))
		}
		if head == nil || head.LastTradeAt == nil || o.At.After(*head.LastTradeAt) {
			up = up.Set(expression.Name("last_trade_at"), expression.Value(o.At.Unix()))
		}
	}
	return up
}

// Decimal is an exact decimal stored as a DynamoDB number.
type Decimal string

// MarshalDynamoDBAttributeValue stores it as a number.
func (d Decimal) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	if d == "" {
		return &types.AttributeValueMemberNULL{Value: true}, nil
	}
	return number(string(d)), nil
}

// UnmarshalDynamoDBAttributeValue reads a number (or a string) exactly.
func (d *Decimal) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberN:
		*d = Decimal(v.Value)
	case *types.AttributeValueMemberS:
		*d = Decimal(v.Value)
	default:
		*d = ""
	}
	return nil
}
