// Package httpapi turns API Gateway HTTP API (payload v2) requests into
// intake submissions and results into answers: JSON, RFC 9457 problem+json,
// or, for plain HTML form posts, a redirect or a small HTML page. It also
// bridges net/http to the same handler for the local gateway.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/store"
)

// ProblemBase is where problem types are documented (docs/problems.md).
const ProblemBase = "https://github.com/kehu-dev/kehu/blob/main/docs/problems.md#"

// Problem is an RFC 9457 problem detail. Nothing in it repeats a submitted value.
type Problem struct {
	Type           string                `json:"type"`
	Title          string                `json:"title"`
	Status         int                   `json:"status"`
	Detail         string                `json:"detail,omitempty"`
	Errors         []customer.FieldError `json:"errors,omitempty"`
	MissingConsent []consent.Purpose     `json:"missing_consent,omitempty"`
	NotOffered     []consent.Purpose     `json:"consent_not_offered,omitempty"`

	retryAfter int
	reason     string // short outcome for logs and metrics
}

func problem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: ProblemBase + slug, Title: title, Status: status, Detail: detail, reason: slug}
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// Reason is the problem's short name, used in logs and metrics.
func (p *Problem) Reason() string { return p.reason }

// Problems a request can meet before it reaches the pipeline.
func tooLarge(limit int) *Problem {
	return problem(http.StatusRequestEntityTooLarge, "too-large", "Request body too large",
		"The body is larger than the limit of "+strconv.Itoa(limit)+" bytes.")
}

func unsupportedType() *Problem {
	return problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
		"Send application/json, application/x-www-form-urlencoded or multipart/form-data.")
}

func malformed(detail string) *Problem {
	return problem(http.StatusBadRequest, "malformed", "Malformed request", detail)
}

// retryAfter is 1 to 4 seconds, at random: clients that failed together
// must not all retry in the same second.
func retryAfter() int { return 1 + rand.IntN(4) }

// FromError is the one place that maps errors to HTTP answers.
func FromError(err error) *Problem {
	var verr *intake.ValidationError
	var cerr *consent.Error
	var perr *Problem
	var incomplete *config.IncompleteError
	switch {
	case errors.As(err, &perr):
		return perr
	case errors.As(err, &verr):
		p := problem(http.StatusUnprocessableEntity, "validation", "Invalid fields",
			strconv.Itoa(len(verr.Problems))+" field(s) need attention; nothing was stored.")
		p.Errors = verr.Problems
		return p
	case errors.As(err, &cerr):
		slug, title := "consent-invalid", "Consent not valid for this form"
		if len(cerr.Missing) > 0 {
			slug, title = "consent-missing", "Required consent missing"
		}
		p := problem(http.StatusUnprocessableEntity, slug, title, cerr.Error()+"; nothing was stored.")
		p.MissingConsent, p.NotOffered = cerr.Missing, cerr.NotOffered
		return p
	case errors.Is(err, intake.ErrFormNotFound):
		return problem(http.StatusNotFound, "form-not-found", "Form not found", "There is no form with this id.")
	case errors.Is(err, intake.ErrBadIdempotencyKey):
		return problem(http.StatusBadRequest, "idempotency-key-invalid", "Invalid Idempotency-Key", intake.ErrBadIdempotencyKey.Error()+".")
	case errors.Is(err, intake.ErrIdempotencyMismatch):
		return problem(http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency-Key reused",
			"This Idempotency-Key was used for a different request.")
	case errors.Is(err, intake.ErrInFlight):
		return problem(http.StatusConflict, "idempotency-key-in-flight", "Request in progress",
			"A request with this Idempotency-Key is still being processed; retry later.")
	case errors.As(err, &incomplete):
		p := problem(http.StatusServiceUnavailable, "not-configured", "Not configured",
			"This function's configuration is incomplete; nothing was stored. Missing: "+strings.Join(incomplete.Missing, ", ")+".")
		p.retryAfter = retryAfter()
		return p
	case errors.Is(err, intake.ErrNotSetUp):
		p := problem(http.StatusServiceUnavailable, "not-configured", "Not configured",
			"The table has no blind index secret yet; nothing was stored. Missing: blind index secret.")
		p.retryAfter = retryAfter()
		return p
	case errors.Is(err, link.ErrNoSecret):
		p := problem(http.StatusServiceUnavailable, "not-configured", "Not configured",
			"The table has no link secret yet; nothing was stored. Missing: link secret.")
		p.retryAfter = retryAfter()
		return p
	case errors.Is(err, intake.ErrSubjectNotFound):
		return problem(http.StatusNotFound, "customer-not-found", "Customer not found",
			"The customer this link was made for no longer exists; nothing was stored.")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, envelope.ErrUnavailable), errors.Is(err, intake.ErrContention),
		errors.Is(err, context.DeadlineExceeded):
		p := problem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
			"A dependency is unavailable; nothing was stored. Retry after the indicated time.")
		p.retryAfter = retryAfter()
		return p
	default:
		return problem(http.StatusInternalServerError, "internal", "Internal error",
			"The submission could not be processed; nothing was stored.")
	}
}

// answerError is the problem an error is answered with, and its outcome
// for logs and metrics: refused (a 4xx) or failed (a 5xx), with the
// problem's reason.
func answerError(err error, refused, failed string) (p *Problem, outcome, reason string) {
	p = FromError(err)
	outcome = refused
	if p.Status >= 500 {
		outcome = failed
	}
	return p, outcome, p.Reason()
}

// logAnswer logs one answered request: "<what> answered" or "<what>
// refused" at Info, "<what> failed" (a 5xx, err set) at Error with the
// error's text (which never repeats a submitted value).
func logAnswer(ctx context.Context, log *slog.Logger, what string, start time.Time, err error, status int, attrs ...any) {
	attrs = append(attrs, "status", status, "duration_ms", time.Since(start).Milliseconds())
	switch {
	case status >= 500:
		msg := "no error given"
		if err != nil {
			msg = err.Error()
		}
		log.ErrorContext(ctx, what+" failed", append(attrs, "err", msg)...)
	case err != nil:
		log.InfoContext(ctx, what+" refused", attrs...)
	default:
		log.InfoContext(ctx, what+" answered", attrs...)
	}
}
