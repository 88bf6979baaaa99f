package samtemplate

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every problem type the handler can answer is documented in
// docs/problems.md, and every status it can answer is in the OpenAPI file.
func TestDocsInStep(t *testing.T) {
	problems, err := os.ReadFile("../../docs/problems.md")
	if err != nil {
		t.Fatal(err)
	}
	openapi, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../shared/httpapi/*.go")
	call := regexp.MustCompile(`problem\((http\.Status\w+|\d{3}),\s*"([a-z-]+)"`)
	statuses := map[string]int{"StatusBadRequest": 400, "StatusUnauthorized": 401, "StatusForbidden": 403, "StatusNotFound": 404, "StatusMethodNotAllowed": 405,
		"StatusConflict": 409, "StatusGone": 410, "StatusRequestEntityTooLarge": 413, "StatusUnsupportedMediaType": 415,
		"StatusUnprocessableEntity": 422, "StatusInternalServerError": 500, "StatusServiceUnavailable": 503}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			found++
			slug := m[2]
			if !strings.Contains(string(problems), `<a id="`+slug+`"></a>`) {
				t.Errorf("problem type %q is not documented in docs/problems.md", slug)
			}
			code, ok := statuses[strings.TrimPrefix(m[1], "http.")]
			if !ok {
				var err error
				if code, err = strconv.Atoi(m[1]); err != nil {
					t.Errorf("problem %q: add %s to this test's statuses", slug, m[1])
					continue
				}
			}
			if code != 405 && code != 500 && !strings.Contains(string(openapi), `"`+strconv.Itoa(code)+`":`) {
				t.Errorf("status %d (%s) is not in docs/openapi.yaml", code, slug)
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d problem types in shared/httpapi", found)
	}
	for _, route := range []string{"/v1/forms/{formId}/submissions:", "/v1/webhooks/{sourceId}:", "/v1/surveys/{surveyId}:",
		"/v1/surveys/{surveyId}/responses:", "/v1/confirm:", "/v1/unsubscribe:", "List-Unsubscribe=One-Click", "post:", "options:", "Idempotency-Key", "Idempotent-Replayed", "Retry-After"} {
		if !strings.Contains(string(openapi), route) {
			t.Errorf("docs/openapi.yaml lacks %s", route)
		}
	}
}
