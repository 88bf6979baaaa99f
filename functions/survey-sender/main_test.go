package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/sender"
)

type fakeRunner struct {
	runs int
	err  error
}

func (f *fakeRunner) Run(context.Context, bool) (sender.Result, error) {
	f.runs++
	return sender.Result{Sent: 2, Skipped: map[string]int{}}, f.err
}

// EventBridge's scheduled event (events/survey-sender/schedule.json) runs
// the sender once; its failure is the invocation's (the Errors alarm).
func TestScheduledEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/survey-sender/schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Time.IsZero() {
		t.Fatalf("not a scheduled event: %+v %v", ev, err)
	}
	r := &fakeRunner{}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if res, err := handle(r, log)(context.Background(), ev); err != nil || res.Sent != 2 || r.runs != 1 {
		t.Fatalf("run: %+v %v (%d runs)", res, err, r.runs)
	}
	r.err = errors.New("table unavailable")
	if _, err := handle(r, log)(context.Background(), ev); err == nil {
		t.Fatal("a failed run was not reported")
	}
}

// Without its configuration the sender does not start, and says what is missing.
func TestMissingConfiguration(t *testing.T) {
	err := run(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)), func(string) string { return "" })
	var inc *config.IncompleteError
	if !errors.As(err, &inc) || len(inc.Missing) != len(sender.Required) {
		t.Fatalf("%v", err)
	}
	env := map[string]string{"TABLE_NAME": "t", "KMS_KEY_BLIND_INDEX": "k", sender.EnvFrom: "kehu <no-reply@example.com>", sender.EnvAPIURL: "ftp://x"}
	if err := run(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)), func(k string) string { return env[k] }); err == nil {
		t.Fatal("an API_URL that is not http(s) was accepted")
	}
}
