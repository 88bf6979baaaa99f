package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/store"
)

// ErrNotSetUp means the table has no blind-index secret yet: run `kehu setup`.
var ErrNotSetUp = errors.New("the table has no blind index secret: run `kehu setup` once after deploying")

// Wire builds the pipeline from configuration, once per cold start: the SDK
// clients, the store, the sealer with its data-key cache, and the blind
// index, whose secret is unwrapped here with one KMS call.
func Wire(ctx context.Context, cfg config.Config, awsCfg aws.Config) (*Service, *envelope.Sealer, error) {
	db := config.DynamoDB(awsCfg)
	kmsClient := config.KMS(awsCfg)
	st := store.New(db, cfg.Table)
	wrapped, err := st.BlindIndexSecret(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNotSetUp
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read blind index secret: %w", err)
	}
	ix, err := blindindex.Unwrap(ctx, kmsClient, cfg.BlindIndexKey, cfg.Table, wrapped)
	if err != nil {
		return nil, nil, err
	}
	sealer := envelope.NewSealer(kmsClient, cfg.Table, map[customer.Tier]string{
		customer.Confidential: cfg.ConfidentialKey,
		customer.Restricted:   cfg.RestrictedKey,
	})
	sealer.MaxAge, sealer.MaxUses = cfg.DataKeyMaxAge, cfg.DataKeyMaxUses
	return New(st, sealer, ix, cfg.Table), sealer, nil
}
