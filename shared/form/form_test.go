package form

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/customer"
)

func demo(t *testing.T) *Definition {
	t.Helper()
	doc, err := os.ReadFile("../../local/forms/contact.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDemoForm(t *testing.T) {
	d := demo(t)
	if d.ID != "contact" || d.Honeypot != "website" || d.Channel != "web-form" {
		t.Fatalf("demo form: %+v", d)
	}
	f, ok := d.Field("email")
	if !ok || f.Tier != customer.Confidential || f.Kind != customer.KindEmail {
		t.Fatalf("email field: %+v", f)
	}
}

func TestParseRejects(t *testing.T) {
	base := `{"id":"f","fields":[{"name":"name"}],"consent":{"required":["processing"],"notices":["v1"]}}`
	cases := []struct {
		name, doc, want string
	}{
		{"unknown key", strings.Replace(base, `"id"`, `"colour":"red","id"`, 1), "unknown field"},
		{"bad id", strings.Replace(base, `"f"`, `"F F"`, 1), "id must be"},
		{"field not in catalogue", strings.Replace(base, `"name"}`, `"shoe_size"}`, 1), "not in the catalogue"},
		{"tier changed", strings.Replace(base, `"name"}`, `"name","tier":"general"}`, 1), "confidential in the catalogue"},
		{"type changed", strings.Replace(base, `"name"}`, `"name","type":"email"}`, 1), "type text"},
		{"no required consent", strings.Replace(base, `"required":["processing"],`, ``, 1), "fails closed"},
		{"unknown purpose", strings.Replace(base, `["processing"]`, `["processing","telepathy"]`, 1), "unknown consent purpose"},
		{"restricted without sensitive", strings.Replace(base, `"name"}`, `"national_id"}`, 1), `"sensitive"`},
		{"no notices", strings.Replace(base, `"notices":["v1"]`, `"notices":[]`, 1), "notices"},
		{"bad origin", strings.Replace(base, `"id"`, `"allowed_origins":["example.com/x"],"id"`, 1), "allowed origin"},
		{"honeypot clashes", strings.Replace(base, `"id"`, `"honeypot":"name","id"`, 1), "both a data field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if !errors.Is(err, ErrInvalidDefinition) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(base)); err != nil {
		t.Fatalf("the base document is valid: %v", err)
	}
}

func TestCheck(t *testing.T) {
	d := demo(t)
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	vals, probs := d.Check(map[string][]string{"name": {" 张伟 "}, "email": {"A@B.CN"}, "region": {"华东"}}, now)
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	got := map[string]string{}
	for _, v := range vals {
		got[v.Name] = v.Value + "/" + string(v.Tier)
	}
	if got["name"] != "张伟/confidential" || got["email"] != "A@b.cn/confidential" || got["region"] != "华东/general" {
		t.Fatalf("values %v", got)
	}

	_, probs = d.Check(map[string][]string{"name": {"x", "y"}, "extra": {"1"}, "company": {""}}, now)
	codes := map[string]string{}
	for _, p := range probs {
		codes[p.Field] = p.Code
	}
	want := map[string]string{"name": customer.CodeMultiple, "extra": customer.CodeUnknown, "email": customer.CodeOneOf}
	for f, c := range want {
		if codes[f] != c {
			t.Errorf("%s: code %q, want %q (all %v)", f, codes[f], c, codes)
		}
	}
	if len(probs) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(probs), len(want), probs)
	}
}

func TestDefinitionRules(t *testing.T) {
	cases := []struct {
		name, doc string
		ok        bool
	}{
		{"empty one-of group", `{"id":"f","fields":[{"name":"email"}],"require_one_of":[[]],"consent":{"required":["processing"],"notices":["n"]}}`, false},
		{"unknown basis", `{"id":"f","basis":"legitimate-interest","fields":[{"name":"email"}],"consent":{"required":["processing"],"notices":["n"]}}`, false},
		{"service request needs no processing consent", `{"id":"f","basis":"service-request","fields":[{"name":"email"}],"consent":{"optional":["contact"],"notices":["n"]}}`, true},
		{"consent basis needs processing", `{"id":"f","fields":[{"name":"email"}],"consent":{"required":["contact"],"notices":["n"]}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if (err == nil) != tc.ok {
				t.Fatalf("Parse: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
