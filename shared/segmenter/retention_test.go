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
// retention-lapsed and the privacy sweep erases them.
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
	res, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Zhao Min"}, "email": {stacktest.Unique("gone") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact, consent.Marketing}, Notice: "contact-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	id, active := res.CustomerID, now()
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
	if w, n, err := e.RunRetention(ctx, segment.Defaults()); err != nil || n != 1 {
		t.Fatalf("after the grace period: withdrew %d, erased %d, %v", w, n, err)
	}
	if tomb, err := st.Store.TombstoneOf(ctx, id); err != nil || tomb.State != store.Erased || !strings.Contains(tomb.Reason, "no purpose left") {
		t.Fatalf("tombstone %+v %v", tomb, err)
	}
}
