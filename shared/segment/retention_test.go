package segment

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestLapsed(t *testing.T) {
	th := Defaults()
	active := now.Add(-30 * day)  // last activity: a form post a month ago
	withdrew := now.Add(-3 * day) // every consent withdrawn three days ago
	noneLeft := func(mod func(*Profile)) Profile {
		p := Profile{CustomerID: "c-1", ActiveAt: active, WithdrawnAt: withdrew,
			Consent: map[string]bool{"processing": false, "contact": false, "marketing": false}}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	graceEnds := withdrew.Add(7 * day)
	tests := []struct {
		name           string
		p              Profile
		at             time.Time
		wantPurposes   []string
		wantProcessing bool
	}{
		{"no purpose left, within the grace period", noneLeft(nil), now, nil, false},
		{"no purpose left, 1ns before the grace period ends", noneLeft(nil), graceEnds.Add(-time.Nanosecond), nil, false},
		{"no purpose left, the grace period ended", noneLeft(nil), graceEnds, nil, true},
		{"no purpose left, long after", noneLeft(nil), graceEnds.Add(100 * day), nil, true},
		{"granted again within the grace period", noneLeft(func(p *Profile) { p.Consent["processing"] = true }), graceEnds, nil, false},
		{"processing withdrawn, contact still granted", noneLeft(func(p *Profile) { p.Consent["contact"] = true }), graceEnds, nil, false},
		{"a contract: the customer has ordered", noneLeft(func(p *Profile) {
			p.TradeCount, p.FirstTradeAt, p.LastTradeAt = 1, active, active
		}), graceEnds, nil, false},
		{"a contract: trade times kept after a refund, count 0", noneLeft(func(p *Profile) {
			p.FirstTradeAt, p.LastTradeAt = active, active
		}), graceEnds, nil, false},
		{"a contract keeps the processing period, which still ends", noneLeft(func(p *Profile) {
			p.TradeCount = 1
		}), active.Add(1095 * day), nil, true},
		{"never granted processing (a chat: the person's own request)", noneLeft(func(p *Profile) {
			delete(p.Consent, "processing")
		}), graceEnds, nil, false},
		{"no consent state at all (a chat)", noneLeft(func(p *Profile) { p.Consent = nil }), graceEnds, nil, false},
		{"activity after the withdrawal: the grace period counts from it", noneLeft(func(p *Profile) {
			p.ActiveAt = now
		}), graceEnds, nil, false},
		{"activity after the withdrawal, grace period from it ended", noneLeft(func(p *Profile) {
			p.ActiveAt = now
		}), now.Add(7 * day), nil, true},
		{"no withdrawal time known: grace from the last activity", noneLeft(func(p *Profile) {
			p.WithdrawnAt = time.Time{}
		}), active.Add(7 * day), nil, true},
		{"no last activity: no retention rule applies", noneLeft(func(p *Profile) { p.ActiveAt = time.Time{} }), graceEnds.Add(9999 * day), nil, false},
		{"retention: marketing lapsed, processing not", Profile{ActiveAt: active, Consent: map[string]bool{"processing": true, "marketing": true, "contact": false}},
			active.Add(730 * day), []string{"marketing"}, false},
		{"retention: processing lapsed", Profile{ActiveAt: active, Consent: map[string]bool{"processing": true, "marketing": true}},
			active.Add(1095 * day), []string{"processing", "marketing"}, true},
		{"retention: processing lapsed with no consent (a chat)", Profile{ActiveAt: active}, active.Add(1095 * day), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			purposes, processing := Lapsed(tc.p, tc.at, th)
			if !slices.Equal(purposes, tc.wantPurposes) || processing != tc.wantProcessing {
				t.Errorf("Lapsed = %q, %v; want %q, %v", purposes, processing, tc.wantPurposes, tc.wantProcessing)
			}
			segs, _ := Evaluate(tc.p, tc.at, th)
			if in, want := has(segs, RetentionLapsed), len(purposes) > 0 || processing; in != want {
				t.Errorf("in retention-lapsed %v, but Lapsed = %q, %v", in, purposes, processing)
			}
		})
	}
}

// A customer who withdrew every consent is due again exactly when the
// grace period ends: the segmenter's sweep (next_due) brings them into
// retention-lapsed then, and the privacy sweep erases them.
func TestNoPurposeLeftNext(t *testing.T) {
	th := Defaults()
	th.NoPurposeGraceDays = 10
	withdrew := now.Add(-2 * day)
	p := Profile{CustomerID: "c-1", ActiveAt: now.Add(-40 * day), WithdrawnAt: withdrew,
		Consent: map[string]bool{"processing": false, "marketing": false}}
	segs, next := Evaluate(p, now, th)
	if has(segs, RetentionLapsed) || !next.Equal(withdrew.Add(10*day)) {
		t.Fatalf("segments %q, next %v; want not lapsed, next %v", segs, next, withdrew.Add(10*day))
	}
	if segs, _ := Evaluate(p, next, th); !has(segs, RetentionLapsed) {
		t.Fatalf("at next: %q, want retention-lapsed", segs)
	}
	// Granting processing again takes that instant away: next is the
	// processing period's end.
	p.Consent["processing"] = true
	if _, next := Evaluate(p, now, th); !next.Equal(p.ActiveAt.Add(1095 * day)) {
		t.Fatalf("granted again: next %v, want %v", next, p.ActiveAt.Add(1095*day))
	}
}

// A withdrawal (of a granted purpose, at or after the last activity)
// never postpones the processing lapse: retention counts from the last
// activity, which a withdrawal does not move, and a customer left with no
// purpose lapses at the latest then.
func TestWithdrawalNeverPostponesProcessingLapse(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2028))
	for i := range 2000 {
		now, p, th := genCase(rng)
		if p.ActiveAt.IsZero() || p.Restricted || p.Removed {
			continue
		}
		before := processingLapse(p, th)
		var granted []string
		for _, purpose := range slices.Sorted(maps.Keys(p.Consent)) {
			if p.Consent[purpose] {
				granted = append(granted, purpose)
			}
		}
		if len(granted) == 0 {
			continue
		}
		q := p
		q.Consent = maps.Clone(p.Consent)
		for _, purpose := range granted {
			if rng.IntN(2) == 0 || len(granted) == 1 {
				q.Consent[purpose] = false
			}
		}
		at := now
		if p.ActiveAt.After(at) {
			at = p.ActiveAt
		}
		q.WithdrawnAt = at.Add(time.Duration(rng.Int64N(int64(1200 * day))))
		after := processingLapse(q, th)
		if after.After(before) {
			t.Fatalf("case %d: withdrawing %v at %v moved the processing lapse from %v to %v\nprofile %+v", i, granted, q.WithdrawnAt, before, after, p)
		}
	}
}

// processingLapse is the first instant at which Lapsed says processing
// lapsed: one of the candidate instants (Lapsed is monotone in time).
func processingLapse(p Profile, th Thresholds) time.Time {
	r := newRules(p, p.ActiveAt, th)
	cs := r.candidates()
	slices.SortFunc(cs, time.Time.Compare)
	for _, c := range cs {
		if _, processing := Lapsed(p, c, th); processing {
			return c
		}
	}
	panic("processing never lapses")
}
