package segmenter_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/store"
)

// On the local stack, with the store's own writes: a withdrawal, a
// restriction and its lifting leave the retention clock (active_at) where
// the customer's last submission put it; withdrawing every consent makes
// the customer due again when the grace period ends, when they enter
// retention-lapsed; the survey sender tells their verified address (the
// last consent may have gone by a one-click link nobody saw), and the
// privacy sweep erases them a week after that notice, not before.
func TestNoPurposeLeftIsErasedAfterTheGracePeriod(t *testing.T) {
	st := stacktest.NewStreamed(t)
	var mu sync.Mutex
	clock := time.Now().UTC().Truncate(time.Second)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d); return clock }
	seg := st.Segmenter(t, now)
	svc, _ := st.Intake(t)
	svc.Now = now
	ctx := context.Background()
	def, err := svc.Form(ctx, "contact")
	if err != nil {
		t.Fatal(err)
	}
	email := strings.ToLower(stacktest.Unique("gone")) + "@example.com"
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Zhao Min"}, "email": {email}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact, consent.Marketing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id, active := res.CustomerID, now()
	p0, _ := st.Store.Profile(ctx, id)
	st.MarkVerified(t, id, p0.IdentifiersOf(customer.IdentityEmail)[0])
	profile := func() *store.Profile {
		t.Helper()
		p, err := st.Store.Profile(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	state := func() *store.SegmentState {
		t.Helper()
		var s *store.SegmentState
		version := profile().Version
		eventually(t, "segments of the profile's version", func() bool {
			got, err := st.Store.SegmentsOf(ctx, id)
			s = got
			return err == nil && got.Version == version
		})
		return s
	}
	withdraw := func(purposes ...consent.Purpose) time.Time {
		t.Helper()
		at := advance(24 * time.Hour)
		if err := st.Store.Withdraw(ctx, store.Withdrawal{CustomerID: id, EntryID: stacktest.Unique("w"), Purposes: purposes,
			Channel: "privacy-page", Trust: customer.Proven, At: at}); err != nil {
			t.Fatal(err)
		}
		return at
	}

	withdraw(consent.Marketing)
	if err := st.Store.SetRestricted(ctx, id, true, "local:test", stacktest.Unique("r"), advance(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.SetRestricted(ctx, id, false, "local:test", stacktest.Unique("r"), advance(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if p := profile(); p.ActiveAt == nil || !p.ActiveAt.Equal(active) || !segmenter.Rules(p).ActiveAt.Equal(active) {
		t.Fatalf("after a withdrawal and a restriction: active_at %v, want %v", p.ActiveAt, active)
	}

	withdrew := withdraw(consent.Processing, consent.Contact)
	s := state()
	if slices.Contains(s.Segments, segment.RetentionLapsed) || !s.NextDue.Equal(withdrew.Add(7*24*time.Hour)) {
		t.Fatalf("just after withdrawing every consent: segments %q, next due %v; want not lapsed, due %v",
			s.Segments, s.NextDue, withdrew.Add(7*24*time.Hour))
	}
	e := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-privacy"))), Actor: "local:kehu-privacy", Now: now}
	if w, n, err := e.RunRetention(ctx, segment.Defaults()); err != nil || w+n != 0 {
		t.Fatalf("retention within the grace period: withdrew %d, erased %d, %v", w, n, err)
	}

	advance(7 * 24 * time.Hour)
	if _, err := seg.Sweep(ctx, now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, segment.RetentionLapsed) })
	if w, n, err := e.RunRetention(ctx, segment.Defaults()); err != nil || w+n != 0 {
		t.Fatalf("after the grace period, before any notice: withdrew %d, erased %d, %v", w, n, err)
	}
	snd := st.Sender(t, now)
	if r, err := snd.Run(ctx, false); err != nil || r.Notices != 1 {
		t.Fatalf("the sender's notices: %+v %v", r, err)
	}
	told := stacktest.Emails(t, email)
	if len(told) != 1 || !strings.Contains(told[0].Subject, "every consent") || !strings.Contains(told[0].Text, now().Add(7*24*time.Hour).Format("2006-01-02")) {
		t.Fatalf("the notice: %+v", told)
	}
	if r, err := snd.Run(ctx, false); err != nil || r.Notices != 0 {
		t.Fatalf("a second run told again: %+v %v", r, err)
	}
	advance(6 * 24 * time.Hour)
	if w, n, err := e.RunRetention(ctx, segment.Defaults()); err != nil || w+n != 0 {
		t.Fatalf("six days after the notice: withdrew %d, erased %d, %v", w, n, err)
	}
	advance(24*time.Hour + time.Minute)
	// The sender, every few minutes, does not tell again (or the week
	// after the notice would never come).
	if r, err := snd.Run(ctx, false); err != nil || r.Notices != 0 {
		t.Fatalf("the sender a week on: %+v %v", r, err)
	}
	if w, n, err := e.RunRetention(ctx, segment.Defaults()); err != nil || n != 1 {
		t.Fatalf("a week after the notice: withdrew %d, erased %d, %v", w, n, err)
	}
	if tomb, err := st.Store.TombstoneOf(ctx, id); err != nil || tomb.State != store.Erased || !strings.Contains(tomb.Reason, "no purpose left") {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
}

// A customer with nothing granted whose processing period passed with no
// activity is erased by retention's own rule: no notice is waited for (a
// child's, or one the mail service refuses, would otherwise stay).
func TestInactivityErasesWithoutTheNotice(t *testing.T) {
	st := stacktest.NewStreamed(t)
	var mu sync.Mutex
	clock := time.Now().UTC().Truncate(time.Second)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	seg := st.Segmenter(t, now)
	svc, _ := st.Intake(t)
	svc.Now = now
	ctx := context.Background()
	def, _ := svc.Form(ctx, "contact")
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Qin Guan"}, "email": {stacktest.Unique("idle") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CustomerID
	p, _ := st.Store.Profile(ctx, id)
	st.MarkVerified(t, id, p.IdentifiersOf(customer.IdentityEmail)[0])
	if err := st.Store.Withdraw(ctx, store.Withdrawal{CustomerID: id, EntryID: stacktest.Unique("w"), Purposes: []consent.Purpose{consent.Processing},
		Channel: "one-click", Trust: customer.Proven, At: now()}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = clock.AddDate(0, 0, 1096)
	mu.Unlock()
	if _, err := seg.Sweep(ctx, now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st.WaitSegments(t, id, func(s []string) bool { return slices.Contains(s, segment.RetentionLapsed) })
	e := &privacy.Eraser{Store: st.Store, Opener: envelope.NewOpener(config.KMS(st.AWS(t, "kehu-privacy"))), Actor: "local:kehu-privacy", Now: now}
	if _, n, err := e.RunRetention(ctx, segment.Defaults()); err != nil || n != 1 {
		t.Fatalf("three years on, never told: erased %d, %v", n, err)
	}
	if tomb, err := st.Store.TombstoneOf(ctx, id); err != nil || !strings.Contains(tomb.Reason, "no activity") {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
}
