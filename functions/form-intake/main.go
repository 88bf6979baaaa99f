// Command form-intake is the Lambda behind POST /v1/forms/{formId}/submissions.
// main reads configuration, builds the dependencies once and starts the
// handler, which lives in shared/httpapi where tests import it.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
)

const function = "form-intake"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	if err := run(context.Background(), log); err != nil {
		log.Error("form-intake failed to start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return err
	}
	svc, sealer, err := intake.Wire(ctx, cfg, awsCfg)
	if err != nil {
		return err
	}
	h := &httpapi.FormIntake{Service: svc, Log: log, Metrics: metrics.New(os.Stdout, function),
		MaxBody: cfg.MaxBodyBytes, KMSCalls: sealer.KMSCalls}
	lambda.Start(h.Handle)
	return nil
}
