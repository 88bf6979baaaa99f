package stacktest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
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
	h := httpapi.NewWebhookIntake(s.Config, slog.New(slog.NewJSONHandler(w, nil)), metrics.New(w, "webhook-intake"))
	h.Service, h.Now = svc, now
	h.ReadSourcesWith(s.Config, cfg)
	return h, svc
}
