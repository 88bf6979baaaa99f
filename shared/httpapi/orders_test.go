package httpapi_test

import (
	"context"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/store"
)

const ordersSecret = "whsec_b3JkZXJzLWxvY2FsLXRlc3Qtc2VjcmV0LTI0Yg=="

func orderEvent(t *testing.T, id, body string, at time.Time) events.APIGatewayV2HTTPRequest {
	return stacktest.StandardEvent(t, "shop-orders", ordersSecret, id, body, at)
}

func order(typ, orderID, customer, amount, currency string) string {
	return `{"type":"` + typ + `","data":{"order_id":"` + orderID + `","customer":` + customer + `,"amount":"` + amount +
		`","currency":"` + currency + `","completed_at":"2026-11-20T08:00:00Z"}}`
}

// Order events update the general-tier trade aggregates exactly once per
// order id, however often delivered; a refund takes back exactly what its
// order added; what cannot be used is quarantined and changes nothing.
func TestOrderEvents(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	email := stacktest.Unique("buyer") + "@example.com"
	byEmail := `{"email":"` + email + `"}`
	send := func(id, body, want string) {
		t.Helper()
		resp, err := h.Handle(ctx, orderEvent(t, id, body, now))
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, want) {
			t.Fatalf("%s: %d %s %v, want %s", id, resp.StatusCode, resp.Body, err, want)
		}
	}
	var customerID string
	profile := func() *store.Profile {
		t.Helper()
		for _, it := range st.Scan(t) {
			if dumpPK(it) != "" && strings.Contains(dumpString(it["entity"]), "profile") {
				customerID = strings.TrimPrefix(dumpPK(it), "CUST#")
			}
		}
		p, err := st.Store.Profile(ctx, customerID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(count int64, total, month string) {
		t.Helper()
		p := profile()
		if p.TradeCount != count || !sameDecimal(string(p.TradeTotal), total) || !sameDecimal(string(p.TradeMonths["2026-11"]), month) {
			t.Fatalf("aggregates: count %d total %s month %s; want %d %s %s", p.TradeCount, p.TradeTotal, p.TradeMonths["2026-11"], count, total, month)
		}
	}
	send("msg_o1", order("order.completed", "SO-1001", byEmail, "1234.50", "CNY"), "accepted")
	check(1, "1234.5", "1234.5")
	if p := profile(); p.FirstTradeAt == nil || p.LastTradeAt == nil || !p.FirstTradeAt.Equal(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("trade times %v %v", p.FirstTradeAt, p.LastTradeAt)
	}
	send("msg_o1b", order("order.completed", "SO-1001", byEmail, "1234.50", "CNY"), "duplicate") // same order, new webhook-id
	check(1, "1234.5", "1234.5")
	send("msg_o2", order("order.completed", "SO-1002", `{"customer_id":"`+customerID+`"}`, "100000.00", "CNY"), "accepted")
	check(2, "101234.5", "101234.5")
	send("msg_o3", order("order.refunded", "SO-1002", byEmail, "100000.00", "CNY"), "accepted")
	check(1, "1234.5", "1234.5")
	send("msg_o3b", order("order.refunded", "SO-1002", byEmail, "100000.00", "CNY"), "duplicate")
	check(1, "1234.5", "1234.5")
	before := st.Count(t)["quarantine"]
	send("msg_q1", order("order.refunded", "SO-9999", byEmail, "10.00", "CNY"), "quarantined")
	send("msg_q2", order("order.completed", "SO-2001", byEmail, "10.00", "USD"), "quarantined")
	send("msg_q3", order("order.completed", "SO-2002", `{"customer_id":"00000000-0000-4000-8000-000000000000"}`, "10.00", "CNY"), "quarantined")
	send("msg_q4", order("order.completed", "SO-2003", byEmail, "1,000.00", "CNY"), "quarantined")
	send("msg_q5", order("order.shipped", "SO-2004", byEmail, "10.00", "CNY"), "quarantined")
	if got := st.Count(t)["quarantine"]; got != before+5 {
		t.Fatalf("%d quarantined, want %d", got, before+5)
	}
	check(1, "1234.5", "1234.5")

	// A second order system: its order ids are its own. It cannot refund
	// the first system's SO-1001, and its own SO-1001 is another order.
	dir := t.TempDir()
	if err := writeFile(dir+"/b.json", `{"id":"shop-orders-b","provider":"standard","kind":"orders","basis":"contract","notice":"orders-v1",
		"secrets":["`+ordersSecret+`"]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutSourceFiles(ctx, st.Store, config.KMS(st.AWS(t, "kehu-admin")), stacktest.SecretsKey, dir); err != nil {
		t.Fatal(err)
	}
	sendB := func(id, body, want string) {
		t.Helper()
		resp, err := h.Handle(ctx, stacktest.StandardEvent(t, "shop-orders-b", ordersSecret, id, body, now))
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, want) {
			t.Fatalf("%s: %d %s %v, want %s", id, resp.StatusCode, resp.Body, err, want)
		}
	}
	sendB("msg_b1", order("order.refunded", "SO-1001", byEmail, "1234.50", "CNY"), "quarantined")
	check(1, "1234.5", "1234.5")
	sendB("msg_b2", order("order.completed", "SO-1001", byEmail, "10.00", "CNY"), "accepted")
	check(2, "1244.5", "1244.5")
	if strings.Contains(dumpString(st.Scan(t)), "SO-1001") {
		t.Fatal("an order id is in a key or attribute in plaintext")
	}
}

func sameDecimal(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

// The refund of a customer's only order leaves no trade behind: no count,
// no total, no trade times, so the segments see a prospect again.
func TestRefundOfOnlyOrder(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	now := time.Now()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	byEmail := `{"email":"` + stacktest.Unique("once") + `@example.com"}`
	for _, ev := range []struct{ id, body string }{
		{"msg_r1", order("order.completed", "SO-5001", byEmail, "88.00", "CNY")},
		{"msg_r2", order("order.refunded", "SO-5001", byEmail, "88.00", "CNY")},
	} {
		if resp, err := h.Handle(ctx, orderEvent(t, ev.id, ev.body, now)); err != nil || !strings.Contains(resp.Body, "accepted") {
			t.Fatalf("%s: %d %s %v", ev.id, resp.StatusCode, resp.Body, err)
		}
	}
	var id string
	for _, it := range st.Scan(t) {
		if strings.Contains(dumpString(it["entity"]), "profile") {
			id = strings.TrimPrefix(dumpPK(it), "CUST#")
		}
	}
	p, err := st.Store.Profile(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.TradeCount != 0 || !sameDecimal(string(p.TradeTotal), "0") || p.FirstTradeAt != nil || p.LastTradeAt != nil {
		t.Fatalf("after the only order's refund: count %d total %s first %v last %v", p.TradeCount, p.TradeTotal, p.FirstTradeAt, p.LastTradeAt)
	}
	segs, _ := segment.Evaluate(segmenter.Rules(p), now, segment.Defaults())
	if !slices.Contains(segs, segment.LifecycleProspect) || slices.ContainsFunc(segs, func(s string) bool { return strings.HasPrefix(s, "value:") }) {
		t.Fatalf("segments %v, want a prospect with no value class", segs)
	}
}
