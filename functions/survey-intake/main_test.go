package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/config"
)

// A cold start without configuration does not crash: a person following a
// link gets a 503 page naming what is missing, before any AWS call.
func TestMissingConfigurationAnswers503(t *testing.T) {
	h := handler(slog.New(slog.NewTextHandler(io.Discard, nil)), func(string) string { return "" })
	req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/surveys/{surveyId}", PathParameters: map[string]string{"surveyId": "update"},
		QueryStringParameters: map[string]string{"t": "k1.x.y"}}
	req.RequestContext.HTTP.Method = "GET"
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		t.Fatalf("answer %d %v", resp.StatusCode, resp.Headers)
	}
	for _, v := range config.Required {
		if !strings.Contains(resp.Body, v) {
			t.Errorf("the page does not name %s", v)
		}
	}
	if resp.Headers["Referrer-Policy"] != "no-referrer" {
		t.Error("an error page lets the token leave as a referrer")
	}
}
