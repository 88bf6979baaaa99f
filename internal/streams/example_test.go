package streams_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/aws/aws-lambda-go/events"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kehu-dev/kehu/internal/streams"
)

// Feeding the local table's stream to a handler until Ctrl-C, with an event
// filter that passes only profile items and partial batch failures.
func ExampleRunner() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		panic(err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	r := &streams.Runner{
		Streams: streams.NewClient(cfg),
		DB:      dynamodb.NewFromConfig(cfg),
		Table:   "kehu-local",
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			var resp events.DynamoDBEventResponse
			for _, rec := range ev.Records {
				if err := handle(ctx, rec); err != nil { // report the record, by its sequence number
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
				}
			}
			return resp, nil
		},
		Filter: func(rec events.DynamoDBEventRecord) bool { // template.yaml's event filter: profile items only
			img := rec.Change.NewImage
			if img == nil {
				img = rec.Change.OldImage
			}
			e, ok := img["entity"]
			return ok && e.DataType() == events.DataTypeString && e.String() == "profile"
		},
		Log: log.With("function", "segmenter"),
	}
	if err := r.Run(ctx); err != nil {
		log.Error("stream runner stopped", "err", err)
	}
}

func handle(context.Context, events.DynamoDBEventRecord) error { return nil }
