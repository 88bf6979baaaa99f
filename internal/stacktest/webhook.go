package stacktest

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
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
	h := httpapi.NewWebhookIntake(s.Config, slog.New(slog.NewJSONHandler(w, nil)), metrics.New(w, "webhook-intake"))
	h.Service, h.Now = svc, now
	h.ReadSourcesWith(s.Config, cfg)
	return h, svc
}

// StandardEvent is a Standard Webhooks delivery to source, signed at at
// with secret ("whsec_…"), as API Gateway hands it to the function.
func StandardEvent(t testing.TB, source, secret, id, body string, at time.Time) events.APIGatewayV2HTTPRequest {
	t.Helper()
	key, err := webhook.StandardSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	ev := events.APIGatewayV2HTTPRequest{Body: body, PathParameters: map[string]string{"sourceId": source},
		Headers: map[string]string{"content-type": "application/json", "webhook-id": id, "webhook-timestamp": ts,
			"webhook-signature": webhook.StandardSign(key, id, ts, []byte(body))}}
	ev.RequestContext.HTTP.Method = "POST"
	return ev
}
