package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/store"
)

// formsOnly is a table that has no forms and counts how often it is asked.
type formsOnly struct {
	intake.Store
	reads int
}

func (f *formsOnly) Form(context.Context, string) (*form.Definition, error) {
	f.reads++
	return nil, store.ErrNotFound
}

// A path's form id is the client's: a valid-looking one (a phone number)
// that names no form is never logged, and unknown ids are cached, so a
// client cannot make every request read the table.
func TestUnknownFormIDsNotLoggedAndCached(t *testing.T) {
	st := &formsOnly{}
	svc := intake.New(st, nil, nil, "t")
	var logs bytes.Buffer
	h := &FormIntake{Service: svc, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: metrics.New(&logs, "form-intake"), MaxBody: 1 << 16}
	req := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"formId": "13800138000"},
		Headers: map[string]string{"content-type": "application/json"}, Body: `{}`}
	req.RequestContext.HTTP.Method = "POST"
	for i := 0; i < 3; i++ {
		resp, err := h.Handle(context.Background(), req)
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("answer %d %v", resp.StatusCode, err)
		}
	}
	if strings.Contains(logs.String(), "13800138000") {
		t.Fatalf("the form id reached the logs:\n%s", logs.String())
	}
	if st.reads != 1 {
		t.Fatalf("the table was asked %d times for one unknown form", st.reads)
	}
	svc.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	_, _ = h.Handle(context.Background(), req)
	if st.reads != 2 {
		t.Fatalf("an unknown form was cached past FormTTL (%d reads)", st.reads)
	}
}
