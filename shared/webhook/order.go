package webhook

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// Order is an order event of the company's own order system (a source of
// kind orders, signed as Standard Webhooks).
type Order struct {
	Type       string // OrderCompleted or OrderRefunded
	OrderID    string
	CustomerID string            // when the event names kehu's customer id
	Fields     map[string]string // otherwise: email, phone (raw, validated by the pipeline)
	Amount     string            // exact decimal string, as sent
	Currency   string
	At         time.Time // completed_at: completion, or for a refund the refund's time
}

// Order event types.
const (
	OrderCompleted = "order.completed"
	OrderRefunded  = "order.refunded"
)

var (
	amountPattern   = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,6})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	orderIDPattern  = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

// MapOrder reads an authentic order event. What cannot be used (another
// event type, a malformed amount or time, no customer) is an
// *UnmappableError whose reason never quotes the payload.
func MapOrder(payload []byte) (Order, error) {
	var doc struct {
		Type string `json:"type"`
		Data struct {
			OrderID  string `json:"order_id"`
			Customer struct {
				CustomerID string `json:"customer_id"`
				Email      string `json:"email"`
				Phone      string `json:"phone"`
			} `json:"customer"`
			Amount      json.RawMessage `json:"amount"`
			Currency    string          `json:"currency"`
			CompletedAt string          `json:"completed_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &doc); err != nil {
		return Order{}, unmappable("order payload is not the documented JSON")
	}
	if doc.Type != OrderCompleted && doc.Type != OrderRefunded {
		return Order{}, unmappable("order event type " + name(doc.Type) + " is not taken")
	}
	d := doc.Data
	o := Order{Type: doc.Type, OrderID: d.OrderID, CustomerID: strings.TrimSpace(d.Customer.CustomerID), Currency: d.Currency}
	if !orderIDPattern.MatchString(o.OrderID) {
		return Order{}, unmappable("order_id is missing or not 1 to 128 printable ASCII characters")
	}
	var amount string
	if err := json.Unmarshal(d.Amount, &amount); err != nil || !amountPattern.MatchString(amount) {
		return Order{}, unmappable("amount must be a decimal string such as \"1234.50\" (no sign, exponent or grouping)")
	}
	o.Amount = amount
	if !currencyPattern.MatchString(o.Currency) {
		return Order{}, unmappable("currency must be an ISO 4217 code such as CNY")
	}
	at, err := time.Parse(time.RFC3339, d.CompletedAt)
	if err != nil {
		return Order{}, unmappable("completed_at must be an RFC 3339 time")
	}
	o.At = at.UTC()
	if o.CustomerID == "" {
		o.Fields = map[string]string{}
		if d.Customer.Email != "" {
			o.Fields["email"] = d.Customer.Email
		}
		if d.Customer.Phone != "" {
			o.Fields["phone"] = d.Customer.Phone
		}
		if len(o.Fields) == 0 {
			return Order{}, unmappable("the order names no customer_id, email or phone")
		}
	}
	return o, nil
}
