package stacktest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Survey tools' API credentials of the local sources (local/sources).
const (
	SurveyMonkeyToken = "sm-local-access-token"
	QualtricsToken    = "qualtrics-local-api-token"
)

// SurveyAPI serves the survey tools' documented response shapes from
// shared/webhook/testdata — SurveyMonkey's GET
// /v3/surveys/{survey}/responses/{response}/details (Bearer token) and
// Qualtrics' GET /API/v3/surveys/{survey}/responses/{response}
// (X-API-TOKEN) — for the responses the fixtures name; anything else is
// 401 or 404, as the tools answer. It returns the base URL (for
// webhook.Directory.SurveyAPIBaseURL) and counts the requests served.
func SurveyAPI(t testing.TB) (string, *int) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(root(t), "shared/webhook/testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	details, qualtrics := read("surveymonkey-response-details.json"), read("qualtrics-response.json")
	served := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v3/"):
			if r.Header.Get("Authorization") != "Bearer "+SurveyMonkeyToken {
				http.Error(w, `{"error":{"id":"1011","name":"Authorization Error","docs":"…","message":"The authorization token was not provided."}}`, http.StatusUnauthorized)
				return
			}
			if r.URL.Path != "/v3/surveys/405768925/responses/5007154325/details" || r.URL.Query().Get("simple") != "true" {
				http.Error(w, `{"error":{"id":"1020","name":"Resource Not Found"}}`, http.StatusNotFound)
				return
			}
			served++
			_, _ = w.Write(details)
		case strings.HasPrefix(r.URL.Path, "/API/v3/"):
			if r.Header.Get("X-API-TOKEN") != QualtricsToken {
				http.Error(w, `{"meta":{"httpStatus":"401 - Unauthorized","error":{"errorMessage":"Invalid API token"}}}`, http.StatusUnauthorized)
				return
			}
			if r.URL.Path != "/API/v3/surveys/SV_3KSkTO8zy4aaB7g/responses/R_1dGCs8XYAyxmm3P" {
				http.Error(w, `{"meta":{"httpStatus":"404 - Not Found"}}`, http.StatusNotFound)
				return
			}
			served++
			_, _ = w.Write(qualtrics)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &served
}

// root is the repository's root, found from the working directory up.
func root(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
