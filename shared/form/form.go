// Package form holds form definitions: which catalogue fields a form
// carries, which are required, what consent it needs, and where a browser
// goes afterwards. Check turns a submission's raw fields into normalised
// values with one problem per bad field.
package form

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
)

// Definition is one form, as stored in the table and managed by `kehu forms put`.
type Definition struct {
	ID               string           `json:"id"`
	Title            string           `json:"title,omitempty"`
	Channel          string           `json:"channel,omitempty"` // default "web-form"
	Basis            consent.Basis    `json:"basis,omitempty"`   // legal basis; default "consent"
	Fields           []Field          `json:"fields"`
	RequireOneOf     [][]string       `json:"require_one_of,omitempty"`
	Consent          ConsentSpec      `json:"consent"`
	AllowedOrigins   []string         `json:"allowed_origins,omitempty"`
	RedirectURL      string           `json:"redirect_url,omitempty"`
	Honeypot         string           `json:"honeypot,omitempty"`
	IdempotencyField string           `json:"idempotency_field,omitempty"`
	ReviewAfterDays  int              `json:"review_after_days,omitempty"`
	index            map[string]Field `json:"-"`
}

// Field is one field of a form. Kind and Tier are optional and, when given,
// must agree with the catalogue: a form cannot re-classify a field.
type Field struct {
	Name     string        `json:"name"`
	Required bool          `json:"required,omitempty"`
	Kind     customer.Kind `json:"type,omitempty"`
	Tier     customer.Tier `json:"tier,omitempty"`
	Options  []string      `json:"options,omitempty"`
	Label    string        `json:"label,omitempty"`
}

// ConsentSpec is the consent a form needs and may ask for.
type ConsentSpec struct {
	Required []consent.Purpose `json:"required"`
	Optional []consent.Purpose `json:"optional,omitempty"`
	Notices  []string          `json:"notices"`
}

// Requirement returns the spec as a consent.Requirement.
func (c ConsentSpec) Requirement() consent.Requirement {
	return consent.Requirement{Required: c.Required, Optional: c.Optional, Notices: c.Notices}
}

// ErrInvalidDefinition wraps every problem Parse finds in a definition.
var ErrInvalidDefinition = errors.New("invalid form definition")

var formID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID reports whether id can name a form.
func ValidID(id string) bool { return formID.MatchString(id) }

// Parse reads and checks a definition. Unknown JSON keys are errors.
func Parse(data []byte) (*Definition, error) {
	return parse(data, nil)
}

// ParseSurvey reads and checks an update survey's definition: a form whose
// fields are the ones a customer is asked to confirm or correct (none
// required: "confirm as is" sends none), answered only through a signed
// link, so it has no origins, redirect, honeypot or idempotency field. Its
// channel defaults to "update-survey" and its basis to "service-request" (the
// person's own correction of their data, PIPL Art. 46).
func ParseSurvey(data []byte) (*Definition, error) {
	return parse(data, func(d *Definition) []string {
		var probs []string
		if d.Channel == "" {
			d.Channel = "update-survey"
		}
		if d.Basis == "" {
			d.Basis = consent.BasisServiceRequest
		}
		for _, f := range d.Fields {
			if f.Required {
				probs = append(probs, fmt.Sprintf("survey field %q cannot be required: confirming as is sends no value", f.Name))
			}
		}
		if len(d.RequireOneOf) > 0 || len(d.AllowedOrigins) > 0 || d.RedirectURL != "" || d.Honeypot != "" || d.IdempotencyField != "" {
			probs = append(probs, "a survey is answered through its signed link only: no require_one_of, allowed_origins, redirect_url, honeypot or idempotency_field")
		}
		return probs
	})
}

func parse(data []byte, extra func(*Definition) []string) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDefinition, err)
	}
	var probs []string
	if extra != nil {
		probs = extra(&d)
	}
	if err := d.init(); err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidDefinition, strings.Join(probs, "; "))
	}
	return &d, nil
}

