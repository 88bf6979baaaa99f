package sender

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/store"
)

// Wire builds the sender once per cold start: the store, the opener (the
// sender's credentials decrypt the confidential tier only) and the link
// keys, unwrapped with one KMS call.
func Wire(ctx context.Context, cfg config.Config, awsCfg aws.Config, set Settings, m mail.Sender, log *slog.Logger, em *metrics.Emitter) (*Sender, error) {
	st := store.New(config.DynamoDB(awsCfg), cfg.Table)
	st.CallTimeout = cfg.CallTimeout
	k := config.KMS(awsCfg)
	keys, err := link.Unwrap(ctx, st, k, cfg.BlindIndexKey, cfg.Table, func(err error) bool { return errors.Is(err, store.ErrNotFound) })
	if err != nil {
		return nil, err
	}
	actor := "function:survey-sender"
	if fn := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); fn != "" {
		actor = "function:" + fn
	}
	return &Sender{Store: st, Opener: envelope.NewOpener(k), Links: keys, Mail: m, Settings: set, Now: time.Now, Log: log, Metrics: em,
		Actor: actor}, nil
}
