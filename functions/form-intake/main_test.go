package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/config"
)

// A cold start without configuration does not crash: every request is
// answered 503 problem+json naming what is missing, before any AWS call.
func TestMissingConfigurationAnswers503(t *testing.T) {
	h := handler(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" })
	req := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"formId": "contact"},
		Headers: map[string]string{"content-type": "application/json"}, Body: `{}`}
	req.RequestContext.HTTP.Method = "POST"
	for i := 0; i < 2; i++ {
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 || resp.Headers["Content-Type"] != "application/problem+json" || resp.Headers["Retry-After"] == "" {
			t.Fatalf("answer %d %v", resp.StatusCode, resp.Headers)
		}
		var p struct{ Type, Detail string }
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || !strings.HasSuffix(p.Type, "#not-configured") {
			t.Fatalf("problem %s: %v", resp.Body, err)
		}
		for _, v := range config.Required {
			if !strings.Contains(p.Detail, v) {
				t.Errorf("detail %q does not name %s", p.Detail, v)
			}
		}
	}
}
