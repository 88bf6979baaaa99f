package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
)

func ordersEvent(t *testing.T, id, typ, orderID, email, amount string, at time.Time) string {
	return `{"type":"` + typ + `","data":{"order_id":"` + orderID + `","customer":{"email":"` + email + `"},"amount":"` + amount +
		`","currency":"CNY","completed_at":"` + at.Format(time.RFC3339) + `"}}`
}

// Orders move a customer from prospect to new and through the value
// classes as totals cross thresholds; a refund moves it back; a
// redelivered order counts once; the CLI lists segments and members.
func TestOrdersMoveValueClasses(t *testing.T) {
	st := stacktest.NewStreamed(t)
	now := time.Now().UTC()
	st.Segmenter(t, func() time.Time { return now })
	ctx := context.Background()
	h, _ := st.Webhook(t, nil, func() time.Time { return now })
	const secret = "whsec_b3JkZXJzLWxvY2FsLXRlc3Qtc2VjcmV0LTI0Yg=="
	email := stacktest.Unique("vip") + "@example.com"
	send := func(id, typ, orderID, amount string) {
		t.Helper()
		ev := stacktest.StandardEvent(t, "shop-orders", secret, id, ordersEvent(t, id, typ, orderID, email, amount, now.Add(-time.Hour)), now)
		resp, err := h.Handle(ctx, ev)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s %v", id, resp.StatusCode, resp.Body, err)
		}
	}
	as(t, st, "kehu-sales")
	segmentsOf := func() []string {
		out, _, code := kehu(t, st.Table, "customer", "find", "--email", email, "--json")
		var found struct {
			CustomerID string `json:"customer_id"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &found) != nil {
			return nil
		}
		out, _, _ = kehu(t, st.Table, "customer", "show", found.CustomerID, "--json")
		var doc struct{ Segments []string }
		_ = json.Unmarshal([]byte(out), &doc)
		return doc.Segments
	}
	wait := func(want, gone string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := segmentsOf()
			if slices.Contains(s, want) && (gone == "" || !slices.Contains(s, gone)) {
				return
			}
			if time.Now().After(deadline) {
				out, errOut, code := kehu(t, st.Table, "customer", "find", "--email", email, "--json")
				t.Logf("find: %d %s %s", code, out, errOut)
				c, _ := st.Store.SegmentCounts(ctx)
				t.Logf("counts %v; items %v", c, st.Count(t))
				t.Fatalf("segments %v: want %s without %s", s, want, gone)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	send("msg_v1", "order.completed", "SO-V1", "1500.00")
	wait("value:D", "")
	wait("lifecycle:new", "lifecycle:prospect")
	send("msg_v1b", "order.completed", "SO-V1", "1500.00") // redelivered under a new id: counts once
	send("msg_v2", "order.completed", "SO-V2", "18500.00")
	wait("value:B", "value:D") // 20,000.00
	send("msg_v3", "order.refunded", "SO-V2", "18500.00")
	wait("value:D", "value:B")
	out, _, code := kehu(t, st.Table, "segments", "members", "value:D", "--json")
	var m struct {
		Segment string   `json:"segment"`
		Count   int64    `json:"count"`
		Members []string `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil || m.Count != 1 || len(m.Members) != 1 {
		t.Fatalf("members: %s %v", out, err)
	}
	out, _, code = kehu(t, st.Table, "segments", "list", "--json")
	var list []struct {
		Name  string `json:"name"`
		Count int64  `json:"count"`
	}
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) == 0 {
		t.Fatalf("list: %s %v", out, err)
	}
	for _, r := range list {
		if r.Name == "value:B" && r.Count != 0 {
			t.Fatalf("value:B still counts %d", r.Count)
		}
	}
	out, _, code = kehu(t, st.Table, "report", "quality", "--json")
	var q struct {
		Customers    int64            `json:"customers"`
		ValueClasses map[string]int64 `json:"value_classes"`
		Lifecycle    map[string]int64 `json:"lifecycle"`
		Duplicates   map[string]int64 `json:"duplicates_prevented"`
	}
	// The first order made the customer; the second found them by email:
	// one duplicate prevented (the redelivery wrote nothing, and a refund
	// goes to its order's customer, not through the index).
	if err := json.Unmarshal([]byte(out), &q); code != 0 || err != nil || q.Customers != 1 || q.ValueClasses["D"] != 1 || q.Lifecycle["new"] != 1 ||
		!maps.Equal(q.Duplicates, map[string]int64{"orders": 1}) {
		t.Fatalf("report quality: %s %v", out, err)
	}
	out, _, _ = kehu(t, st.Table, "segments", "members", "no-such-segment", "--json")
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Count != 0 || len(m.Members) != 0 {
		t.Fatalf("an unknown segment: %s", out)
	}
}
