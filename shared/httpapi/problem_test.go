package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/store"
)

// The one place that maps errors to answers.
func TestFromError(t *testing.T) {
	cases := []struct {
		err        error
		status     int
		slug       string
		retryAfter bool
	}{
		{&intake.ValidationError{Problems: []customer.FieldError{{Field: "email", Code: "invalid_email"}}}, 422, "validation", false},
		{&consent.Error{Missing: []consent.Purpose{consent.Processing}}, 422, "consent-missing", false},
		{&consent.Error{Notice: "bad"}, 422, "consent-invalid", false},
		{fmt.Errorf("wrapped: %w", intake.ErrFormNotFound), 404, "form-not-found", false},
		{intake.ErrIdempotencyMismatch, 422, "idempotency-key-reused", false},
		{intake.ErrInFlight, 409, "idempotency-key-in-flight", false},
		{intake.ErrBadIdempotencyKey, 400, "idempotency-key-invalid", false},
		{fmt.Errorf("commit: %w", errors.Join(store.ErrUnavailable, errors.New("throttled"))), 503, "unavailable", true},
		{fmt.Errorf("seal: %w", errors.Join(envelope.ErrUnavailable, errors.New("dial"))), 503, "unavailable", true},
		{intake.ErrContention, 503, "unavailable", true},
		{fmt.Errorf("lookup: %w", context.DeadlineExceeded), 503, "unavailable", true},
		{&config.IncompleteError{Missing: []string{"TABLE_NAME"}}, 503, "not-configured", true},
		{fmt.Errorf("wire: %w", intake.ErrNotSetUp), 503, "not-configured", true},
		{intake.ErrSubjectNotFound, 404, "customer-not-found", false},
		{fmt.Errorf("seal: %w", envelope.ErrDenied), 500, "internal", false},
		{errors.New("anything else"), 500, "internal", false},
	}
	for _, tc := range cases {
		t.Run(tc.slug+"/"+tc.err.Error(), func(t *testing.T) {
			p := FromError(tc.err)
			if p.Status != tc.status || p.Type != ProblemBase+tc.slug || (p.retryAfter > 0) != tc.retryAfter {
				t.Fatalf("got %d %s retry-after %d", p.Status, p.Type, p.retryAfter)
			}
			if tc.status == 500 && p.Detail != "The submission could not be processed; nothing was stored." {
				t.Fatalf("a 500 leaks detail: %q", p.Detail)
			}
		})
	}
}

// Clients that failed together are told to come back at different times.
func TestRetryAfterJitter(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 200; i++ {
		p := FromError(store.ErrUnavailable)
		if p.retryAfter < 1 || p.retryAfter > 4 {
			t.Fatalf("Retry-After %d", p.retryAfter)
		}
		seen[p.retryAfter] = true
	}
	if len(seen) < 3 {
		t.Fatalf("Retry-After took only %v in 200 answers", seen)
	}
}

// A 5xx answered without an error (a page that failed to render) is
// logged as failed, not a crash.
func TestLogAnswerWithoutError(t *testing.T) {
	var buf bytes.Buffer
	logAnswer(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)), "link", time.Now(), nil, 500, "route", "GET /x")
	if !strings.Contains(buf.String(), `"msg":"link failed"`) || !strings.Contains(buf.String(), `"status":500`) {
		t.Fatalf("log: %s", buf.String())
	}
}
