// Package segmenter keeps customers' segment memberships and counts current
// from the table's stream: for each profile change it evaluates the rules
// (package segment) on general-tier attributes and consent states only —
// it holds no KMS permission — and records the result under the profile's
// version, so a redelivered or out-of-order record changes nothing. The
// sweep re-evaluates the customers whose segments change with time alone.
package segmenter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/store"
)

// Handler is the segmenter Lambda's handler.
type Handler struct {
	Store      *store.Store
	Thresholds segment.Thresholds
	Now        func() time.Time
	Log        *slog.Logger
	Metrics    *metrics.Emitter
}

// IsProfileChange reports whether a stream record is a profile's (the
// template's event filter, and the local runner's, keep only these).
func IsProfileChange(r events.DynamoDBEventRecord) bool {
	sk, ok := r.Change.Keys["sk"]
	return ok && sk.DataType() == events.DataTypeString && sk.String() == "PROFILE"
}

// Handle processes a batch. A record that fails is reported by its
// sequence number; the others are processed (each is idempotent).
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	changed, stale, failed := 0, 0, 0
	for _, r := range ev.Records {
		if !IsProfileChange(r) {
			continue
		}
		did, err := h.record(ctx, r)
		switch {
		case errors.Is(err, store.ErrStale):
			stale++
		case err != nil:
			failed++
			h.Log.ErrorContext(ctx, "segmenter record failed", "sequence", r.Change.SequenceNumber, "event", r.EventName, "err", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
		case did:
			changed++
		}
	}
	h.Metrics.Emit(map[string]string{"outcome": "batch"}, metrics.Count{Name: "SegmentRecords", Value: float64(len(ev.Records))},
		metrics.Count{Name: "SegmentChanges", Value: float64(changed)}, metrics.Count{Name: "SegmentStale", Value: float64(stale)},
		metrics.Count{Name: "SegmentFailures", Value: float64(failed)})
	return resp, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// record applies one profile change; it reports whether anything changed.
func (h *Handler) record(ctx context.Context, r events.DynamoDBEventRecord) (bool, error) {
	pk, ok := r.Change.Keys["pk"]
	if !ok || pk.DataType() != events.DataTypeString || !strings.HasPrefix(pk.String(), "CUST#") {
		return false, fmt.Errorf("record %s has no customer key", r.Change.SequenceNumber)
	}
	id := strings.TrimPrefix(pk.String(), "CUST#")
	image, removed := r.Change.NewImage, false
	if r.EventName == "REMOVE" || len(image) == 0 {
		image, removed = r.Change.OldImage, true
	}
	// The profile's map attributes, checked before they are read: DynamoDB
	// Local's stream reports an empty map as another type; empty is absent.
	for _, m := range []string{"general", "consent", "src", "ids", "trade_months", "matched"} {
		if v, ok := image[m]; ok && v.DataType() != events.DataTypeMap {
			image = maps.Clone(image)
			delete(image, m)
		}
	}
	var p store.Profile
	if err := attributevalue.UnmarshalMap(store.FromStreamImage(image), &p); err != nil {
		return false, fmt.Errorf("record %s: profile image: %w", r.Change.SequenceNumber, err)
	}
	p.CustomerID = id
	return h.apply(ctx, &p, removed, false)
}

// apply evaluates a profile and records its segments under its version
// (sweep: re-evaluate the profile as it is now, at a later time).
func (h *Handler) apply(ctx context.Context, p *store.Profile, removed, sweep bool) (bool, error) {
	for attempt := 0; ; attempt++ {
		prev, err := h.Store.SegmentsOf(ctx, p.CustomerID)
		if err != nil {
			return false, err
		}
		// A record older than the state is stale; the sweep applies the
		// profile it read (consistently), however far the stream lags.
		if prev.Removed || (!sweep && !removed && prev.Version >= p.Version) || (sweep && prev.Version > p.Version) {
			return false, store.ErrStale
		}
		now := h.now()
		next := store.SegmentState{Version: p.Version, Removed: removed, Matched: p.Matched}
		if !removed {
			next.Segments, next.NextDue = segment.Evaluate(Rules(p), now, h.Thresholds)
		}
		err = h.Store.ApplySegments(ctx, p.CustomerID, prev, next, now)
		if errors.Is(err, store.ErrStale) && attempt < 3 {
			continue // someone else applied in between: read again, decide again
		}
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			// Another transaction on a shared count item: wait a little,
			// at random, and try again rather than fail the record.
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(time.Duration(10+rand.IntN(40)) * time.Millisecond << attempt):
			}
			continue
		}
		if err != nil {
			return false, err
		}
		return !slices.Equal(prev.Segments, next.Segments), nil
	}
}

// Rules is what the segment rules see of a profile: general-tier values,
// the names of what it holds, consent states, dates and trade aggregates.
// The last activity is active_at, or, for a profile without one (made by
// a message the company sent), its creation: never updated_at, which
// withdrawals, restriction, verification and restores move too, so that
// none of them restarts the retention clock.
func Rules(p *store.Profile) segment.Profile {
	r := segment.Profile{CustomerID: p.CustomerID, General: p.General, Consent: map[string]bool{}, ReviewDueAt: p.ReviewDueAt,
		TradeCount: p.TradeCount, TradeMonths: map[string]string{}, Restricted: p.Restricted, ActiveAt: p.CreatedAt}
	if p.ActiveAt != nil {
		r.ActiveAt = *p.ActiveAt
	}
	for name := range p.Fields {
		r.Present = append(r.Present, name)
	}
	for k := range p.IDs {
		if ref, ok := store.IdentifierRef(k); ok && !slices.Contains(r.Present, string(ref.Kind)) {
			r.Present = append(r.Present, string(ref.Kind))
		}
	}
	slices.Sort(r.Present)
	for _, purpose := range slices.Sorted(maps.Keys(p.Consent)) {
		st := p.Consent[purpose]
		r.Consent[string(purpose)] = st.Granted
		if !st.Granted && st.At.After(r.WithdrawnAt) {
			r.WithdrawnAt = st.At
		}
	}
	for m, v := range p.TradeMonths {
		r.TradeMonths[m] = string(v)
	}
	if p.FirstTradeAt != nil {
		r.FirstTradeAt = *p.FirstTradeAt
	}
	if p.LastTradeAt != nil {
		r.LastTradeAt = *p.LastTradeAt
	}
	return r
}

// SweepCatchUp is how far back the sweep reads due buckets: a month of
// missed runs is caught up (an empty bucket costs one small Query a shard).
const SweepCatchUp = 35 * 24 * time.Hour

// Sweep re-evaluates every customer whose segments were due to change by
// now (the due buckets up to today, from `since`): no table scan, and a
// customer not due is not touched. A profile newer than its segments (a
// stream record still on its way, or lost to the dead-letter queue) is
// applied as read. It returns how many it re-evaluated.
func (h *Handler) Sweep(ctx context.Context, since time.Time) (int, error) {
	now := h.now()
	n := 0
	for day := since.UTC().Truncate(24 * time.Hour); !day.After(now); day = day.Add(24 * time.Hour) {
		ids, err := h.Store.DueOn(ctx, store.DueDay(day))
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			st, err := h.Store.SegmentsOf(ctx, id)
			if err != nil {
				return n, err
			}
			if st.NextDue.IsZero() || st.NextDue.After(now) {
				continue // due later today
			}
			p, err := h.Store.Profile(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return n, err
			}
			if _, err := h.apply(ctx, p, false, true); err != nil && !errors.Is(err, store.ErrStale) {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
