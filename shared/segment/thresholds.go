package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidThresholds is returned, wrapped with the reason, for a
// thresholds document or value that cannot be used.
var ErrInvalidThresholds = errors.New("invalid segment thresholds")

// MaxDays bounds the lifecycle day counts (about 100 years).
const MaxDays = 36525

// maxDecimalLen bounds a decimal string, so that no input makes the exact
// arithmetic expensive.
const maxDecimalLen = 100

// Amount is an exact decimal amount in the deployment's base currency, a
// decimal string such as "100000" or "1999.99" (see the package comment for
// the grammar). In JSON it is written as a string; a JSON number (100000,
// 1999.99) is accepted too and kept digit for digit, never through floating
// point.
type Amount string

// UnmarshalJSON accepts a JSON string or a decimal JSON number; null
// leaves the amount unchanged.
func (a *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Amount(s)
	default:
		*a = Amount(b)
	}
	if _, ok := parseDecimal(string(*a)); !ok {
		return fmt.Errorf("amount %q is not a decimal", string(*a))
	}
	return nil
}

// Thresholds are the tunable numbers of the rules. The zero value is not
// usable; start from Defaults or ParseThresholds.
type Thresholds struct {
	// ValueA is the least 12-month trade total of value class A.
	// Default "100000".
	ValueA Amount `json:"value_a"`
	// ValueB is the least 12-month trade total of value class B.
	// Default "20000".
	ValueB Amount `json:"value_b"`
	// ValueC is the least 12-month trade total of value class C; a customer
	// who has ordered and is below it is class D. Default "2000".
	ValueC Amount `json:"value_c"`

	// NewWithinDays: a customer whose first order is less than this many
	// days old is lifecycle:new. Default 90.
	NewWithinDays int `json:"new_within_days"`
	// ActiveWithinDays: a customer (not new) whose last order is less than
	// this many days old is lifecycle:active, from then on at-risk.
	// Default 180.
	ActiveWithinDays int `json:"active_within_days"`
	// LapsedAfterDays: a customer whose last order is at least this many
	// days old is lifecycle:lapsed. Default 365.
	LapsedAfterDays int `json:"lapsed_after_days"`

	// CompletenessHigh is the least share of ExpectedFields present for
	// completeness:high. Default 0.8.
	CompletenessHigh float64 `json:"completeness_high"`
	// CompletenessMedium is the least share of ExpectedFields present for
	// completeness:medium; below it is completeness:low. Default 0.5.
	CompletenessMedium float64 `json:"completeness_medium"`
	// ExpectedFields are the catalogue fields, identifier kinds and
	// general-tier attributes a complete profile has. Default name, email,
	// phone, company, region, industry, customer_type, company_nature.
	ExpectedFields []string `json:"expected_fields"`

	// RetentionDays is how long each consent purpose is kept after the
	// customer's last activity (a submission, an answer, an order) — and,
	// for processing, the customer's data at all (as long as the customer
	// is active, plus this). Defaults: processing 1095 (3 years),
	// marketing 730, contact 730, profiling 730, sensitive 1095, guardian
	// 1095. A customer past any of them is in retention-lapsed; the privacy
	// sweep withdraws what lapsed, and erases a customer whose processing
	// did.
	RetentionDays map[string]int `json:"retention_days"`
	// NoPurposeGraceDays: a customer whose processing rests on consent
	// alone and who has withdrawn every consent lapses this many days
	// after the later of that last withdrawal and their last activity (so
	// a mistaken click can be undone by granting again): they are in
	// retention-lapsed and the privacy sweep erases them. Default 7, the
	// cooling-off of a self-service erasure.
	NoPurposeGraceDays int `json:"no_purpose_grace_days"`
}

// RetentionPurposes are the purposes RetentionDays may name (the consent
// purposes; this package knows them by name only).
var RetentionPurposes = []string{"processing", "contact", "marketing", "profiling", "sensitive", "guardian"}

// Defaults returns the documented default thresholds (a fresh copy each
// call).
func Defaults() Thresholds {
	return Thresholds{
		ValueA:             "100000",
		ValueB:             "20000",
		ValueC:             "2000",
		NewWithinDays:      90,
		ActiveWithinDays:   180,
		LapsedAfterDays:    365,
		CompletenessHigh:   0.8,
		CompletenessMedium: 0.5,
		ExpectedFields: []string{
			"name", "email", "phone", "company",
			"region", "industry", "customer_type", "company_nature",
		},
		RetentionDays:      map[string]int{"processing": 1095, "marketing": 730, "contact": 730, "profiling": 730, "sensitive": 1095, "guardian": 1095},
		NoPurposeGraceDays: 7,
	}
}

// ParseThresholds reads a JSON object of thresholds. Members that are
// missing keep their defaults; an unknown member (names are matched
// exactly, case included), a value of the wrong type, trailing data or
// thresholds that fail Validate are errors wrapping ErrInvalidThresholds.
func ParseThresholds(doc []byte) (Thresholds, error) {
	t := Defaults()
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Thresholds{}, fmt.Errorf("%w: not a JSON object", ErrInvalidThresholds)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &members); err != nil {
		return Thresholds{}, fmt.Errorf("%w: %w", ErrInvalidThresholds, err)
	}
	known := jsonNames()
	for name := range members {
		if !known[name] {
			return Thresholds{}, fmt.Errorf("%w: unknown member %q", ErrInvalidThresholds, name)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Thresholds{}, fmt.Errorf("%w: %w", ErrInvalidThresholds, err)
	}
	if err := t.Validate(); err != nil {
		return Thresholds{}, err
	}
	return t, nil
}

