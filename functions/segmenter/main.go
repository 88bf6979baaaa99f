// Command segmenter is the Lambda on the table's stream (profile changes
// only, by the template's event filter): it keeps segment memberships and
// counts current. It reads general-tier attributes and consent states and
// holds no KMS permission. main reads configuration and starts the handler
// (shared/segmenter).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kehu-dev/kehu/shared/segmenter"
)

const function = "segmenter"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	if err := run(context.Background(), log); err != nil {
		log.Error("segmenter failed to start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	h, err := segmenter.New(ctx, os.Getenv, log, function)
	if err != nil {
		return err
	}
	lambda.Start(h.Handle)
	return nil
}
