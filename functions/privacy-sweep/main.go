// Command privacy-sweep is the scheduled Lambda (EventBridge, daily) that
// carries out the erasures whose cooling-off has passed, by the same code
// as an operator's erase, and applies the retention periods: the lapsed
// purposes of the customers in retention-lapsed are withdrawn, and a
// customer whose processing period lapsed is erased. Its role decrypts what the eraser must (the
// customer's identifiers, to find the quarantined payloads that name
// them); those reads are audited.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/store"
)

const function = "privacy-sweep"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	if err := run(context.Background(), log, os.Getenv); err != nil {
		log.Error("privacy-sweep failed to start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, getenv func(string) string) error {
	cfg, err := segmenter.ConfigFromEnv(getenv) // the table, and the thresholds' retention periods
	if err != nil {
		return err
	}
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return err
	}
	st := store.New(config.DynamoDB(awsCfg), cfg.Table)
	e := &privacy.Eraser{Store: st, Opener: envelope.NewOpener(config.KMS(awsCfg)), Actor: "function:" + getenv("AWS_LAMBDA_FUNCTION_NAME"), Now: time.Now, Log: log}
	lambda.Start(handle(e, cfg.Thresholds, log))
	return nil
}

type eraser interface {
	RunDueErasures(ctx context.Context) (int, error)
	RunRetention(ctx context.Context, t segment.Thresholds) (int, int, error)
}

// handle is the scheduled invocation: the due erasures, then retention —
// each whatever the other's failures (a failed invocation is an alarm;
// what failed is tried again the next day).
func handle(e eraser, t segment.Thresholds, log *slog.Logger) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		n, derr := e.RunDueErasures(ctx)
		log.InfoContext(ctx, "due erasures done", "scheduled_at", ev.Time, "erased", n, "failed", derr != nil)
		if derr != nil {
			log.ErrorContext(ctx, "due erasures failed", "err", derr.Error())
		}
		withdrawn, erased, rerr := e.RunRetention(ctx, t)
		log.InfoContext(ctx, "retention done", "withdrawn", withdrawn, "erased", erased, "failed", rerr != nil)
		if rerr != nil {
			log.ErrorContext(ctx, "retention failed", "err", rerr.Error())
		}
		return errors.Join(derr, rerr)
	}
}
