// Command privacy is the Lambda behind the person's privacy page, reached
// by the signed link in every email to a verified address: withdraw a
// purpose, get a copy (by email, a short-lived download link), correct
// through the survey, ask for erasure (after a cooling-off) or cancel it.
// Its role decrypts both tiers — the copy is everything held about the
// person — and every such read is audited. main reads configuration and
// builds the dependencies on first use; the handler is in shared/httpapi.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/sender"
)

const function = "privacy"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	lambda.Start(handler(log, os.Getenv).Handle)
}

func handler(log *slog.Logger, getenv func(string) string) *httpapi.PrivacyPages {
	cfg, cfgErr := config.FromEnvFor(getenv, privacy.Required)
	set, setErr := sender.SettingsFromEnv(getenv)
	if cfgErr == nil {
		cfgErr = setErr
	}
	timing, timingErr := privacy.TimingFromEnv(getenv)
	if cfgErr == nil {
		cfgErr = timingErr
	}
	seg, segErr := segmenter.ConfigFromEnv(getenv) // the thresholds (retention), as the segmenter reads them
	if cfgErr == nil {
		cfgErr = segErr
	}
	thresholds := seg.Thresholds
	if cfgErr != nil {
		log.Error("privacy configuration incomplete; answering 503", "err", cfgErr)
	}
	return &httpapi.PrivacyPages{Log: log, Metrics: metrics.New(os.Stdout, function), MaxBody: cfg.MaxBodyBytes,
		CoolingOff: timing.CoolingOff, AnswerIn: timing.AnswerIn, Thresholds: &thresholds,
		Build: func(ctx context.Context) (*httpapi.PrivacyDeps, error) {
			if cfgErr != nil {
				return nil, cfgErr
			}
			awsCfg, err := config.AWS(ctx)
			if err != nil {
				return nil, err
			}
			var m mail.Sender = mail.SES{Client: sesv2.NewFromConfig(awsCfg), ConfigurationSet: getenv(sender.EnvConfigSet)}
			return httpapi.WirePrivacy(ctx, cfg, awsCfg, set, m, log, "function:"+getenv("AWS_LAMBDA_FUNCTION_NAME"))
		}}
}
