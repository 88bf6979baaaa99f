package intake

import (
	"bytes"
	"compress/gzip"
	"context"
	"maps"
	"slices"

	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/store"
)

// maxKept bounds a quarantined payload after compression: a DynamoDB item
// holds at most 400 KB. A larger one is recorded (source, reason, size)
// without its payload — counted and visible, never silently dropped.
const maxKept = 350 << 10

// Quarantine keeps an authentic payload that could not be used: sealed in
// the confidential tier, with the reason and the event's delivery mark, in
// one transaction. store.ErrDuplicate: the event was taken before.
func (s *Service) Quarantine(ctx context.Context, q store.Quarantined, payload []byte, delivery string) error {
	if q.ID == "" {
		q.ID = s.NewSubID()
	}
	if q.At.IsZero() {
		q.At = s.Now()
	}
	q.Size = len(payload)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(payload)
	if err := zw.Close(); err != nil {
		return err
	}
	keys := newKeys{}
	if z.Len() <= maxKept {
		blob, err := s.seal(ctx, envelope.AAD{Table: s.Table, Customer: store.QuarantineCustomer,
			Attribute: store.QuarantineAttribute(q.ID), Tier: customer.Confidential}, z.Bytes(), keys)
		if err != nil {
			return err
		}
		q.Payload, q.Compressed = blob, true
	} else {
		q.Reason += "; the payload was too large to keep"
	}
	cctx, cancel := commitContext(ctx, s.CommitTimeout)
	defer cancel()
	if err := s.Store.PutQuarantine(cctx, q, store.Delivery{Key: delivery}, keys.list()); err != nil {
		return err
	}
	s.remember(keys)
	return nil
}

// newKeys are the data keys a write's sealed values use that the table
// has not stored yet (by ref): stored in the same transaction.
type newKeys map[string]store.DataKey

// list is the keys in ref order.
func (k newKeys) list() []store.DataKey {
	var out []store.DataKey
	for _, ref := range slices.Sorted(maps.Keys(k)) {
		out = append(out, k[ref])
	}
	return out
}

// seal seals one value, noting its data key in keys unless it is stored.
func (s *Service) seal(ctx context.Context, aad envelope.AAD, plaintext []byte, keys newKeys) ([]byte, error) {
	sealed, err := s.Sealer.Seal(ctx, aad, plaintext)
	if err != nil {
		return nil, err
	}
	if _, known := s.stored.Load(sealed.Ref); !known {
		keys[sealed.Ref] = store.DataKey{Ref: sealed.Ref, Tier: aad.Tier, Wrapped: sealed.Wrapped}
	}
	return sealed.Blob, nil
}

// remember notes keys as stored, once the write that stored them committed.
func (s *Service) remember(keys newKeys) {
	for ref := range keys {
		s.stored.Store(ref, true)
	}
}

// Refuse takes an authentic delivery without storing anything of it (a
// survey response without the consent its source requires): its delivery
// mark records the source and the reason. store.ErrDuplicate if taken.
func (s *Service) Refuse(ctx context.Context, sourceID, reason, delivery string) error {
	cctx, cancel := commitContext(ctx, s.CommitTimeout)
	defer cancel()
	return s.Store.RecordRefused(cctx, store.Delivery{Key: delivery, Source: sourceID, Reason: reason}, s.Now())
}
