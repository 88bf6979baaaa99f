// Package consent decides whether a submission carries the consent its form
// needs, and describes the ledger entries that record every grant and
// withdrawal. Consent fails closed: anything not granted is missing.
package consent

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Purpose is something a person consents to.
type Purpose string

const (
	Processing Purpose = "processing" // store and use the data for the form's stated purpose
	Contact    Purpose = "contact"    // be contacted about the request
	Marketing  Purpose = "marketing"  // receive marketing
	Profiling  Purpose = "profiling"  // be put in segments for analysis
	Sensitive  Purpose = "sensitive"  // separate consent for sensitive data (PIPL Art. 29)
	Guardian   Purpose = "guardian"   // a guardian's consent for a child under 14 (PIPL Art. 31)
)

// Known lists every purpose kehu understands.
var Known = []Purpose{Processing, Contact, Marketing, Profiling, Sensitive, Guardian}

// Unrecognised stands in for a granted "purpose" kehu does not know: what a
// client sends there could be anything, personal data included, and errors
// never repeat it.
const Unrecognised Purpose = "(unrecognised purpose)"

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool { return slices.Contains(Known, p) }

// Basis is the legal basis of processing (PIPL Art. 13, GDPR Art. 6).
type Basis string

const (
	// BasisConsent: the person's consent, purpose by purpose (the default).
	BasisConsent Basis = "consent"
	// BasisServiceRequest: necessary to answer the person's own request,
	// such as a chat they started (PIPL Art. 13(2)).
	BasisServiceRequest Basis = "service-request"
	// BasisContract: necessary to perform a contract with the person, such
	// as an order (PIPL Art. 13(2)).
	BasisContract Basis = "contract"
)

// Valid reports whether b is a known basis.
func (b Basis) Valid() bool {
	return b == BasisConsent || b == BasisServiceRequest || b == BasisContract
}

// Grant is what a submission says the person consented to.
type Grant struct {
	Purposes []Purpose
	Notice   string // version of the privacy notice the person saw
}

// Requirement is what a form or source needs and may ask for.
type Requirement struct {
	Basis    Basis // "" is BasisConsent
	Required []Purpose
	Optional []Purpose
	Notices  []string // notice versions accepted
}

// Needs says what else the data itself demands beyond the form's own needs.
type Needs struct {
	Sensitive bool // restricted-tier fields are present
	Child     bool // the person is a child under 14
}

// Sentinel errors; a *Error wraps one of them.
var (
	ErrMissing = errors.New("required consent missing")
	ErrInvalid = errors.New("consent not valid for this form")
)

// Error says what is wrong with a grant, naming purposes and never personal data.
type Error struct {
	Missing    []Purpose // required but not granted
	NotOffered []Purpose // granted but not something this form asks for
	Notice     string    // "" when fine; otherwise why the notice is not accepted
}

func (e *Error) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("missing consent for %s", join(e.Missing)))
	}
	if len(e.NotOffered) > 0 {
		parts = append(parts, fmt.Sprintf("consent to %s is not asked for by this form", join(e.NotOffered)))
	}
	if e.Notice != "" {
		parts = append(parts, e.Notice)
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is find ErrMissing or ErrInvalid.
func (e *Error) Unwrap() error {
	if len(e.Missing) > 0 {
		return ErrMissing
	}
	return ErrInvalid
}

// Check returns the purposes granted (deduplicated, sorted) or an *Error.
// It fails closed: a required purpose that is not granted is missing, and
// restricted fields or a child's data add their own required purposes.
func Check(g Grant, r Requirement, n Needs) ([]Purpose, error) {
	required := slices.Clone(r.Required)
	if r.Basis != "" && r.Basis != BasisConsent {
		// Processing rests on another basis; every other purpose still
		// needs its own consent, and never follows from the basis.
		required = slices.DeleteFunc(required, func(p Purpose) bool { return p == Processing })
	}
	if n.Sensitive {
		required = append(required, Sensitive)
	}
	if n.Child {
		required = append(required, Guardian, Sensitive)
	}
	granted := dedupe(g.Purposes)
	e := &Error{}
	for _, p := range dedupe(required) {
		if !slices.Contains(granted, p) {
			e.Missing = append(e.Missing, p)
		}
	}
	for _, p := range granted {
		if !p.Valid() {
			if !slices.Contains(e.NotOffered, Unrecognised) {
				e.NotOffered = append(e.NotOffered, Unrecognised)
			}
			continue
		}
		if !slices.Contains(r.Required, p) && !slices.Contains(r.Optional, p) && !slices.Contains(required, p) {
			e.NotOffered = append(e.NotOffered, p)
		}
	}
	switch {
	case g.Notice == "":
		e.Notice = "the notice version the person saw is missing"
	case !slices.Contains(r.Notices, g.Notice):
		e.Notice = "the notice version is not one this form accepts"
	}
	if len(e.Missing) > 0 || len(e.NotOffered) > 0 || e.Notice != "" {
		return nil, e
	}
	return granted, nil
}

// Action is what a ledger entry records.
type Action string

const (
	Granted   Action = "grant"
	Withdrawn Action = "withdraw"
)

// State is the current state of one purpose on a profile. The ledger entry
// made at At holds the channel, form and proof.
type State struct {
	Granted bool      `dynamodbav:"granted" json:"granted"`
	Notice  string    `dynamodbav:"notice" json:"notice"`
	At      time.Time `dynamodbav:"at,unixtime" json:"at"`
	// Trust of the submission that recorded it (customer.Trust): an
	// anonymous grant never overwrites what the customer or a trusted
	// system recorded.
	Trust string `dynamodbav:"trust,omitempty" json:"trust,omitempty"`
}

func dedupe(ps []Purpose) []Purpose {
	out := slices.Clone(ps)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return slices.Compact(out)
}

func join(ps []Purpose) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
