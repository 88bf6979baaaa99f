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
	env := map[string]string{config.EnvTable: "t", config.EnvConfidentialKey: "c", config.EnvRestrictedKey: "r", config.EnvBlindIndexKey: "b"}
	for _, tc := range []struct {
		name    string
		getenv  func(string) string
		missing []string
	}{
		{"nothing set", func(string) string { return "" }, config.WebhookRequired},
		{"no secrets key", func(k string) string { return env[k] }, []string{config.EnvSecretsKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := handler(slog.New(slog.NewTextHandler(io.Discard, nil)), tc.getenv)
			req := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"sourceId": "web-chat"}, Body: `{}`}
			req.RequestContext.HTTP.Method = "POST"
			resp, err := h.Handle(context.Background(), req)
			if err != nil || resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
				t.Fatalf("%d %v %v", resp.StatusCode, resp.Headers, err)
			}
			var p struct{ Type, Detail string }
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || !strings.HasSuffix(p.Type, "#not-configured") {
				t.Fatalf("problem %s: %v", resp.Body, err)
			}
			for _, v := range tc.missing {
				if !strings.Contains(p.Detail, v) {
					t.Errorf("detail %q does not name %s", p.Detail, v)
				}
			}
		})
	}
}
