package segmenter_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/store"
)

const day = 24 * time.Hour

// A profile without active_at (made by a message the company sent) counts
// retention from its creation: the retention sweep's own withdrawal, which
// moves updated_at, does not restart the clock.
func TestRulesRetentionClockWithoutActiveAt(t *testing.T) {
	th := segment.Defaults()
	created := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &store.Profile{CustomerID: "c-1", CreatedAt: created, UpdatedAt: created, Consent: map[consent.Purpose]consent.State{
		consent.Processing: {Granted: true, At: created}, consent.Marketing: {Granted: true, At: created}}}
	if got := segmenter.Rules(p).ActiveAt; !got.Equal(created) {
		t.Fatalf("last activity %v, want the creation %v", got, created)
	}
	// 800 days on, the sweep withdraws lapsed marketing (store.Withdraw
	// sets updated_at and the consent state).
	sweep := created.Add(800 * day)
	p.Consent[consent.Marketing] = consent.State{Granted: false, At: sweep, Trust: "trusted"}
	p.UpdatedAt, p.Version = sweep, p.Version+1
	if _, processing := segment.Lapsed(segmenter.Rules(p), created.Add(1095*day), th); !processing {
		t.Errorf("processing has not lapsed 1095 days after the last activity: the withdrawal restarted the clock")
	}
	if _, processing := segment.Lapsed(segmenter.Rules(p), created.Add(1095*day-time.Second), th); processing {
		t.Errorf("processing lapsed before its period")
	}
}

// What the store does to a profile besides a submission: none of it is the
// customer's activity.
var acts = []struct {
	name  string
	apply func(p *store.Profile, at time.Time, rng *rand.Rand)
}{
	{"withdrawal", func(p *store.Profile, at time.Time, rng *rand.Rand) { // store.Withdraw
		for _, purpose := range consent.Known {
			if rng.IntN(2) == 0 {
				p.Consent[purpose] = consent.State{Granted: false, At: at, Trust: "trusted"}
			}
		}
	}},
	{"restriction", func(p *store.Profile, _ time.Time, _ *rand.Rand) { p.Restricted = true }}, // store.SetRestricted
	{"lifting a restriction", func(p *store.Profile, _ time.Time, _ *rand.Rand) { p.Restricted = false }},
	{"verification", func(p *store.Profile, _ time.Time, _ *rand.Rand) {}}, // store.Verify: an identifier's flag
	{"restore", func(p *store.Profile, _ time.Time, _ *rand.Rand) {}},      // store.Restore: a field's pointer
}

// A withdrawal, a restriction, a verification or a restore never moves
// the retention clock: the last activity the rules see stays the same, and
// the processing period still ends when it did (a customer left with no
// purpose may lapse sooner, never later).
func TestRulesActsNeverMoveRetentionClock(t *testing.T) {
	th := segment.Defaults()
	rng := rand.New(rand.NewPCG(3, 1095))
	for i := range 500 {
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(400 * day))))
		p := &store.Profile{CustomerID: fmt.Sprint("c-", i), Version: 1, CreatedAt: created, UpdatedAt: created,
			Consent: map[consent.Purpose]consent.State{}}
		if rng.IntN(3) > 0 {
			active := created.Add(time.Duration(rng.Int64N(int64(300 * day))))
			p.ActiveAt, p.UpdatedAt = &active, active
		}
		for _, purpose := range consent.Known {
			if rng.IntN(2) == 0 {
				p.Consent[purpose] = consent.State{Granted: rng.IntN(4) > 0, At: created}
			}
		}
		if rng.IntN(4) == 0 {
			first := created
			p.TradeCount, p.FirstTradeAt, p.LastTradeAt = 1, &first, &first
		}
		base := segmenter.Rules(p)
		ends := base.ActiveAt.Add(time.Duration(th.RetentionDays["processing"]) * day)
		at := p.UpdatedAt
		var done []string
		for range 1 + rng.IntN(4) {
			at = at.Add(time.Duration(rng.Int64N(int64(900 * day))))
			act := acts[rng.IntN(len(acts))]
			act.apply(p, at, rng)
			p.UpdatedAt, p.Version = at, p.Version+1
			done = append(done, act.name)
			r := segmenter.Rules(p)
			if !r.ActiveAt.Equal(base.ActiveAt) {
				t.Fatalf("profile %d after %q: last activity %v, was %v", i, done, r.ActiveAt, base.ActiveAt)
			}
			if _, processing := segment.Lapsed(r, ends, th); !processing {
				t.Fatalf("profile %d after %q: processing not lapsed at %v, the end of its period", i, done, ends)
			}
		}
	}
}

