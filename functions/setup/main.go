// Command setup is the Lambda behind the template's Custom::BlindIndexSecret:
// it creates the table's blind-index secret on deploy. main reads
// configuration, builds the dependencies once and starts the handler, which
// lives in internal/setup where tests import it. It always starts: a
// custom resource that never answers holds the stack until CloudFormation
// gives up, so a configuration error is the answer to each event instead.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/kehu-dev/kehu/internal/setup"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/store"
)

const function = "setup"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("function", function)
	h, err := handler(context.Background(), os.Getenv)
	if err != nil {
		log.Error("setup cannot start; failing each Create and Update", "err", err)
	}
	lambda.Start(cfn.LambdaWrap(h))
}

func handler(ctx context.Context, getenv func(string) string) (cfn.CustomResourceFunction, error) {
	cfg, err := setup.FromEnv(getenv)
	if err != nil {
		return setup.Failing(err), err
	}
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return setup.Failing(err), err
	}
	h := &setup.BlindIndexSecret{KMS: config.KMS(awsCfg), Store: store.New(config.DynamoDB(awsCfg), cfg.Table), KeyID: cfg.BlindIndexKey}
	return h.Handle, nil
}
