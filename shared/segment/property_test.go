package segment

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestEvaluateNextProperty checks next against the rules themselves, for
// many generated profiles: the answer is the same at every sampled instant
// in [now, next), it differs at next, and at any later instant it differs
// from the answer at the boundary before it only if it is itself a boundary.
// The boundaries are enumerated here from the documented rules: first
// order + NewWithinDays, last order + ActiveWithinDays and + LapsedAfterDays,
// ReviewDueAt, the first instant of every month that is in TradeMonths
// or twelve months after one, the last activity plus the retention of
// processing and of each granted purpose, and, for a customer whose
// processing rests on consent alone with no purpose left, the end of the
// grace period. At every instant sampled, Lapsed reports something exactly
// when the customer is in retention-lapsed.
func TestEvaluateNextProperty(t *testing.T) {
	profiles := 1000
	if testing.Short() {
		profiles = 200
	}
	rng := rand.New(rand.NewPCG(7, 2027))
	for i := range profiles {
		now, p, th := genCase(rng)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkNext(t, rng, p, now, th)
		})
		if t.Failed() {
			return
		}
	}
}

func checkNext(t *testing.T, rng *rand.Rand, p Profile, now time.Time, th Thresholds) {
	t.Helper()
	eval := func(at time.Time) []string {
		segs, _ := Evaluate(p, at, th)
		return segs
	}

	// Every instant after now at which the answer may change.
	var bounds []time.Time
	add := func(b time.Time) {
		if b.After(now) {
			bounds = append(bounds, b)
		}
	}
	last := p.LastTradeAt
	if p.FirstTradeAt.After(last) {
		last = p.FirstTradeAt
	}
	if !p.FirstTradeAt.IsZero() {
		add(p.FirstTradeAt.Add(time.Duration(th.NewWithinDays) * day))
	}
	if !last.IsZero() {
		add(last.Add(time.Duration(th.ActiveWithinDays) * day))
		add(last.Add(time.Duration(th.LapsedAfterDays) * day))
	}
	if !p.ReviewDueAt.IsZero() {
		add(p.ReviewDueAt)
	}
	if !p.ActiveAt.IsZero() {
		for purpose, days := range th.RetentionDays {
			if purpose == "processing" || p.Consent[purpose] {
				add(p.ActiveAt.Add(time.Duration(days) * day))
			}
		}
		_, consented := p.Consent["processing"]
		noneGranted := !slices.Contains(slices.Collect(maps.Values(p.Consent)), true)
		ordered := p.TradeCount > 0 || !p.FirstTradeAt.IsZero() || !p.LastTradeAt.IsZero()
		if consented && noneGranted && !ordered {
			from := p.ActiveAt
			if p.WithdrawnAt.After(from) {
				from = p.WithdrawnAt
			}
			add(from.Add(time.Duration(th.NoPurposeGraceDays) * day))
		}
	}
	for key := range p.TradeMonths {
		if m, err := time.Parse("2006-01", key); err == nil {
			add(m)
			add(m.AddDate(1, 0, 0))
		}
	}
	slices.SortFunc(bounds, time.Time.Compare)
	bounds = slices.CompactFunc(bounds, time.Time.Equal)
	anchors := append([]time.Time{now}, bounds...)
	horizon := anchors[len(anchors)-1].Add(45 * day)
	atAnchor := make([][]string, len(anchors))
	for i, a := range anchors {
		atAnchor[i] = eval(a)
	}

	// next, from now and from every boundary, is the first later boundary
	// at which the answer differs.
	for i, a := range anchors {
		base, next := Evaluate(p, a, th)
		want := time.Time{}
		for j := i + 1; j < len(anchors); j++ {
			if !slices.Equal(atAnchor[j], base) {
				want = anchors[j]
				break
			}
		}
		if !next.Equal(want) {
			t.Fatalf("profile %+v\nthresholds %+v\nat %v: next %v, want %v (segments %q)", p, th, a, next, want, base)
		}
		if !next.IsZero() {
			if !next.After(a) {
				t.Fatalf("at %v: next %v is not after it", a, next)
			}
			if got := eval(next.Add(-time.Nanosecond)); !slices.Equal(got, base) {
				t.Fatalf("profile %+v\nat %v: changed 1ns before next %v: %q → %q", p, a, next, base, got)
			}
		}
	}

	// Day steps (at a random time of day) from now to past the last
	// boundary: the answer equals the one at the latest boundary before.
	for at := now.Add(time.Duration(rng.Int64N(int64(day)))); at.Before(horizon); at = at.Add(day) {
		i, found := slices.BinarySearchFunc(anchors, at, time.Time.Compare)
		if !found {
			i--
		}
		got := eval(at)
		if want := atAnchor[i]; !slices.Equal(got, want) {
			t.Fatalf("profile %+v\nthresholds %+v\nat %v: %q, but %q at the boundary %v before it", p, th, at, got, want, anchors[i])
		}
		if p.Restricted || p.Removed {
			continue
		}
		if purposes, processing := Lapsed(p, at, th); slices.Contains(got, RetentionLapsed) != (len(purposes) > 0 || processing) {
			t.Fatalf("profile %+v\nat %v: segments %q, but Lapsed = %q, %v", p, at, got, purposes, processing)
		}
	}
}

