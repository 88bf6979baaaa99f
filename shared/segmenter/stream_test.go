package segmenter_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/intake"
)

// eventually polls cond for at most 15 s (the stream runner's pace on a
// loaded machine); a test never waits longer.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 15 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// End to end on the local stack: a form submission lands its profile in
// its segments through the table's stream; a change moves it.
func TestSubmissionsMoveSegmentsThroughTheStream(t *testing.T) {
	st := stacktest.NewStreamed(t)
	st.Segmenter(t, time.Now)
	svc, _ := st.Intake(t)
	ctx := context.Background()
	def, err := svc.Form(ctx, "contact")
	if err != nil {
		t.Fatal(err)
	}
	email := stacktest.Unique("seg") + "@example.com"
	sub := intake.Submission{Fields: map[string][]string{"name": {"李雷"}, "email": {email}, "region": {"华东"}, "industry": {"retail"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Marketing}, Notice: "contact-v1"}}
	res, err := svc.Submit(ctx, def, sub)
	if err != nil {
		t.Fatal(err)
	}
	in := func(segment string) func() bool {
		return func() bool {
			members, _, err := st.Store.SegmentMembers(ctx, segment, 10)
			return err == nil && slices.Contains(members, res.CustomerID)
		}
	}
	eventually(t, "region:华东", in("region:华东"))
	eventually(t, "marketable", in("marketable"))
	eventually(t, "lifecycle:prospect", in("lifecycle:prospect"))
	sub.Fields["region"] = []string{"华南"}
	if _, err := svc.Submit(ctx, def, sub); err != nil {
		t.Fatal(err)
	}
	eventually(t, "region:华南", in("region:华南"))
	eventually(t, "out of region:华东", func() bool { return !in("region:华东")() })
	counts, err := st.Store.SegmentCounts(ctx)
	if err != nil || counts["region:华东"] != 0 || counts["region:华南"] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}
}
