package segment

import (
	"slices"
	"testing"
	"time"
)

// FuzzEvaluate feeds arbitrary monthly totals, instants and thresholds
// documents: Evaluate never panics, its segments are sorted and unique, and
// next is zero or after now, with the answer unchanged just before next and
// changed at next.
func FuzzEvaluate(f *testing.F) {
	f.Add("2027-03", "100000.00", "2026-04", "-60000.50", "2027-05", "1e5",
		int64(1805000000), int64(-40*24*3600*1e9), int64(-10*24*3600*1e9), int64(5*24*3600*1e9), int64(3), uint8(0), []byte(`{}`))
	f.Add("2026-13", "99999.99", "0000-01", "0", "9999-12", "-0.01",
		int64(-62135596800), int64(0), int64(1), int64(-1), int64(0), uint8(0xff), []byte(`{"new_within_days": 1, "active_within_days": 2, "lapsed_after_days": 3}`))
	f.Add("", "", "x", "1/3", "2026-1", "+5",
		int64(253402300799), int64(1<<62), int64(-1<<62), int64(0), int64(-7), uint8(0x0a), []byte(`{"value_a": 3, "value_b": 2, "value_c": 1, "expected_fields": ["email"]}`))

	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string,
		nowSec, firstOff, lastOff, reviewOff, count int64, flags uint8, thDoc []byte) {
		th, err := ParseThresholds(thDoc)
		if err != nil {
			th = Defaults()
		} else if err := th.Validate(); err != nil {
			t.Fatalf("ParseThresholds accepted %q that fails Validate: %v", thDoc, err)
		}

		// now within years 1–9999, where month keys live.
		const minSec, maxSec = -62135596800, 253402300799
		span := uint64(maxSec - minSec)
		now := time.Unix(minSec+int64(uint64(nowSec)%span), int64(uint64(count)%1e9)).UTC()

		p := Profile{
			TradeCount:  count,
			TradeMonths: map[string]string{k1: v1, k2: v2, k3: v3},
			Consent:     map[string]bool{"marketing": flags&1 != 0, "contact": flags&2 != 0},
			Restricted:  flags&0x40 != 0 && flags&0x80 != 0,
			Removed:     flags&0x3f == 0x3f,
			General:     map[string]string{"region": k1, "industry": v1},
			Present:     []string{k2, v2},
		}
		if flags&4 != 0 {
			p.FirstTradeAt = now.Add(time.Duration(firstOff))
		}
		if flags&8 != 0 {
			p.LastTradeAt = now.Add(time.Duration(lastOff))
		}
		if flags&16 != 0 {
			p.ReviewDueAt = now.Add(time.Duration(reviewOff))
		}

		segs, next := Evaluate(p, now, th)
		if !slices.IsSorted(segs) {
			t.Fatalf("segments not sorted: %q", segs)
		}
		if len(slices.Compact(slices.Clone(segs))) != len(segs) {
			t.Fatalf("segments repeat: %q", segs)
		}
		if next.IsZero() {
			return
		}
		if !next.After(now) {
			t.Fatalf("next %v is not after now %v", next, now)
		}
		before, _ := Evaluate(p, next.Add(-time.Nanosecond), th)
		at, _ := Evaluate(p, next, th)
		if !slices.Equal(before, segs) {
			t.Fatalf("changed before next %v: %q → %q", next, segs, before)
		}
		if slices.Equal(at, segs) {
			t.Fatalf("unchanged at next %v: %q", next, at)
		}
	})
}
