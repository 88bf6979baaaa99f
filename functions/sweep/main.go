// Command sweep is the scheduled Lambda (EventBridge, daily) that
// re-evaluates the customers whose segments change with time alone
// (lifecycle, 12-month value class, review due): it reads the due buckets
// of the last days, never scans the table.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kehu-dev/kehu/shared/segmenter"
)

const function = "sweep"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	if err := run(context.Background(), log); err != nil {
		log.Error("sweep failed to start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	h, err := segmenter.New(ctx, os.Getenv, log, function)
	if err != nil {
		return err
	}
	lambda.Start(func(ctx context.Context) error {
		n, err := h.Sweep(ctx, time.Now().Add(-segmenter.SweepCatchUp))
		log.InfoContext(ctx, "sweep done", "re_evaluated", n, "err", err)
		if err != nil {
			return err
		}
		// The daily supervision figures, as EMF metrics.
		q, err := segmenter.Report(ctx, h.Store)
		if err != nil {
			return err
		}
		q.Emit(h.Metrics)
		return nil
	})
	return nil
}
