package segment

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultsValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	d.ExpectedFields[0] = "changed"
	if Defaults().ExpectedFields[0] != "name" {
		t.Error("Defaults shares its ExpectedFields between calls")
	}
}

// The documented thresholds document (also in the package comment) is the
// defaults, and the defaults survive a JSON round trip.
func TestThresholdsFixtureIsDefaults(t *testing.T) {
	doc, err := os.ReadFile("testdata/thresholds.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseThresholds(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Defaults()) {
		t.Errorf("fixture %+v, want defaults %+v", got, Defaults())
	}
	out, err := json.Marshal(Defaults())
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseThresholds(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, Defaults()) {
		t.Errorf("round trip %s gave %+v", out, back)
	}
}

func TestParseThresholds(t *testing.T) {
	with := func(change func(*Thresholds)) Thresholds {
		th := Defaults()
		change(&th)
		return th
	}
	tests := []struct {
		name string
		doc  string
		want Thresholds
	}{
		{"empty object keeps every default", `{}`, Defaults()},
		{"one member changed, others kept", `{"value_a": "150000"}`, with(func(t *Thresholds) { t.ValueA = "150000" })},
		{"amount as a plain JSON number, kept digit for digit", `{"value_c": 2500.10}`, with(func(t *Thresholds) { t.ValueC = "2500.10" })},
		{"amount in exponent form", `{"value_a": 1.5E+5}`, with(func(t *Thresholds) { t.ValueA = "1.5E+5" })},
		{"null amount keeps the default", `{"value_b": null}`, Defaults()},
		{"day bands", `{"new_within_days": 30, "active_within_days": 60, "lapsed_after_days": 120}`,
			with(func(t *Thresholds) { t.NewWithinDays, t.ActiveWithinDays, t.LapsedAfterDays = 30, 60, 120 })},
		{"completeness bands", `{"completeness_high": 1, "completeness_medium": 0.25}`,
			with(func(t *Thresholds) { t.CompletenessHigh, t.CompletenessMedium = 1, 0.25 })},
		{"expected fields replaced, not merged", `{"expected_fields": ["email", "region"]}`,
			with(func(t *Thresholds) { t.ExpectedFields = []string{"email", "region"} })},
		{"surrounding whitespace", " \n{}\n ", Defaults()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseThresholds([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseThresholdsRefused(t *testing.T) {
	tests := []struct {
		name, doc, mention string
	}{
		{"unknown member", `{"value_d": "100"}`, `unknown member "value_d"`},
		{"member in another case", `{"VALUE_A": "100000"}`, `unknown member "VALUE_A"`},
		{"misspelt member", `{"new_days": 30}`, "unknown member"},
		{"not an object", `["value_a"]`, "not a JSON object"},
		{"null document", `null`, "not a JSON object"},
		{"empty document", ``, "not a JSON object"},
		{"trailing data", `{} {}`, "invalid character"},
		{"syntax error", `{"value_a": }`, "invalid character"},
		{"wrong type", `{"new_within_days": "90"}`, "cannot unmarshal"},
		{"fractional days", `{"new_within_days": 90.5}`, "cannot unmarshal"},
		{"amount with a huge exponent", `{"value_a": 1e500}`, "not a decimal"},
		{"amount with a leading plus", `{"value_a": "+100000"}`, "not a decimal"},
		{"amount with separators", `{"value_a": "100,000"}`, "not a decimal"},
		{"amount of another type", `{"value_a": true}`, "not a decimal"},
		{"A equal to B", `{"value_a": "20000.00"}`, "value_a > value_b"},
		{"B above A", `{"value_b": "200000"}`, "value_a > value_b"},
		{"C equal to B", `{"value_c": "20000"}`, "value_b > value_c"},
		{"C zero", `{"value_c": "0"}`, "value_c > 0"},
		{"C negative", `{"value_c": "-5"}`, "value_c > 0"},
		{"new days zero", `{"new_within_days": 0}`, "0 < new_within_days"},
		{"new days not below active", `{"new_within_days": 180}`, "new_within_days < active_within_days"},
		{"active days not below lapsed", `{"active_within_days": 365}`, "active_within_days < lapsed_after_days"},
		{"lapsed beyond a century", `{"lapsed_after_days": 40000}`, "lapsed_after_days <= 36525"},
		{"medium not below high", `{"completeness_medium": 0.8}`, "completeness_medium < completeness_high"},
		{"medium zero", `{"completeness_medium": 0}`, "0 < completeness_medium"},
		{"high above 1", `{"completeness_high": 1.2}`, "completeness_high <= 1"},
		{"expected fields empty", `{"expected_fields": []}`, "expected_fields is empty"},
		{"expected fields null", `{"expected_fields": null}`, "expected_fields is empty"},
		{"expected field blank", `{"expected_fields": ["email", " "]}`, "blank name"},
		{"expected field twice", `{"expected_fields": ["email", "email"]}`, `"email" twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseThresholds([]byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if !errors.Is(err, ErrInvalidThresholds) {
				t.Errorf("error %v does not wrap ErrInvalidThresholds", err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

// Evaluate does not panic on thresholds that were never validated.
func TestEvaluateUnvalidatedThresholds(t *testing.T) {
	p := customer(map[string]string{"2027-03": "500000"})
	p.Present = []string{"name"}
	segs, _ := Evaluate(p, now, Thresholds{})
	if got := only(segs, "value:"); len(got) != 1 || got[0] != ValueClassD {
		t.Errorf("unusable amounts: value %q, want never reached (D)", got)
	}
	if got := only(segs, "completeness:"); got != nil {
		t.Errorf("no expected fields: completeness %q, want none", got)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		want string // exact value as a fraction; "" means refused
	}{
		{"1234.50", "2469/2"},
		{"0", "0/1"},
		{"-0", "0/1"},
		{"-80.00", "-80/1"},
		{"99999.99", "9999999/100"},
		{"1.5E+5", "150000/1"},
		{"1e-2", "1/100"},
		{"25e3", "25000/1"},
		{"1e400", "1" + strings.Repeat("0", 400) + "/1"},
		{"1e401", ""},
		{"1e999", ""},
		{"1e0400", ""},
		{"1e", ""},
		{"1e+-5", ""},
		{"1e5.5", ""},
		{"1.", ""},
		{".5", ""},
		{"+5", ""},
		{"--5", ""},
		{"-", ""},
		{"", ""},
		{" 5", ""},
		{"5 ", ""},
		{"1,000", ""},
		{"1/3", ""},
		{"0x10", ""},
		{"Inf", ""},
		{"NaN", ""},
		{"١٢", ""}, // non-ASCII digits
		{strings.Repeat("9", 100), strings.Repeat("9", 100) + "/1"},
		{strings.Repeat("9", 101), ""},
	}
	for _, tc := range tests {
		r, ok := parseDecimal(tc.in)
		got := ""
		if ok {
			got = r.String()
		}
		if got != tc.want {
			t.Errorf("parseDecimal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