// jsonNames is the set of member names of Thresholds' JSON form.
func jsonNames() map[string]bool {
	names := map[string]bool{}
	rt := reflect.TypeFor[Thresholds]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	return names
}

// Validate reports, wrapping ErrInvalidThresholds, the first way t cannot
// be used: amounts must be decimals with ValueA > ValueB > ValueC > 0;
// day counts 0 < NewWithinDays < ActiveWithinDays < LapsedAfterDays ≤
// MaxDays; completeness bands 0 < CompletenessMedium < CompletenessHigh ≤ 1;
// ExpectedFields non-empty, without blank or repeated names; RetentionDays
// naming processing and only RetentionPurposes, each 1 to MaxDays;
// NoPurposeGraceDays 1 to MaxDays.
func (t Thresholds) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidThresholds}, args...)...)
	}
	var amounts [3]*big.Rat
	for i, f := range []struct {
		name string
		v    Amount
	}{{"value_a", t.ValueA}, {"value_b", t.ValueB}, {"value_c", t.ValueC}} {
		r, ok := parseDecimal(string(f.v))
		if !ok {
			return bad("%s %q is not a decimal", f.name, string(f.v))
		}
		amounts[i] = r
	}
	if amounts[0].Cmp(amounts[1]) <= 0 || amounts[1].Cmp(amounts[2]) <= 0 || amounts[2].Sign() <= 0 {
		return bad("value classes must satisfy value_a > value_b > value_c > 0 (have %s, %s, %s)",
			string(t.ValueA), string(t.ValueB), string(t.ValueC))
	}
	if t.NewWithinDays <= 0 || t.ActiveWithinDays <= t.NewWithinDays ||
		t.LapsedAfterDays <= t.ActiveWithinDays || t.LapsedAfterDays > MaxDays {
		return bad("day bands must satisfy 0 < new_within_days < active_within_days < lapsed_after_days <= %d (have %d, %d, %d)",
			MaxDays, t.NewWithinDays, t.ActiveWithinDays, t.LapsedAfterDays)
	}
	if math.IsNaN(t.CompletenessMedium) || math.IsNaN(t.CompletenessHigh) ||
		!(0 < t.CompletenessMedium && t.CompletenessMedium < t.CompletenessHigh && t.CompletenessHigh <= 1) {
		return bad("completeness bands must satisfy 0 < completeness_medium < completeness_high <= 1 (have %v, %v)",
			t.CompletenessMedium, t.CompletenessHigh)
	}
	if len(t.ExpectedFields) == 0 {
		return bad("expected_fields is empty")
	}
	if _, ok := t.RetentionDays["processing"]; !ok {
		return bad("retention_days must name processing")
	}
	for _, purpose := range slices.Sorted(maps.Keys(t.RetentionDays)) {
		if !slices.Contains(RetentionPurposes, purpose) {
			return bad("retention_days names %q, not one of %v", purpose, RetentionPurposes)
		}
		if days := t.RetentionDays[purpose]; days <= 0 || days > MaxDays {
			return bad("retention_days %s must be 1 to %d (have %d)", purpose, MaxDays, days)
		}
	}
	if t.NoPurposeGraceDays <= 0 || t.NoPurposeGraceDays > MaxDays {
		return bad("no_purpose_grace_days must be 1 to %d (have %d)", MaxDays, t.NoPurposeGraceDays)
	}
	seen := map[string]bool{}
	for _, f := range t.ExpectedFields {
		if strings.TrimSpace(f) == "" {
			return bad("expected_fields has a blank name")
		}
		if seen[f] {
			return bad("expected_fields names %q twice", f)
		}
		seen[f] = true
	}
	return nil
}

// maxExponent bounds a decimal's exponent; DynamoDB's numbers stay within
// ±130.
const maxExponent = 400

// parseDecimal reads a plain decimal: an optional '-', one or more digits,
// optionally '.' and one or more digits, optionally 'e' or 'E', an optional
// sign and at most three digits of exponent no larger than maxExponent, in
// at most maxDecimalLen bytes. The exponent form is accepted because a
// datastore may write a number that way ("1.5E+5"); it is exact all the
// same.
func parseDecimal(s string) (*big.Rat, bool) {
	if len(s) == 0 || len(s) > maxDecimalLen {
		return nil, false
	}
	body := strings.TrimPrefix(s, "-")
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		exp := strings.TrimLeft(body[i+1:], "+-")
		if len(body[i+1:])-len(exp) > 1 || !allDigits(exp) || len(exp) > 3 {
			return nil, false
		}
		if e, err := strconv.Atoi(exp); err != nil || e > maxExponent {
			return nil, false
		}
		body = body[:i]
	}
	whole, frac, hasDot := strings.Cut(body, ".")
	if !allDigits(whole) || (hasDot && !allDigits(frac)) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
