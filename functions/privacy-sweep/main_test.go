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

	"github.com/kehu-dev/kehu/shared/segment"
)

type fakeEraser struct {
	runs int
	err  error
}

func (f *fakeEraser) RunDueErasures(context.Context) (int, error) { f.runs++; return 1, f.err }

func (f *fakeEraser) RunRetention(context.Context, segment.Thresholds) (int, int, error) {
	f.runs++
	return 0, 0, nil
}

// The scheduled event runs the due erasures once; a failure is the
// invocation's (the Errors alarm).
func TestScheduledEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/privacy-sweep/schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || ev.DetailType != "Scheduled Event" {
		t.Fatalf("%+v %v", ev, err)
	}
	f := &fakeEraser{}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if err := handle(f, segment.Defaults(), log)(context.Background(), ev); err != nil || f.runs != 2 {
		t.Fatalf("%v %d", err, f.runs)
	}
	f.err, f.runs = errors.New("table unavailable"), 0
	if err := handle(f, segment.Defaults(), log)(context.Background(), ev); err == nil || f.runs != 2 {
		t.Fatalf("a failed sweep: %v, %d runs (retention must run whatever the erasures' failures)", err, f.runs)
	}
	if err := run(context.Background(), log, func(string) string { return "" }); err == nil {
		t.Fatal("started without TABLE_NAME")
	}
}