func (d *Definition) init() error {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	if !ValidID(d.ID) {
		bad("id must be lower-case letters, digits and dashes")
	}
	if d.Channel == "" {
		d.Channel = "web-form"
	}
	if !ValidID(d.Channel) {
		bad("channel must be lower-case letters, digits and dashes")
	}
	if d.Basis == "" {
		d.Basis = consent.BasisConsent
	}
	if !d.Basis.Valid() {
		bad("basis must be one of consent, service-request, contract")
	}
	if len(d.Fields) == 0 {
		bad("a form needs at least one field")
	}
	d.index = make(map[string]Field, len(d.Fields))
	hasRestricted := false
	for i, f := range d.Fields {
		spec, ok := customer.Lookup(f.Name)
		switch {
		case !ok:
			bad("field %q is not in the catalogue", f.Name)
			continue
		case f.Kind != "" && f.Kind != spec.Kind && !(f.Kind == customer.KindChoice && spec.Kind == customer.KindText):
			bad("field %q has type %s in the catalogue, not %s", f.Name, spec.Kind, f.Kind)
		case f.Tier != "" && f.Tier != spec.Tier:
			bad("field %q is %s in the catalogue, not %s", f.Name, spec.Tier, f.Tier)
		case f.Kind == customer.KindChoice && len(f.Options) == 0:
			bad("field %q is a choice without options", f.Name)
		}
		if _, dup := d.index[f.Name]; dup {
			bad("field %q is listed twice", f.Name)
		}
		if f.Kind == "" {
			f.Kind = spec.Kind
		}
		f.Tier = spec.Tier
		hasRestricted = hasRestricted || spec.Tier == customer.Restricted
		d.Fields[i] = f
		d.index[f.Name] = f
	}
	for _, group := range d.RequireOneOf {
		if len(group) == 0 {
			bad("require_one_of has an empty group: name at least one field in each")
		}
		for _, name := range group {
			if _, ok := d.index[name]; !ok {
				bad("require_one_of names %q, which the form does not carry", name)
			}
		}
	}
	if d.Basis == consent.BasisConsent {
		if len(d.Consent.Required) == 0 {
			bad("consent.required must name at least one purpose (consent fails closed)")
		}
		if !slices.Contains(d.Consent.Required, consent.Processing) {
			bad("consent.required must include %q when the basis is consent", consent.Processing)
		}
	}
	for _, p := range append(slices.Clone(d.Consent.Required), d.Consent.Optional...) {
		if !p.Valid() {
			bad("unknown consent purpose %q", p)
		}
	}
	if hasRestricted && !slices.Contains(d.Consent.Required, consent.Sensitive) && !slices.Contains(d.Consent.Optional, consent.Sensitive) {
		bad("a form with restricted fields must ask for %q consent", consent.Sensitive)
	}
	if len(d.Consent.Notices) == 0 {
		bad("consent.notices must list the accepted notice versions")
	}
	for _, o := range d.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" {
			bad("allowed origin %q must be scheme://host[:port]", o)
		}
	}
	if d.RedirectURL != "" {
		if u, err := url.Parse(d.RedirectURL); err != nil || !u.IsAbs() {
			bad("redirect_url must be an absolute URL")
		}
	}
	for _, special := range []string{d.Honeypot, d.IdempotencyField} {
		if special == "" {
			continue
		}
		if !customer.ValidName(special) {
			bad("%q is not a valid field name", special)
		}
		if _, clash := d.index[special]; clash {
			bad("%q is both a data field and a special field", special)
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidDefinition, strings.Join(probs, "; "))
	}
	return nil
}

// Field returns the form's field of that name.
func (d *Definition) Field(name string) (Field, bool) {
	f, ok := d.index[name]
	return f, ok
}

// Value is one normalised field value with its tier.
type Value struct {
	Name  string
	Tier  customer.Tier
	Value string
}

// Check validates and normalises raw fields (the honeypot and idempotency
// fields already removed). It returns values in form order, or every
// problem found: one entry per bad field.
func (d *Definition) Check(raw map[string][]string, now time.Time) ([]Value, []customer.FieldError) {
	var probs []customer.FieldError
	for name := range raw {
		if _, ok := d.index[name]; !ok {
			probs = append(probs, customer.FieldError{Field: customer.SafeName(name), Code: customer.CodeUnknown, Detail: "is not a field of this form"})
		}
	}
	var out []Value
	for _, f := range d.Fields {
		vals, present := raw[f.Name]
		if len(vals) > 1 {
			probs = append(probs, customer.FieldError{Field: f.Name, Code: customer.CodeMultiple, Detail: "was given more than once"})
			continue
		}
		if !present || customer.Blank(vals[0]) {
			if f.Required {
				probs = append(probs, customer.FieldError{Field: f.Name, Code: customer.CodeRequired, Detail: "is required"})
			}
			continue
		}
		spec, _ := customer.Lookup(f.Name)
		spec.Kind = f.Kind
		v, perr := customer.Normalise(spec, vals[0], f.Options, now)
		if perr != nil {
			probs = append(probs, *perr)
			continue
		}
		out = append(out, Value{Name: f.Name, Tier: spec.Tier, Value: v})
	}
	for _, group := range d.RequireOneOf {
		if !anyPresent(raw, group) {
			probs = append(probs, customer.FieldError{Field: group[0], Code: customer.CodeOneOf,
				Detail: "at least one of " + strings.Join(group, ", ") + " is required"})
		}
	}
	slices.SortStableFunc(probs, func(a, b customer.FieldError) int { return strings.Compare(a.Field, b.Field) })
	if len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

func anyPresent(raw map[string][]string, names []string) bool {
	for _, n := range names {
		if v := raw[n]; len(v) > 0 && !customer.Blank(v[0]) {
			return true
		}
	}
	return false
}
