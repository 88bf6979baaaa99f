package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/privacy"
)

// A cold start without configuration does not crash: a person following
// the privacy link gets a 503 page naming what is missing.
func TestMissingConfigurationAnswers503(t *testing.T) {
	h := handler(slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" })
	req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/privacy", QueryStringParameters: map[string]string{"t": "k1.x.y"}}
	req.RequestContext.HTTP.Method = "GET"
	resp, err := h.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 503 || resp.Headers["Referrer-Policy"] != "no-referrer" {
		t.Fatalf("answer %d %v %v", resp.StatusCode, resp.Headers, err)
	}
	for _, v := range privacy.Required {
		if !strings.Contains(resp.Body, v) {
			t.Errorf("the page does not name %s", v)
		}
	}
}
