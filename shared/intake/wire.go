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

// ErrNotSetUp means the table has no blind-index secret yet: the deploy's
// custom resource (or `kehu setup` locally) creates it.
var ErrNotSetUp = errors.New("the table has no blind index secret yet (created at deploy time; locally `kehu setup`)")

// Wire builds the pipeline from configuration, once per cold start: the SDK
// clients, the store, the sealer with its data-key cache, and the blind
// index, whose secret is unwrapped here with one KMS call.
func Wire(ctx context.Context, cfg config.Config, awsCfg aws.Config) (*Service, *envelope.Sealer, error) {
	db := config.DynamoDB(awsCfg)
	kmsClient := config.KMS(awsCfg)
	st := store.New(db, cfg.Table)
	st.CallTimeout = cfg.CallTimeout
	wrapped, err := st.IntakeKeys(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNotSetUp
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the intake keys: %w", err)
	}
	ix, err := blindindex.UnwrapIntake(ctx, kmsClient, cfg.BlindIndexKey, cfg.Table, wrapped)
	if err != nil {
		return nil, nil, err
	}
	sealer := envelope.NewSealer(kmsClient, cfg.Table, map[customer.Tier]string{
		customer.Confidential: cfg.ConfidentialKey,
		customer.Restricted:   cfg.RestrictedKey,
	})
	sealer.MaxAge, sealer.MaxUses = cfg.DataKeyMaxAge, cfg.DataKeyMaxUses
	svc := New(st, sealer, ix, cfg.Table)
	if cfg.Budget > 0 {
		svc.Budget = cfg.Budget
	}
	return svc, sealer, nil
}
