package intake

import (
	"bytes"
	"compress/gzip"
	"context"

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
	var keys []store.DataKey
	if z.Len() <= maxKept {
		sealed, err := s.Sealer.Seal(ctx, envelope.AAD{Table: s.Table, Customer: store.QuarantineCustomer,
			Attribute: store.QuarantineAttribute(q.ID), Tier: customer.Confidential}, z.Bytes())
		if err != nil {
			return err
		}
		q.Payload, q.Compressed = sealed.Blob, true
		if _, known := s.stored.Load(sealed.Ref); !known {
			keys = append(keys, store.DataKey{Ref: sealed.Ref, Tier: customer.Confidential, Wrapped: sealed.Wrapped})
		}
	} else {
		q.Reason += "; the payload was too large to keep"
	}
	cctx, cancel := commitContext(ctx, s.CommitTimeout)
	defer cancel()
	if err := s.Store.PutQuarantine(cctx, q, store.Delivery{Key: delivery}, keys); err != nil {
		return err
	}
	for _, k := range keys {
		s.stored.Store(k.Ref, true)
	}
	return nil
}
