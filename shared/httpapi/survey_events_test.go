package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/metrics"
)

// The customer the fixtures' links name, and the secret they are signed
// with (bytes 0..31, as in shared/link's vectors).
const fixtureCustomer = "4f7d6a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"

// Every file under events/survey-intake is replayed here, in this order.
var surveyFixtures = []struct {
	file    string
	status  int
	problem string
	check   func(t *testing.T, st *stacktest.Stack, r events.APIGatewayV2HTTPResponse)
}{
	{"survey-page.json", 200, "", func(t *testing.T, _ *stacktest.Stack, r events.APIGatewayV2HTTPResponse) {
		if !strings.Contains(r.Body, `name="email"`) || !strings.Contains(r.Body, `value="confirm"`) {
			t.Errorf("not the survey form: %s", r.Body)
		}
	}},
	{"survey-confirm.json", 303, "", func(t *testing.T, st *stacktest.Stack, r events.APIGatewayV2HTTPResponse) {
		p, err := st.Store.Profile(context.Background(), fixtureCustomer)
		if err != nil || p.ConfirmedAt == nil || !p.Consent[consent.Marketing].Granted {
			t.Errorf("after the confirmation: %+v %v", p, err)
		}
	}},
	{"survey-page.json", 410, "link-used", nil}, // the same link again
	{"unsubscribe-one-click.json", 200, "", func(t *testing.T, st *stacktest.Stack, r events.APIGatewayV2HTTPResponse) {
		p, _ := st.Store.Profile(context.Background(), fixtureCustomer)
		if p == nil || p.Consent[consent.Contact].Granted {
			t.Error("contact still granted after the one-click withdrawal")
		}
	}},
	{"confirm-tampered.json", 403, "link-invalid", nil},
}

func TestSurveyEventsReplayed(t *testing.T) {
	st := stacktest.New(t)
	ctx := context.Background()
	files, _ := filepath.Glob("../../events/survey-intake/*.json")
	for _, f := range files {
		found := false
		for _, fx := range surveyFixtures {
			found = found || fx.file == filepath.Base(f)
		}
		if !found {
			t.Errorf("%s is read by no test: add it to surveyFixtures", f)
		}
	}
	// The customer, made with the fixtures' id.
	svc, _ := st.Intake(t)
	svc.NewID = func() string { return fixtureCustomer }
	def, _ := svc.Form(ctx, "contact")
	if _, err := svc.Submit(ctx, def, intake.Submission{Fields: map[string][]string{"name": {"Chen Jing"}, "email": {stacktest.Unique("fx") + "@example.com"}},
		Consent: consent.Grant{Purposes: []consent.Purpose{consent.Processing, consent.Contact}, Notice: "contact-v1"}}); err != nil {
		t.Fatal(err)
	}
	pages := st.Surveys(t, time.Now)
	secret := make([]byte, link.SecretSize)
	for i := range secret {
		secret[i] = byte(i)
	}
	keys, err := link.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	pages.Deps.Keys = keys
	pages.Metrics = metrics.New(io.Discard, "survey-intake")
	pages.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, fx := range surveyFixtures {
		t.Run(fx.file, func(t *testing.T) {
			ev := loadEvent(t, "../../events/survey-intake/"+fx.file)
			if _, ok := httpapi.SurveyRoutes[ev.RouteKey]; !ok {
				t.Fatalf("route %s is not the survey function's", ev.RouteKey)
			}
			r, err := pages.Handle(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if r.StatusCode != fx.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, fx.status, r.Body)
			}
			if fx.problem != "" && !strings.Contains(r.Body, "#"+fx.problem) && !strings.Contains(r.Body, problemTitle(fx.problem)) {
				t.Errorf("page does not name %s: %s", fx.problem, r.Body)
			}
			if fx.check != nil {
				fx.check(t, st, r)
			}
		})
	}
}

func problemTitle(slug string) string {
	return map[string]string{"link-used": "Link already used", "link-invalid": "Link not valid"}[slug]
}
