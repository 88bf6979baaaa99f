package stacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/sender"
)

// Surveys wires the survey function as it runs in Lambda, with its own
// credentials (kehu-survey); now is its clock.
func (s *Stack) Surveys(t testing.TB, now func() time.Time) *httpapi.SurveyPages {
	t.Helper()
	d, err := httpapi.WireSurveys(t.Context(), s.Config, s.AWS(t, "kehu-survey"))
	if err != nil {
		t.Fatal(err)
	}
	d.Service.Now = now
	return &httpapi.SurveyPages{Deps: d, Log: slog.New(slog.NewJSONHandler(testWriter{t}, nil)), Metrics: metrics.New(io.Discard, "survey-intake"),
		MaxBody: s.Config.MaxBodyBytes, Now: now}
}

// Sender wires the survey sender as it runs in Lambda, with its own
// credentials (kehu-sender), sending to the stack's Mailpit; now is its clock.
func (s *Stack) Sender(t testing.TB, now func() time.Time) *sender.Sender {
	t.Helper()
	set := sender.Defaults()
	set.PublicURL = "https://kehu.test"
	snd, err := sender.Wire(t.Context(), s.Config, s.AWS(t, "kehu-sender"), set, mail.SMTP{Addr: SMTPAddr(t)},
		slog.New(slog.NewJSONHandler(testWriter{t}, nil)), metrics.New(io.Discard, "survey-sender"))
	if err != nil {
		t.Fatal(err)
	}
	snd.Now = now
	return snd
}

// SMTPAddr is the stack's Mailpit SMTP address.
func SMTPAddr(t testing.TB) string {
	a := os.Getenv("KEHU_SMTP_ADDR")
	if a == "" {
		t.Skip("needs the local stack's Mailpit (make test sets KEHU_SMTP_ADDR)")
	}
	return a
}

// Email is one message as Mailpit's API shows it.
type Email struct {
	ID      string
	Subject string
	Text    string
	HTML    string
	Headers map[string][]string
}

// Emails returns the messages Mailpit holds for an address, newest first.
func Emails(t testing.TB, to string) []Email {
	t.Helper()
	base := os.Getenv("KEHU_MAILPIT_URL")
	if base == "" {
		t.Skip("needs the local stack's Mailpit (make test sets KEHU_MAILPIT_URL)")
	}
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	getJSON(t, base+"/api/v1/search?query="+url.QueryEscape("to:"+to), &list)
	var out []Email
	for _, m := range list.Messages {
		var msg struct {
			Subject, Text, HTML string
		}
		getJSON(t, base+"/api/v1/message/"+m.ID, &msg)
		var headers map[string][]string
		getJSON(t, base+"/api/v1/message/"+m.ID+"/headers", &headers)
		out = append(out, Email{ID: m.ID, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, Headers: headers})
	}
	return out
}

func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(fmt.Errorf("GET %s: %w", u, err))
	}
}

// Privacy wires the privacy function as it runs in Lambda, with its own
// credentials (kehu-privacy), emailing through the stack's Mailpit; now is
// its clock.
func (s *Stack) Privacy(t testing.TB, now func() time.Time) *httpapi.PrivacyPages {
	t.Helper()
	set := sender.Defaults()
	set.PublicURL = "https://kehu.test"
	d, err := httpapi.WirePrivacy(t.Context(), s.Config, s.AWS(t, "kehu-privacy"), set, mail.SMTP{Addr: SMTPAddr(t)},
		slog.New(slog.NewJSONHandler(testWriter{t}, nil)), "local:kehu-privacy")
	if err != nil {
		t.Fatal(err)
	}
	d.Sender.Now, d.Reader.Now, d.Eraser.Now = now, now, now
	return &httpapi.PrivacyPages{Deps: d, Log: slog.New(slog.NewJSONHandler(testWriter{t}, nil)), Metrics: metrics.New(io.Discard, "privacy"),
		MaxBody: s.Config.MaxBodyBytes, Now: now}
}
