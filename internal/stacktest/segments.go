package stacktest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/internal/streams"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
)

// Segmenter runs the segmenter on the test table's stream (NewStreamed)
// until the test ends, the way `make run` does; now is its clock.
func (s *Stack) Segmenter(t testing.TB, now func() time.Time) *segmenter.Handler {
	t.Helper()
	cfg := s.AWS(t, "kehu-admin")
	h := &segmenter.Handler{Store: s.Store, Thresholds: segment.Defaults(), Now: now,
		Log: slog.New(slog.NewJSONHandler(testWriter{t}, nil)), Metrics: metrics.New(io.Discard, "segmenter")}
	ctx, cancel := context.WithCancel(context.Background())
	r := &streams.Runner{Streams: streams.NewClient(cfg), DB: config.DynamoDB(cfg), Table: s.Table, Handler: h.Handle,
		Filter: segmenter.IsProfileChange, Poll: 50 * time.Millisecond, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// testWriter sends a component's log lines to the test's log (shown when
// it fails).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
