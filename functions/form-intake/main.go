// Command form-intake is the Lambda behind POST /v1/forms/{formId}/submissions.
// main reads configuration, builds the dependencies and starts the handler,
// which lives in shared/httpapi where tests import it. A configuration
// that is incomplete does not stop the function: it answers 503 naming
// what is missing, and builds itself once the cause is gone.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/metrics"
)

const function = "form-intake"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	h := handler(context.Background(), log, os.Getenv)
	lambda.Start(h.Handle)
}

// handler reads the configuration and returns the function's handler; the
// pipeline itself is built on the first request (and rebuilt after a
// failure), so a cold start never fails.
func handler(_ context.Context, log *slog.Logger, getenv func(string) string) *httpapi.FormIntake {
	cfg, cfgErr := config.FromEnv(getenv)
	if cfgErr != nil {
		log.Error("form-intake configuration incomplete; answering 503", "err", cfgErr)
	}
	return &httpapi.FormIntake{Wiring: httpapi.NewWiring(cfg, cfgErr, log, nil), Log: log, Metrics: metrics.New(os.Stdout, function),
		MaxBody: cfg.MaxBodyBytes}
}
