package store

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// A stripped ledger entry's new key is a UUIDv7 of the entry's own time:
// the ledger keeps its order, and no two are alike.
func TestUUIDAt(t *testing.T) {
	at := time.Date(2026, 11, 23, 20, 30, 15, 123_000_000, time.UTC)
	a, b := uuidAt(at), uuidAt(at)
	if a == b {
		t.Fatal("two keys alike")
	}
	u, err := uuid.Parse(a)
	if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("%s: %v, version %d, variant %v", a, err, u.Version(), u.Variant())
	}
	if sec, nsec := u.Time().UnixTime(); !time.Unix(sec, nsec).Equal(at) {
		t.Fatalf("time %v, want %v", time.Unix(sec, nsec).UTC(), at)
	}
	if later := uuidAt(at.Add(time.Millisecond)); later <= a || later <= b {
		t.Fatalf("%s does not sort after %s", later, a)
	}
}
