package segment

import (
	"slices"
	"testing"
	"time"
)

// now is the instant most cases evaluate at: the 12-month window is then
// 2026-04 … 2027-03.
var now = time.Date(2027, 3, 15, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// customer is a profile that has ordered, whose lifecycle is active and
// whose time-based memberships do not interfere with the case at hand.
func customer(months map[string]string) Profile {
	return Profile{
		CustomerID:   "c-1",
		TradeCount:   1,
		FirstTradeAt: now.Add(-100 * day),
		LastTradeAt:  now.Add(-10 * day),
		TradeMonths:  months,
	}
}

func has(segs []string, name string) bool { return slices.Contains(segs, name) }

// only returns the segments with the given prefix.
func only(segs []string, prefix string) []string {
	var out []string
	for _, s := range segs {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			out = append(out, s)
		}
	}
	return out
}

func TestEvaluateValueClass(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		at   time.Time
		want string // "" means no value class
	}{
		{"A at exactly 100000.00", customer(map[string]string{"2027-03": "100000.00"}), now, ValueClassA},
		{"B just below A at 99999.99", customer(map[string]string{"2027-03": "99999.99"}), now, ValueClassB},
		{"A summed over months", customer(map[string]string{"2026-04": "60000.00", "2027-03": "40000"}), now, ValueClassA},
		{"B at exactly 20000", customer(map[string]string{"2026-12": "20000"}), now, ValueClassB},
		{"C just below B at 19999.99", customer(map[string]string{"2026-12": "19999.99"}), now, ValueClassC},
		{"C at exactly 2000.00", customer(map[string]string{"2026-12": "2000.00"}), now, ValueClassC},
		{"D just below C at 1999.99", customer(map[string]string{"2026-12": "1999.99"}), now, ValueClassD},
		{"exact decimals: 0.1+0.2 summed to reach 2000.3", customer(map[string]string{"2026-12": "2000.1", "2027-01": "0.2"}), now, ValueClassC},
		{"many small decimals reach A exactly", customer(map[string]string{
			"2026-04": "8333.33", "2026-05": "8333.33", "2026-06": "8333.34", "2026-07": "8333.33",
			"2026-08": "8333.33", "2026-09": "8333.34", "2026-10": "8333.33", "2026-11": "8333.33",
			"2026-12": "8333.34", "2027-01": "8333.33", "2027-02": "8333.33", "2027-03": "8333.34",
		}), now, ValueClassA},
		{"refund makes a month negative and moves A to B", customer(map[string]string{"2026-10": "150000.00", "2027-02": "-60000.00"}), now, ValueClassB},
		{"refund of everything leaves D", customer(map[string]string{"2026-10": "0"}), now, ValueClassD},
		{"negative total is D", customer(map[string]string{"2027-01": "-1234.50"}), now, ValueClassD},
		{"orders but no monthly totals is D", customer(nil), now, ValueClassD},
		{"fully refunded customer (count 0, trade times kept) is D", Profile{FirstTradeAt: now.Add(-5 * day), LastTradeAt: now.Add(-5 * day), TradeMonths: map[string]string{"2027-03": "0"}}, now, ValueClassD},
		{"month 12 months back has left the window", customer(map[string]string{"2026-03": "500000"}), now, ValueClassD},
		{"oldest month of the window counts", customer(map[string]string{"2026-04": "500000"}), now, ValueClassA},
		{"future month does not count yet", customer(map[string]string{"2027-04": "500000"}), now, ValueClassD},
		{"window at the first instant of a month", customer(map[string]string{"2026-04": "500000"}), time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), ValueClassD},
		{"window at the last instant of a month", customer(map[string]string{"2026-04": "500000"}), time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond), ValueClassA},
		{"months are UTC: 07:00 on 1 April in Shanghai is still March", customer(map[string]string{"2026-04": "500000"}), time.Date(2027, 4, 1, 7, 0, 0, 0, time.FixedZone("CST", 8*3600)), ValueClassA},
		{"malformed keys and totals are skipped", customer(map[string]string{
			"2027-3": "500000", "2027-13": "500000", "27-03": "500000", "2027/03": "500000", " 2027-03": "500000",
			"2027-01": "1e999", "2026-04": "1e+-5", "2027-02": "5,000,000", "2026-12": "+500000", "2026-11": " 500000", "2026-10": "500000.",
			"2026-09": ".5", "2026-08": "1/3", "2026-07": "abc", "2026-06": "", "2026-05": "-",
			"2027-03": "2500.00",
		}), now, ValueClassC},
		{"exponent form as a datastore may write it", customer(map[string]string{"2027-01": "1.5E+5"}), now, ValueClassA},
		{"exponent form below a threshold", customer(map[string]string{"2027-01": "1.99999999E3"}), now, ValueClassD},
		{"no orders: no value class", Profile{TradeMonths: map[string]string{"2027-03": "500000"}}, now, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			segs, _ := Evaluate(tc.p, tc.at, Defaults())
			got := only(segs, "value:")
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("value segments %q, want %q (all: %q)", got, want, segs)
			}
		})
	}
}

func TestEvaluateLifecycle(t *testing.T) {
	first := now.Add(-30 * day)
	tests := []struct {
		name        string
		count       int64
		first, last time.Time
		at          time.Time
		want        string
	}{
		{"no order is prospect", 0, time.Time{}, time.Time{}, now, LifecycleProspect},
		{"first order today is new", 1, now, now, now, LifecycleNew},
		{"first order 90 days less 1ns ago is new", 1, first, first, first.Add(90*day - time.Nanosecond), LifecycleNew},
		{"first order exactly 90 days ago is active", 1, first, first, first.Add(90 * day), LifecycleActive},
		{"new even if a later order was placed", 3, first, now, now, LifecycleNew},
		{"last order 180 days less 1ns ago is active", 2, first, first, first.Add(180*day - time.Nanosecond), LifecycleActive},
		{"last order exactly 180 days ago is at-risk", 2, first, first, first.Add(180 * day), LifecycleAtRisk},
		{"last order 365 days less 1ns ago is at-risk", 2, first, first, first.Add(365*day - time.Nanosecond), LifecycleAtRisk},
		{"last order exactly 365 days ago is lapsed", 2, first, first, first.Add(365 * day), LifecycleLapsed},
		{"last order years ago is lapsed", 2, first, first, first.Add(5 * 365 * day), LifecycleLapsed},
		{"later order keeps an old customer active", 5, now.Add(-400 * day), now.Add(-179 * day), now, LifecycleActive},
		{"orders with no trade time are lapsed", 4, time.Time{}, time.Time{}, now, LifecycleLapsed},
		{"no first time is never new", 1, time.Time{}, now.Add(-1 * day), now, LifecycleActive},
		{"last before first is read as first", 1, now.Add(-100 * day), now.Add(-300 * day), now, LifecycleActive},
		{"refunded customer (count 0) keeps its lifecycle", 0, now.Add(-200 * day), now.Add(-200 * day), now, LifecycleAtRisk},
		{"first order in the future (clock skew) is new", 1, now.Add(day), now.Add(day), now, LifecycleNew},
		{"day counts are 24h in any zone", 1, first, first, first.Add(90 * day).In(time.FixedZone("X", -5*3600)), LifecycleActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Profile{TradeCount: tc.count, FirstTradeAt: tc.first, LastTradeAt: tc.last}
			segs, _ := Evaluate(p, tc.at, Defaults())
			if got := only(segs, "lifecycle:"); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("lifecycle %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEvaluateLifecycleCustomDays(t *testing.T) {
	th := Defaults()
	th.NewWithinDays, th.ActiveWithinDays, th.LapsedAfterDays = 30, 60, 120
	first := now.Add(-45 * day)
	p := Profile{TradeCount: 1, FirstTradeAt: first, LastTradeAt: first}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{first.Add(30*day - 1), LifecycleNew},
		{first.Add(30 * day), LifecycleActive},
		{first.Add(60 * day), LifecycleAtRisk},
		{first.Add(120 * day), LifecycleLapsed},
	} {
		segs, _ := Evaluate(p, tc.at, th)
		if got := only(segs, "lifecycle:"); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("at first+%v: lifecycle %q, want %q", tc.at.Sub(first), got, tc.want)
		}
	}
}

func TestEvaluateAttributesConsentReview(t *testing.T) {
	all := map[string]string{"region": "华东", "industry": "制造业", "customer_type": "key-account", "company_nature": "民营", "company_size": "50-99"}
	allPresent := []string{"name", "email", "phone", "company"}
	tests := []struct {
		name string
		p    Profile
		want []string
	}{
		{"nothing known", Profile{}, []string{CompletenessLow, LifecycleProspect}},
		{"general values become segments, company_size does not",
			Profile{General: all, Present: allPresent},
			[]string{CompletenessHigh, "industry:制造业", LifecycleProspect, "nature:民营", "region:华东", "type:key-account"}},
		{"blank general values are skipped",
			Profile{General: map[string]string{"region": "", "industry": "  ", "customer_type": "terminal"}},
			[]string{CompletenessLow, LifecycleProspect, "type:terminal"}},
		{"7 of 8 expected is high",
			Profile{Present: []string{"name", "email", "phone"}, General: all},
			[]string{CompletenessHigh, "industry:制造业", LifecycleProspect, "nature:民营", "region:华东", "type:key-account"}},
		{"6 of 8 expected is medium",
			Profile{Present: []string{"name", "email", "phone", "company", "region", "industry"}},
			[]string{CompletenessMedium, LifecycleProspect}},
		{"4 of 8 expected is exactly medium",
			Profile{Present: []string{"name", "email", "region", "industry"}},
			[]string{CompletenessMedium, LifecycleProspect}},
		{"3 of 8 expected is low; unknown names do not count",
			Profile{Present: []string{"name", "email", "phone", "wechat", "address", "title"}},
			[]string{CompletenessLow, LifecycleProspect}},
		{"present counts once whether in Present or General",
			Profile{Present: []string{"name", "email", "phone", "region"}, General: map[string]string{"region": "华南"}},
			[]string{CompletenessMedium, LifecycleProspect, "region:华南"}},
		{"marketing consent is marketable",
			Profile{Consent: map[string]bool{"marketing": true, "contact": false}},
			[]string{CompletenessLow, LifecycleProspect, Marketable}},
		{"contact consent is contactable",
			Profile{Consent: map[string]bool{"contact": true, "profiling": true}},
			[]string{CompletenessLow, Contactable, LifecycleProspect}},
		{"withdrawn consent is neither", Profile{Consent: map[string]bool{"marketing": false, "contact": false}},
			[]string{CompletenessLow, LifecycleProspect}},
		{"review due in the past", Profile{ReviewDueAt: now.Add(-time.Hour)}, []string{CompletenessLow, LifecycleProspect, ReviewDue}},
		{"review due exactly now", Profile{ReviewDueAt: now}, []string{CompletenessLow, LifecycleProspect, ReviewDue}},
		{"review due 1ns from now", Profile{ReviewDueAt: now.Add(time.Nanosecond)}, []string{CompletenessLow, LifecycleProspect}},
		{"restricted is only restricted",
			Profile{Restricted: true, General: all, Present: allPresent, Consent: map[string]bool{"marketing": true}, TradeCount: 3, FirstTradeAt: now, LastTradeAt: now, ReviewDueAt: now},
			[]string{Restricted}},
		{"removed has no segment", Profile{Removed: true, General: all, Consent: map[string]bool{"marketing": true}}, nil},
		{"removed wins over restricted", Profile{Removed: true, Restricted: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Evaluate(tc.p, now, Defaults())
			if !slices.Equal(got, tc.want) {
				t.Errorf("segments %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEvaluateCompletenessExactBand(t *testing.T) {
	th := Defaults()
	th.ExpectedFields = []string{"name", "email", "phone", "company", "region"}
	for _, tc := range []struct {
		present []string
		want    string
	}{
		{[]string{"name", "email", "phone", "company"}, CompletenessHigh}, // 4/5 = 0.8 exactly
		{[]string{"name", "email", "phone"}, CompletenessMedium},
		{[]string{"name", "email"}, CompletenessLow},
	} {
		segs, _ := Evaluate(Profile{Present: tc.present}, now, th)
		if got := only(segs, "completeness:"); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%d of 5: %q, want %q", len(tc.present), got, tc.want)
		}
	}
}

func TestEvaluateNext(t *testing.T) {
	first := now.Add(-10 * day)
	tests := []struct {
		name string
		p    Profile
		want time.Time
	}{
		{"prospect without review date never changes", Profile{General: map[string]string{"region": "华北"}}, time.Time{}},
		{"restricted never changes", Profile{Restricted: true, TradeCount: 1, FirstTradeAt: now, LastTradeAt: now}, time.Time{}},
		{"removed never changes", Profile{Removed: true, ReviewDueAt: now.Add(day)}, time.Time{}},
		{"review date ahead", Profile{ReviewDueAt: now.Add(40 * day)}, now.Add(40 * day)},
		{"review date passed", Profile{ReviewDueAt: now.Add(-40 * day)}, time.Time{}},
		{"new becomes active at first+90d",
			Profile{TradeCount: 1, FirstTradeAt: first, LastTradeAt: first}, first.Add(90 * day)},
		{"active becomes at-risk at last+180d",
			Profile{TradeCount: 2, FirstTradeAt: now.Add(-200 * day), LastTradeAt: now.Add(-20 * day)}, now.Add(160 * day)},
		{"at-risk becomes lapsed at last+365d",
			Profile{TradeCount: 2, FirstTradeAt: now.Add(-300 * day), LastTradeAt: now.Add(-200 * day)}, now.Add(165 * day)},
		{"lapsed with nothing in the window never changes",
			Profile{TradeCount: 2, FirstTradeAt: now.Add(-900 * day), LastTradeAt: now.Add(-700 * day), TradeMonths: map[string]string{"2025-03": "50000"}}, time.Time{}},
		{"month leaving the window moves A to D at the first of the month",
			Profile{TradeCount: 1, FirstTradeAt: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), LastTradeAt: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
				TradeMonths: map[string]string{"2026-04": "100000"}},
			time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)},
		{"a month leaving without moving the class is passed over",
			Profile{TradeCount: 1, FirstTradeAt: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC), LastTradeAt: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
				TradeMonths: map[string]string{"2026-04": "5", "2027-03": "100000"}},
			time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC).Add(180 * day)},
		{"a zero month is no boundary",
			Profile{TradeCount: 1, FirstTradeAt: now.Add(-800 * day), LastTradeAt: now.Add(-400 * day),
				TradeMonths: map[string]string{"2026-04": "0", "2026-05": "0.00"}},
			time.Time{}},
		{"a refund leaving the window raises the class",
			Profile{TradeCount: 1, FirstTradeAt: now.Add(-800 * day), LastTradeAt: now.Add(-400 * day),
				TradeMonths: map[string]string{"2026-05": "-20000", "2026-06": "25000"}},
			time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)}, // C (5000) → B (25000)
		{"a future month entering the window",
			Profile{TradeCount: 1, FirstTradeAt: now.Add(-800 * day), LastTradeAt: now.Add(-400 * day),
				TradeMonths: map[string]string{"2027-05": "3000"}},
			time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"earliest of several boundaries",
			Profile{TradeCount: 1, FirstTradeAt: first, LastTradeAt: first, ReviewDueAt: now.Add(5 * day)}, now.Add(5 * day)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, next := Evaluate(tc.p, now, Defaults())
			if !next.Equal(tc.want) {
				t.Fatalf("next %v, want %v", next, tc.want)
			}
			if next.IsZero() {
				return
			}
			justBefore, _ := Evaluate(tc.p, next.Add(-time.Nanosecond), Defaults())
			at, _ := Evaluate(tc.p, next, Defaults())
			if !slices.Equal(before, justBefore) {
				t.Errorf("changed before next: %q → %q", before, justBefore)
			}
			if slices.Equal(before, at) {
				t.Errorf("unchanged at next: %q", at)
			}
		})
	}
}

// Evaluating at the instant next must hand over to the following boundary:
// walking a customer through its whole life by next alone visits every
// lifecycle stage in order.
func TestEvaluateNextWalk(t *testing.T) {
	first := time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)
	p := Profile{TradeCount: 1, FirstTradeAt: first, LastTradeAt: first, TradeMonths: map[string]string{"2026-01": "25000"}}
	var stages []string
	at := first
	for range 20 {
		segs, next := Evaluate(p, at, Defaults())
		stages = append(stages, only(segs, "lifecycle:")[0]+" "+only(segs, "value:")[0])
		if next.IsZero() {
			break
		}
		at = next
	}
	want := []string{
		"lifecycle:new value:B",     // 2026-01-20
		"lifecycle:active value:B",  // +90d
		"lifecycle:at-risk value:B", // +180d
		"lifecycle:at-risk value:D", // 2027-01-01: 2026-01 leaves the window
		"lifecycle:lapsed value:D",  // +365d
	}
	if !slices.Equal(stages, want) {
		t.Errorf("stages\n%q\nwant\n%q", stages, want)
	}
}