// genCase makes a deterministic pseudo-random profile, instant and
// thresholds that exercise every time-based rule near its boundaries.
func genCase(rng *rand.Rand) (time.Time, Profile, Thresholds) {
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).
		Add(time.Duration(rng.Int64N(int64(10 * 365 * day))))
	if rng.IntN(5) == 0 {
		now = now.Truncate(day) // midnight: month starts and day bands align
	}
	if rng.IntN(4) == 0 {
		now = now.In(time.FixedZone("CST", 8*3600))
	}

	th := Defaults()
	if rng.IntN(2) == 0 {
		th.NewWithinDays = 1 + rng.IntN(60)
		th.ActiveWithinDays = th.NewWithinDays + 1 + rng.IntN(120)
		th.LapsedAfterDays = th.ActiveWithinDays + 1 + rng.IntN(300)
		th.ValueC = Amount(fmt.Sprintf("%d.%02d", 1+rng.IntN(3000), rng.IntN(100)))
		th.ValueB = Amount(fmt.Sprintf("%d.%02d", 3001+rng.IntN(30000), rng.IntN(100)))
		th.ValueA = Amount(fmt.Sprintf("%d", 33001+rng.IntN(100000)))
	}
	if rng.IntN(2) == 0 {
		th.NoPurposeGraceDays = 1 + rng.IntN(30)
	}
	if err := th.Validate(); err != nil {
		panic(err)
	}

	// offset is an instant within about two years of now, often exactly on
	// a day or boundary distance.
	offset := func() time.Time {
		switch rng.IntN(3) {
		case 0:
			return now.Add(-time.Duration(rng.IntN(800)) * day)
		case 1:
			return now.Add(-time.Duration(rng.Int64N(int64(800 * day))))
		default:
			d := []int{th.NewWithinDays, th.ActiveWithinDays, th.LapsedAfterDays}[rng.IntN(3)]
			return now.Add(-time.Duration(d)*day + time.Duration(rng.IntN(3)-1))
		}
	}

	var p Profile
	p.CustomerID = fmt.Sprint("c-", rng.Uint32())
	switch rng.IntN(6) {
	case 0: // prospect
	case 1: // orders, no trade time
		p.TradeCount = 1 + rng.Int64N(5)
	case 2: // fully refunded: trade times kept, count 0
		p.FirstTradeAt = offset()
		p.LastTradeAt = p.FirstTradeAt
	default:
		p.TradeCount = 1 + rng.Int64N(20)
		a, b := offset(), offset()
		if b.Before(a) {
			a, b = b, a
		}
		p.FirstTradeAt, p.LastTradeAt = a, b
		if rng.IntN(10) == 0 {
			p.FirstTradeAt = time.Time{}
		}
		if rng.IntN(20) == 0 {
			p.FirstTradeAt = now.Add(time.Duration(rng.IntN(5)) * day) // clock skew
		}
	}

	amounts := func() string {
		near := []Amount{th.ValueA, th.ValueB, th.ValueC}[rng.IntN(3)]
		switch rng.IntN(8) {
		case 0:
			return "0"
		case 1:
			return fmt.Sprintf("-%d.%02d", rng.IntN(50000), rng.IntN(100))
		case 2:
			return string(near)
		case 3:
			r, _ := parseDecimal(string(near))
			return r.Sub(r, ratCent).FloatString(2)
		case 4:
			return []string{"1e999", "12,00", "", "abc", "+5", "1/2", " 7", "2.5E+4", "-1e3"}[rng.IntN(9)]
		default:
			return fmt.Sprintf("%d.%02d", rng.IntN(60000), rng.IntN(100))
		}
	}
	if n := rng.IntN(9); n > 0 {
		p.TradeMonths = map[string]string{}
		y, m, _ := now.UTC().Date()
		for range n {
			month := time.Date(y, m+time.Month(rng.IntN(34)-30), 1, 0, 0, 0, 0, time.UTC)
			key := month.Format("2006-01")
			if rng.IntN(15) == 0 {
				key = []string{"2026-13", "26-01", "2026-1", "x"}[rng.IntN(4)]
			}
			p.TradeMonths[key] = amounts()
		}
	}
	switch rng.IntN(3) {
	case 0:
		p.ReviewDueAt = now.Add(time.Duration(rng.Int64N(int64(800*day))) - 400*day)
	case 1:
		p.ReviewDueAt = now.Add(time.Duration(rng.IntN(5)-2) * day)
	}
	p.General = map[string]string{"region": []string{"", "华东", "华南"}[rng.IntN(3)], "industry": "零售"}
	p.Present = []string{"name", "email", "phone"}[:rng.IntN(4)]
	p.Consent = map[string]bool{"marketing": rng.IntN(2) == 0, "contact": rng.IntN(2) == 0}
	switch rng.IntN(4) {
	case 0: // processing rests on another basis: never consented to
	case 1: // every consent withdrawn
		p.Consent = map[string]bool{"processing": false, "marketing": false, "contact": false}
	default:
		p.Consent["processing"] = rng.IntN(3) > 0
	}
	if rng.IntN(3) > 0 { // a last activity within the retention periods, or past some
		p.ActiveAt = now.Add(-time.Duration(rng.Int64N(int64(1200 * day))))
	}
	switch rng.IntN(3) { // the last withdrawal: near now (the grace period), or long ago
	case 0:
		p.WithdrawnAt = now.Add(time.Duration(rng.Int64N(int64(20*day))) - 15*day)
	case 1:
		p.WithdrawnAt = now.Add(-time.Duration(rng.Int64N(int64(1200 * day))))
	}
	p.Restricted = rng.IntN(40) == 0
	p.Removed = rng.IntN(40) == 0
	return now, p, th
}

var ratCent, _ = parseDecimal("0.01")