// WithdrawnAt is the latest withdrawal among the consent states; a grant
// is not one.
func TestRulesWithdrawnAt(t *testing.T) {
	t0 := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	p := &store.Profile{CreatedAt: t0, Consent: map[consent.Purpose]consent.State{
		consent.Processing: {Granted: false, At: t0.Add(2 * day)},
		consent.Contact:    {Granted: false, At: t0.Add(5 * day)},
		consent.Marketing:  {Granted: true, At: t0.Add(9 * day)},
	}}
	if got := segmenter.Rules(p).WithdrawnAt; !got.Equal(t0.Add(5 * day)) {
		t.Errorf("WithdrawnAt %v, want %v", got, t0.Add(5*day))
	}
	if got := segmenter.Rules(&store.Profile{CreatedAt: t0}).WithdrawnAt; !got.IsZero() {
		t.Errorf("no consent state: WithdrawnAt %v, want zero", got)
	}
}

// A customer who withdrew every consent, processing included, is erased
// after the grace period (the privacy sweep erases when Lapsed says
// processing) unless an order (a contract) keeps the processing period.
func TestRulesNoPurposeLeft(t *testing.T) {
	th := segment.Defaults()
	active := time.Date(2028, 3, 1, 9, 0, 0, 0, time.UTC)
	withdrew := active.Add(40 * day)
	profile := func(ordered bool) *store.Profile {
		a := active
		p := &store.Profile{CustomerID: "c-1", CreatedAt: active, UpdatedAt: withdrew, ActiveAt: &a, Consent: map[consent.Purpose]consent.State{
			consent.Processing: {Granted: false, At: withdrew}, consent.Contact: {Granted: false, At: withdrew.Add(-time.Hour)}}}
		if ordered {
			p.TradeCount, p.FirstTradeAt, p.LastTradeAt = 1, &a, &a
		}
		return p
	}
	tests := []struct {
		name    string
		ordered bool
		at      time.Time
		want    bool
	}{
		{"the day after the withdrawal", false, withdrew.Add(day), false},
		{"the grace period's last instant", false, withdrew.Add(7*day - time.Nanosecond), false},
		{"the grace period ended", false, withdrew.Add(7 * day), true},
		{"an order: the grace period does not apply", true, withdrew.Add(7 * day), false},
		{"an order: the processing period still ends", true, active.Add(1095 * day), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := segmenter.Rules(profile(tc.ordered))
			if _, processing := segment.Lapsed(r, tc.at, th); processing != tc.want {
				t.Errorf("processing lapsed %v, want %v", processing, tc.want)
			}
			segs, _ := segment.Evaluate(r, tc.at, th)
			if slices.Contains(segs, segment.RetentionLapsed) != tc.want {
				t.Errorf("segments %q: retention-lapsed should be %v", segs, tc.want)
			}
		})
	}
	// The segmenter records when to look again: the grace period's end.
	if _, next := segment.Evaluate(segmenter.Rules(profile(false)), withdrew, th); !next.Equal(withdrew.Add(7 * day)) {
		t.Errorf("next due %v, want %v", next, withdrew.Add(7*day))
	}
}
