// Command webhook-intake is the Lambda behind POST and GET
// /v1/webhooks/{sourceId}: chat and help-desk tools' webhooks, verified on
// the raw body with the source's secrets, taken exactly once, through the
// one intake pipeline. main reads configuration and builds the
// dependencies; the handler lives in shared/httpapi. An incomplete
// configuration is answered 503 naming what is missing, never a crash.
package main

import (
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/source"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

const function = "webhook-intake"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	lambda.Start(handler(log, os.Getenv).Handle)
}

func handler(log *slog.Logger, getenv func(string) string) *httpapi.WebhookIntake {
	cfg, cfgErr := config.FromEnv(getenv)
	if cfg.SecretsKey == "" {
		var inc *config.IncompleteError
		switch {
		case cfgErr == nil:
			cfgErr = &config.IncompleteError{Missing: []string{config.EnvSecretsKey}}
		case errors.As(cfgErr, &inc):
			inc.Missing = append(inc.Missing, config.EnvSecretsKey)
		}
	}
	if cfgErr != nil {
		log.Error("webhook-intake configuration incomplete; answering 503", "err", cfgErr)
	}
	h := &httpapi.WebhookIntake{Log: log, Metrics: metrics.New(os.Stdout, function), MaxBody: cfg.WebhookMaxBodyBytes,
		Directory: &webhook.Directory{}, BaseCurrency: cfg.BaseCurrency}
	if h.MaxBody == 0 {
		h.MaxBody = 1 << 20
	}
	h.Wiring = httpapi.NewWiring(cfg, cfgErr, log, func(awsCfg aws.Config) {
		// The handler reads h.Sources only after the pipeline is wired (one
		// request at a time in a Lambda instance).
		st := store.New(config.DynamoDB(awsCfg), cfg.Table)
		st.CallTimeout = cfg.CallTimeout
		h.Sources = &source.Cache{Store: st, KMS: config.KMS(awsCfg)}
	})
	return h
}
