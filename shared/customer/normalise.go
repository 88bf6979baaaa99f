package customer

import (
	"errors"
	"math/big"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// DefaultRegion is the region a phone number without a country code is read in.
const DefaultRegion = "CN"

// Problem codes, stable for API clients.
const (
	CodeRequired    = "required"
	CodeTooLong     = "too_long"
	CodeInvalidUTF8 = "invalid_utf8"
	CodeControl     = "control_characters"
	CodeEmail       = "invalid_email"
	CodePhone       = "invalid_phone"
	CodeDate        = "invalid_date"
	CodeNumber      = "invalid_number"
	CodeChoice      = "not_an_option"
	CodeUnknown     = "unknown_field"
	CodeMultiple    = "multiple_values"
	CodeOneOf       = "one_of_required"
)

var emailProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true), idna.StrictDomainName(true), idna.VerifyDNSLength(true))

var fold = cases.Fold()

// Normalise checks raw against the spec and returns its canonical form, or a
// FieldError whose detail does not repeat the value. options apply to
// KindChoice only. now is used for dates in the future.
func Normalise(spec Spec, raw string, options []string, now time.Time) (string, *FieldError) {
	fail := func(code, detail string) (string, *FieldError) {
		return "", &FieldError{Field: spec.Name, Code: code, Detail: detail}
	}
	if !utf8.ValidString(raw) {
		return fail(CodeInvalidUTF8, "is not valid UTF-8")
	}
	v := norm.NFC.String(raw)
	if spec.Kind == KindLongText {
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
		v = strings.TrimSpace(v)
	} else {
		v = strings.Join(strings.Fields(v), " ")
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(spec.Kind == KindLongText && (r == '\n' || r == '\t')) {
			return fail(CodeControl, "contains control characters")
		}
	}
	if v == "" {
		return fail(CodeRequired, "is empty")
	}
	if n := utf8.RuneCountInString(v); spec.MaxLen > 0 && n > spec.MaxLen {
		return fail(CodeTooLong, "is longer than the limit of "+itoa(spec.MaxLen)+" characters")
	}
	switch spec.Kind {
	case KindEmail:
		e, err := NormaliseEmail(v)
		if err != nil {
			return fail(CodeEmail, "must be a single email address such as name@example.com")
		}
		return e, nil
	case KindPhone:
		p, err := NormalisePhone(v, DefaultRegion)
		if err != nil {
			return fail(CodePhone, "must be a valid phone number (without a country code it is read as a number in "+DefaultRegion+")")
		}
		return p, nil
	case KindDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return fail(CodeDate, "must be a date written as YYYY-MM-DD")
		}
		if d.After(now) || d.Year() < 1900 {
			return fail(CodeDate, "must be a date between 1900-01-01 and today")
		}
		return d.Format(time.DateOnly), nil
	case KindNumber:
		r, ok := new(big.Rat).SetString(v)
		if !ok || strings.ContainsAny(v, "/eE") {
			return fail(CodeNumber, "must be a decimal number")
		}
		return r.FloatString(decimals(v)), nil
	case KindChoice:
		for _, o := range options {
			if v == o {
				return v, nil
			}
		}
		return fail(CodeChoice, "must be one of the form's options")
	}
	return v, nil
}

// NormaliseEmail returns the canonical form of an email address: the local
// part case-folded, the domain as lower-case ASCII (IDNA lookup profile).
func NormaliseEmail(s string) (string, error) {
	s = norm.NFC.String(strings.TrimSpace(s))
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", errors.New("not a bare email address")
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 || strings.ContainsAny(local, "\"\\ ") {
		return "", errors.New("bad local part")
	}
	ascii, err := emailProfile.ToASCII(domain)
	if err != nil || !strings.Contains(ascii, ".") {
		return "", errors.New("bad domain")
	}
	out := fold.String(local) + "@" + strings.ToLower(ascii)
	if len(out) > 254 {
		return "", errors.New("too long")
	}
	return out, nil
}

// NormalisePhone parses a phone number, read in region when it has no
// country code, and returns it in E.164.
func NormalisePhone(s, region string) (string, error) {
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", err
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", errors.New("not a valid number")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// AgeOn returns the whole years between birthday (YYYY-MM-DD) and now.
func AgeOn(birthday string, now time.Time) (int, bool) {
	b, err := time.Parse(time.DateOnly, birthday)
	if err != nil {
		return 0, false
	}
	age := now.Year() - b.Year()
	if now.Month() < b.Month() || (now.Month() == b.Month() && now.Day() < b.Day()) {
		age--
	}
	return age, true
}

func decimals(v string) int {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		return len(v) - i - 1
	}
	return 0
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }
