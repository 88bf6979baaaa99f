package segment

import (
	"math/big"
	"slices"
	"strings"
	"time"
)

// Profile is what the rules see of a customer: general-tier attributes and
// consent states only, never a personal value.
type Profile struct {
	CustomerID string
	// General holds plain general-tier values: region, industry,
	// customer_type, company_nature, company_size.
	General map[string]string
	// Present names the catalogue fields and identifier kinds the customer
	// has a current value of ("name", "email", "phone", "company", …).
	Present []string
	// Consent maps a purpose ("processing", "marketing", …) to whether it
	// is granted and not withdrawn; a purpose the customer never granted is
	// absent.
	Consent map[string]bool
	// WithdrawnAt is when the customer last withdrew a consent (zero:
	// never).
	WithdrawnAt time.Time
	ReviewDueAt time.Time // zero: no review due date
	TradeCount  int64
	// TradeMonths maps a UTC month of completed_at, "2006-01", to the exact
	// decimal total of that month's orders net of refunds ("1234.50"; may
	// be "0" or negative after a refund).
	TradeMonths  map[string]string
	FirstTradeAt time.Time // zero: never traded
	LastTradeAt  time.Time
	// ActiveAt is the customer's last activity (a submission, an answer,
	// an order; never a withdrawal or an operator's act): retention counts
	// from it. Zero: no retention rule applies.
	ActiveAt   time.Time
	Restricted bool // processing restricted: only the segment "restricted"
	Removed    bool // the profile is gone: no segment
}

// Segment names that do not carry a value. The others are "region:",
// "industry:", "type:" and "nature:" followed by the general-tier value.
const (
	ValueClassA = "value:A"
	ValueClassB = "value:B"
	ValueClassC = "value:C"
	ValueClassD = "value:D"

	LifecycleProspect = "lifecycle:prospect"
	LifecycleNew      = "lifecycle:new"
	LifecycleActive   = "lifecycle:active"
	LifecycleAtRisk   = "lifecycle:at-risk"
	LifecycleLapsed   = "lifecycle:lapsed"

	CompletenessHigh   = "completeness:high"
	CompletenessMedium = "completeness:medium"
	CompletenessLow    = "completeness:low"

	ReviewDue   = "review-due"
	Marketable  = "marketable"
	Contactable = "contactable"
	Restricted  = "restricted"
	// RetentionLapsed: a purpose's retention period has passed since the
	// customer's last activity (Thresholds.RetentionDays), or a customer
	// whose processing rests on consent alone has no purpose left
	// (Thresholds.NoPurposeGraceDays after the last withdrawal).
	RetentionLapsed = "retention-lapsed"
)

// generalSegments maps a general-tier attribute to its segment prefix.
var generalSegments = []struct{ attr, prefix string }{
	{"region", "region:"},
	{"industry", "industry:"},
	{"customer_type", "type:"},
	{"company_nature", "nature:"},
}

// Evaluate returns the customer's segments at now, sorted and each once,
// and next: the earliest instant after now at which the answer changes with
// time alone (in UTC), or the zero time when it never does. The answer is
// the same at every instant in [now, next) and differs at next. Evaluate
// expects thresholds that pass Validate; with others it still answers
// without panicking (an unusable amount is a class never reached, an empty
// ExpectedFields gives no completeness segment).
func Evaluate(p Profile, now time.Time, t Thresholds) (segments []string, next time.Time) {
	if p.Removed {
		return nil, time.Time{}
	}
	if p.Restricted {
		return []string{Restricted}, time.Time{}
	}
	r := newRules(p, now, t)
	base := r.at(now)

	segments = staticSegments(p, t)
	segments = append(segments, base.names()...)
	slices.Sort(segments)
	segments = slices.Compact(segments)

	candidates := r.candidates()
	slices.SortFunc(candidates, time.Time.Compare)
	for _, c := range candidates {
		if !c.After(now) {
			continue
		}
		if r.at(c) != base {
			return segments, c
		}
	}
	return segments, time.Time{}
}

// timed is the part of the answer that can change with time alone.
type timed struct {
	value     string // "" when the customer has never ordered
	lifecycle string
	reviewDue bool
	retention bool
}

func (s timed) names() []string {
	names := []string{s.lifecycle}
	if s.value != "" {
		names = append(names, s.value)
	}
	if s.reviewDue {
		names = append(names, ReviewDue)
	}
	if s.retention {
		names = append(names, RetentionLapsed)
	}
	return names
}

// monthTotal is one parsed entry of Profile.TradeMonths.
type monthTotal struct {
	month int // months since January of year 0 (see monthIndex)
	total *big.Rat
}

// rules is a profile prepared for evaluation at instants from now on.
type rules struct {
	ordered     bool
	first, last time.Time // zero: unknown
	reviewDueAt time.Time
	newDays     int
	activeDays  int
	lapsedDays  int
	a, b, c     *big.Rat     // nil: unusable, never reached
	months      []monthTotal // non-zero totals that are or will be in the window
	lapses      []time.Time  // when each retained purpose lapses (processing's, and each granted one's)
}

func newRules(p Profile, now time.Time, t Thresholds) rules {
	r := rules{
		ordered:     ordered(p),
		first:       p.FirstTradeAt,
		last:        p.LastTradeAt,
		reviewDueAt: p.ReviewDueAt,
		newDays:     t.NewWithinDays,
		activeDays:  t.ActiveWithinDays,
		lapsedDays:  t.LapsedAfterDays,
	}
	if r.first.After(r.last) {
		r.last = r.first
	}
	r.lapses = lapses(p, t)
	r.a, _ = parseDecimal(string(t.ValueA))
	r.b, _ = parseDecimal(string(t.ValueB))
	r.c, _ = parseDecimal(string(t.ValueC))
	if !r.ordered {
		return r
	}
	// A month before the window now never re-enters it, so it is dropped.
	oldest := monthIndex(now) - 11
	for key, total := range p.TradeMonths {
		m, ok := parseMonth(key)
		if !ok || m < oldest {
			continue
		}
		v, ok := parseDecimal(total)
		if !ok || v.Sign() == 0 {
			continue
		}
		r.months = append(r.months, monthTotal{m, v})
	}
	return r
}

// at evaluates the time-dependent rules at now.
func (r rules) at(now time.Time) timed {
	return timed{
		value:     r.valueClass(now),
		lifecycle: r.lifecycle(now),
		reviewDue: !r.reviewDueAt.IsZero() && !now.Before(r.reviewDueAt),
		retention: slices.ContainsFunc(r.lapses, func(at time.Time) bool { return !now.Before(at) }),
	}
}

// ordered reports whether the customer has ordered (see the package
// comment): trade times are kept after a refund while other orders remain.
func ordered(p Profile) bool {
	return p.TradeCount > 0 || !p.FirstTradeAt.IsZero() || !p.LastTradeAt.IsZero()
}

// lapses lists when processing, and each granted purpose, lapse: the
// customer's last activity plus the purpose's retention; and, for a
// customer with no purpose left, the end of the grace period.
func lapses(p Profile, t Thresholds) []time.Time {
	if p.ActiveAt.IsZero() {
		return nil
	}
	var out []time.Time
	for _, purpose := range RetentionPurposes {
		days, ok := t.RetentionDays[purpose]
		if !ok || days <= 0 || (purpose != "processing" && !p.Consent[purpose]) {
			continue
		}
		out = append(out, addDays(p.ActiveAt, days))
	}
	if at, ok := NoPurposeLapse(p, t); ok {
		out = append(out, at)
	}
	return out
}

// NoPurposeLapse answers whether the customer's processing rests on consent
// alone and no purpose is left, and if so when processing lapses: the
// grace period after the later of the last withdrawal and the last
// activity. Processing rests on consent alone when the customer granted it
// (Consent names processing) and has not ordered (an order is a contract,
// another basis: the retention period applies then). A customer who never
// granted processing (a chat, the person's own request) keeps the period
// too.
func NoPurposeLapse(p Profile, t Thresholds) (time.Time, bool) {
	if p.ActiveAt.IsZero() || ordered(p) {
		return time.Time{}, false
	}
	if _, consented := p.Consent["processing"]; !consented {
		return time.Time{}, false
	}
	for _, granted := range p.Consent {
		if granted {
			return time.Time{}, false
		}
	}
	from := p.ActiveAt
	if p.WithdrawnAt.After(from) {
		from = p.WithdrawnAt
	}
	return addDays(from, max(t.NoPurposeGraceDays, 0)), true
}

// Lapsed answers, for the privacy sweep, which granted purposes have
// lapsed at now, and whether processing has (then the customer is erased):
// its retention period has passed since the last activity, or the customer
// has no purpose left and the grace period has passed (NoPurposeLapse).
// Lapsed reports something exactly when the customer is in
// retention-lapsed at now (unless restricted or removed).
func Lapsed(p Profile, now time.Time, t Thresholds) (purposes []string, processing bool) {
	if p.ActiveAt.IsZero() {
		return nil, false
	}
	for _, purpose := range RetentionPurposes {
		days, ok := t.RetentionDays[purpose]
		if !ok || days <= 0 || now.Before(addDays(p.ActiveAt, days)) {
			continue
		}
		if purpose == "processing" {
			processing = true
		}
		if p.Consent[purpose] {
			purposes = append(purposes, purpose)
		}
	}
	if at, ok := NoPurposeLapse(p, t); ok && !now.Before(at) {
		processing = true
	}
	return purposes, processing
}

func (r rules) valueClass(now time.Time) string {
	if !r.ordered {
		return ""
	}
	cur := monthIndex(now)
	sum := new(big.Rat)
	for _, m := range r.months {
		if cur-11 <= m.month && m.month <= cur {
			sum.Add(sum, m.total)
		}
	}
	reached := func(min *big.Rat) bool { return min != nil && sum.Cmp(min) >= 0 }
	switch {
	case reached(r.a):
		return ValueClassA
	case reached(r.b):
		return ValueClassB
	case reached(r.c):
		return ValueClassC
	default:
		return ValueClassD
	}
}

func (r rules) lifecycle(now time.Time) string {
	switch {
	case !r.ordered:
		return LifecycleProspect
	case !r.first.IsZero() && now.Before(addDays(r.first, r.newDays)):
		return LifecycleNew
	case r.last.IsZero():
		return LifecycleLapsed
	case now.Before(addDays(r.last, r.activeDays)):
		return LifecycleActive
	case now.Before(addDays(r.last, r.lapsedDays)):
		return LifecycleAtRisk
	default:
		return LifecycleLapsed
	}
}

// candidates lists every instant at which r.at can change: the timed rules
// are constant between them.
func (r rules) candidates() []time.Time {
	var cs []time.Time
	if !r.reviewDueAt.IsZero() {
		cs = append(cs, r.reviewDueAt)
	}
	cs = append(cs, r.lapses...)
	if !r.ordered {
		return cs
	}
	if !r.first.IsZero() {
		cs = append(cs, addDays(r.first, r.newDays))
	}
	if !r.last.IsZero() {
		cs = append(cs, addDays(r.last, r.activeDays), addDays(r.last, r.lapsedDays))
	}
	for _, m := range r.months {
		cs = append(cs, monthStart(m.month), monthStart(m.month+12))
	}
	return cs
}

// staticSegments are the segments that do not change with time alone.
func staticSegments(p Profile, t Thresholds) []string {
	var segs []string
	for _, g := range generalSegments {
		if v := p.General[g.attr]; strings.TrimSpace(v) != "" {
			segs = append(segs, g.prefix+v)
		}
	}
	if n := len(t.ExpectedFields); n > 0 {
		have := 0
		for _, f := range t.ExpectedFields {
			if slices.Contains(p.Present, f) || strings.TrimSpace(p.General[f]) != "" {
				have++
			}
		}
		// Correctly rounded division keeps an exact band ("4 of 5" at 0.8)
		// equal to the band's own float64.
		share := float64(have) / float64(n)
		switch {
		case share >= t.CompletenessHigh:
			segs = append(segs, CompletenessHigh)
		case share >= t.CompletenessMedium:
			segs = append(segs, CompletenessMedium)
		default:
			segs = append(segs, CompletenessLow)
		}
	}
	if p.Consent["marketing"] {
		segs = append(segs, Marketable)
	}
	if p.Consent["contact"] {
		segs = append(segs, Contactable)
	}
	return segs
}

// addDays is t plus n days of 24 hours (calendar days in UTC, which has no
// daylight saving), without time.Duration's 292-year limit.
func addDays(t time.Time, n int) time.Time {
	return t.UTC().AddDate(0, 0, n)
}

// monthIndex numbers t's UTC month: 12×year + month − 1.
func monthIndex(t time.Time) int {
	u := t.UTC()
	return u.Year()*12 + int(u.Month()) - 1
}

// monthStart is 00:00 UTC on the first day of month index m.
func monthStart(m int) time.Time {
	y := m / 12
	if m%12 < 0 {
		y--
	}
	return time.Date(y, time.Month(m-12*y+1), 1, 0, 0, 0, 0, time.UTC)
}

// parseMonth reads "YYYY-MM" (four digits, '-', 01–12) as a month index.
func parseMonth(key string) (int, bool) {
	if len(key) != 7 || key[4] != '-' || !allDigits(key[:4]) || !allDigits(key[5:]) {
		return 0, false
	}
	y := int(key[0]-'0')*1000 + int(key[1]-'0')*100 + int(key[2]-'0')*10 + int(key[3]-'0')
	m := int(key[5]-'0')*10 + int(key[6]-'0')
	if m < 1 || m > 12 {
		return 0, false
	}
	return y*12 + m - 1, true
}
