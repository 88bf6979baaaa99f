package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/stacktest"
)

// The lease is compared as a number: an abandoned request's key can be
// taken over the moment its lease ends, not a second early or late (an
// RFC 3339 string with trimmed fractions orders "05Z" after "05.3Z").
func TestLeaseComparedExactly(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second).Add(-2 * time.Second).Add(700 * time.Millisecond) // lease ends on a whole second
	lease, keep := 300*time.Millisecond, time.Hour
	if got, err := st.Store.Acquire(ctx, "k1", "req", "A", t0, lease, keep); err != nil || got != nil {
		t.Fatalf("first acquire: %+v %v", got, err)
	}
	if got, err := st.Store.Acquire(ctx, "k1", "req", "B", t0.Add(200*time.Millisecond), lease, keep); err != nil || got == nil || got.Owner != "A" {
		t.Fatalf("within the lease: %+v %v; want A's record", got, err)
	}
	if got, err := st.Store.Acquire(ctx, "k1", "req", "B", t0.Add(lease+300*time.Millisecond), lease, keep); err != nil || got != nil {
		t.Fatalf("0.3 s after the lease ended: %+v %v; want the key taken over", got, err)
	}
	// Its own record, again (an SDK retry after a lost answer): taken.
	if got, err := st.Store.Acquire(ctx, "k1", "req", "B", t0.Add(lease+400*time.Millisecond), lease, keep); err != nil || got != nil {
		t.Fatalf("own record: %+v %v", got, err)
	}
	// Another request's record is never taken over, lease or not.
	if got, err := st.Store.Acquire(ctx, "k1", "other", "C", t0.Add(time.Minute), lease, keep); err != nil || got == nil {
		t.Fatalf("another request: %+v %v", got, err)
	}
}
