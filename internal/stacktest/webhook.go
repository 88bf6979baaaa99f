package stacktest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/source"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// Webhook wires the webhook function as it runs in Lambda, with the
// webhook credentials; logs and metrics go to w (io.Discard when nil),
// the verification clock is now.
func (s *Stack) Webhook(t testing.TB, w io.Writer, now func() time.Time) (*httpapi.WebhookIntake, *intake.Service) {
	t.Helper()
	if w == nil {
		w = io.Discard
	}
	cfg := s.AWS(t, "kehu-webhook")
	svc, _, err := intake.Wire(t.Context(), s.Config, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(config.DynamoDB(cfg), s.Table)
	return &httpapi.WebhookIntake{Service: svc, Sources: &source.Cache{Store: st, KMS: config.KMS(cfg)}, Directory: &webhook.Directory{},
		Log: slog.New(slog.NewJSONHandler(w, nil)), Metrics: metrics.New(w, "webhook-intake"), MaxBody: 1 << 20, Now: now}, svc
}
