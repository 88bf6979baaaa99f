// Command survey-intake is the Lambda behind the pages a customer reaches
// through a signed link: kehu's own update survey (GET
// /v1/surveys/{surveyId}, POST …/responses), the confirmation of a new
// address (/v1/confirm) and the one-click withdrawal (/v1/unsubscribe).
// Answers go through the one intake pipeline. Its role may seal values
// but decrypt none. main reads configuration and builds the dependencies
// on first use; the handler lives in shared/httpapi.
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

const function = "survey-intake"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	lambda.Start(handler(log, os.Getenv).Handle)
}

func handler(log *slog.Logger, getenv func(string) string) *httpapi.SurveyPages {
	cfg, cfgErr := config.FromEnvFor(getenv, config.Required)
	if cfgErr != nil {
		log.Error("survey-intake configuration incomplete; answering 503", "err", cfgErr)
	}
	return &httpapi.SurveyPages{Log: log, Metrics: metrics.New(os.Stdout, function), MaxBody: cfg.MaxBodyBytes,
		Build: func(ctx context.Context) (*httpapi.SurveyDeps, error) {
			if cfgErr != nil {
				return nil, cfgErr
			}
			awsCfg, err := config.AWS(ctx)
			if err != nil {
				return nil, err
			}
			return httpapi.WireSurveys(ctx, cfg, awsCfg)
		}}
}
