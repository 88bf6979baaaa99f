// Command webhook-intake is the Lambda behind POST and GET
// /v1/webhooks/{sourceId}: chat and help-desk tools' webhooks, verified on
// the raw body with the source's secrets, taken exactly once, through the
// one intake pipeline. main reads configuration and builds the
// dependencies; the handler lives in shared/httpapi. An incomplete
// configuration is answered 503 naming what is missing, never a crash.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/metrics"
)

const function = "webhook-intake"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	lambda.Start(handler(log, os.Getenv).Handle)
}

func handler(log *slog.Logger, getenv func(string) string) *httpapi.WebhookIntake {
	cfg, cfgErr := config.FromEnvFor(getenv, config.WebhookRequired)
	if cfgErr != nil {
		log.Error("webhook-intake configuration incomplete; answering 503", "err", cfgErr)
	}
	h := httpapi.NewWebhookIntake(cfg, log, metrics.New(os.Stdout, function))
	// The handler reads h.Sources only after the pipeline is wired (one
	// request at a time in a Lambda instance).
	h.Wiring = httpapi.NewWiring(cfg, cfgErr, log, func(awsCfg aws.Config) { h.ReadSourcesWith(cfg, awsCfg) })
	return h
}
