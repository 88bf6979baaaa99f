package intake_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/source"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// sourceForm is the pipeline's form of a webhook source, as the webhook
// function builds it.
func sourceForm(t *testing.T, d source.Definition) *form.Definition {
	t.Helper()
	f, err := d.Form()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Retention counts from the customer's own last act (active_at): a
// message from them, a form post, an order they placed move it; a message
// the company sent them and a refund do not.
func TestOnlyTheCustomersOwnActsMoveActiveAt(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	clock := time.Now().UTC().Truncate(time.Second)
	svc.Now = func() time.Time { return clock }
	chat := sourceForm(t, source.Definition{ID: "web-chat", Provider: webhook.Standard, Kind: source.KindChat,
		Basis: consent.BasisServiceRequest, Notice: "chat-v1"})
	orders := sourceForm(t, source.Definition{ID: "shop-orders", Provider: webhook.Standard, Kind: source.KindOrders,
		Basis: consent.BasisContract, Notice: "orders-v1"})
	message := func(email, direction string) intake.Submission {
		return intake.Submission{Fields: map[string][]string{"email": {email}}, Consent: consent.Grant{Notice: "chat-v1"},
			Interaction: &intake.Interaction{Source: "web-chat", Provider: string(webhook.Standard), Conversation: "conv-1",
				Direction: direction, At: clock, Text: "您好 hello"}}
	}
	var id string
	step := func(t *testing.T, what string, def *form.Definition, sub intake.Submission, wantActive time.Time) {
		t.Helper()
		clock = clock.Add(24 * time.Hour)
		res, err := svc.Submit(ctx, def, sub)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if id == "" {
			id = res.CustomerID
		}
		p, err := st.Store.Profile(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !p.UpdatedAt.Equal(clock) {
			t.Fatalf("%s: updated_at %v, want %v (the submission was not applied)", what, p.UpdatedAt, clock)
		}
		switch {
		case wantActive.IsZero() && p.ActiveAt != nil:
			t.Errorf("%s: active_at %v, want none", what, *p.ActiveAt)
		case !wantActive.IsZero() && (p.ActiveAt == nil || !p.ActiveAt.Equal(wantActive)):
			t.Errorf("%s: active_at %v, want %v", what, p.ActiveAt, wantActive)
		}
	}
	next := func() time.Time { return clock.Add(24 * time.Hour) }

	t.Run("the customer orders first", func(t *testing.T) {
		email := stacktest.Unique("buyer") + "@example.com"
		id = ""
		order := &store.OrderChange{Key: stacktest.Unique("order"), Amount: "120.00", Currency: "CNY", Month: store.MonthOf(clock), At: clock}
		step(t, "an order they placed", orders, intake.Submission{Trust: customer.Trusted, Order: order,
			Fields: map[string][]string{"email": {email}}, Consent: consent.Grant{Notice: "orders-v1"}}, next())
		ordered := clock
		refund := *order
		refund.Refund = true
		step(t, "its refund", orders, intake.Submission{Trust: customer.Trusted, Subject: id, Order: &refund,
			Consent: consent.Grant{Notice: "orders-v1"}}, ordered)
		step(t, "an agent writes", chat, message(email, webhook.Outbound), ordered)
		step(t, "the person answers", chat, message(email, webhook.Inbound), next())
		answered := clock
		step(t, "the agent replies", chat, message(email, webhook.Outbound), answered)
		step(t, "a form post", mustForm(t, svc), contactSub("王芳", email, ""), next())
	})
	t.Run("the company writes first", func(t *testing.T) {
		email := stacktest.Unique("lead") + "@example.com"
		id = ""
		step(t, "an agent writes to a new address", chat, message(email, webhook.Outbound), time.Time{})
		step(t, "the person answers", chat, message(email, webhook.Inbound), next())
	})
}

// A customer who first wrote a form and then orders: the month's total is
// a number (it was once stored as a map, so a later refund failed).
func TestFirstOrderOfAnExistingCustomer(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	def, _ := svc.Form(ctx, "contact")
	email := stacktest.Unique("firstorder") + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Bai Juyi"}, "email": {email}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	orders := sourceForm(t, source.Definition{ID: "shop-orders", Provider: webhook.Standard, Kind: source.KindOrders,
		Basis: consent.BasisContract, Notice: "orders-v1"})
	now := time.Now().UTC()
	key := stacktest.Unique("order")
	for _, o := range []*store.OrderChange{
		{Key: key, Amount: "120.00", Currency: "CNY", Month: store.MonthOf(now), At: now},
		{Key: key, Amount: "120.00", Currency: "CNY", Month: store.MonthOf(now), At: now, Refund: true},
	} {
		if _, err := svc.Submit(ctx, orders, intake.Submission{Trust: customer.Trusted, Order: o,
			Fields: map[string][]string{"email": {email}}, Consent: consent.Grant{Notice: "orders-v1"}}); err != nil {
			t.Fatalf("order (refund %v): %v", o.Refund, err)
		}
		p, err := st.Store.Profile(ctx, res.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]float64{false: 120, true: 0}[o.Refund]
		if got, err := strconv.ParseFloat(string(p.TradeMonths[store.MonthOf(now)]), 64); err != nil || got != want {
			t.Fatalf("the month's total after the order (refund %v): %q, want %v", o.Refund, p.TradeMonths[store.MonthOf(now)], want)
		}
	}
}
