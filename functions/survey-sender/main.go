// Command survey-sender is the scheduled Lambda (EventBridge) that emails
// the customers in review-due who may be contacted a signed link to their
// update survey, at most once per interval, through Amazon SES v2. Its
// role decrypts the confidential tier only (the address) and the link
// secret. main reads configuration and builds the dependencies; the loop
// lives in shared/sender.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/sender"
)

const function = "survey-sender"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	if err := run(context.Background(), log, os.Getenv); err != nil {
		log.Error("survey-sender failed to start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, getenv func(string) string) error {
	cfg, err := config.FromEnvFor(getenv, sender.Required)
	if err != nil {
		return err
	}
	set, err := sender.SettingsFromEnv(getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return err
	}
	var m mail.Sender = mail.SES{Client: sesv2.NewFromConfig(awsCfg), ConfigurationSet: getenv(sender.EnvConfigSet)}
	if addr := getenv(sender.EnvSMTPAddr); addr != "" {
		m = mail.SMTP{Addr: addr}
	}
	s, err := sender.Wire(ctx, cfg, awsCfg, set, m, log, metrics.New(os.Stdout, function))
	if err != nil {
		return err
	}
	lambda.Start(handle(s, log))
	return nil
}

// handle is the scheduled invocation: one run of the sender.
func handle(s runner, log *slog.Logger) func(context.Context, events.EventBridgeEvent) (sender.Result, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (sender.Result, error) {
		res, err := s.Run(ctx, false)
		log.InfoContext(ctx, "survey sender done", "scheduled_at", ev.Time, "sent", res.Sent, "confirmations", res.Confirmations,
			"failed", res.Failed, "skipped", res.Skipped)
		return res, err
	}
}

type runner interface {
	Run(ctx context.Context, dryRun bool) (sender.Result, error)
}
