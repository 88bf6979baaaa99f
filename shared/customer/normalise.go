package customer

import (
	"errors"
	"math/big"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// DefaultRegion is the region a phone number without a country code is read in.
const DefaultRegion = "CN"

// Problem codes, stable for API clients.
const (
	CodeRequired     = "required"
	CodeTooLong      = "too_long"
	CodeInvalidUTF8  = "invalid_utf8"
	CodeControl      = "control_characters"
	CodeInvalidChars = "invalid_characters"
	CodeEmail        = "invalid_email"
	CodePhone        = "invalid_phone"
	CodeDate         = "invalid_date"
	CodeNumber       = "invalid_number"
	CodeChoice       = "not_an_option"
	CodeUnknown      = "unknown_field"
	CodeMultiple     = "multiple_values"
	CodeOneOf        = "one_of_required"
)

// The text policy (docs/text-policy.md) decides, for every character, by its
// Unicode general category and a few properties, whether a field of a given
// kind refuses it, removes it or keeps it. No kind stores a control
// character (but the tab and line feed of long text), a private-use,
// surrogate, unassigned or noncharacter code point, or a value made only of
// invisible characters. Identifiers (email, phone) refuse every invisible
// character; free text removes them, keeping the two joiners and variation
// selectors only where they can join or select something.

// class is what the policy sees of one character.
type class uint8

const (
	cVisible   class = iota // L, N, P, S (default-ignorable ones excepted)
	cMark                   // M: combining marks
	cSpace                  // Zs
	cLineSep                // Zl, Zp
	cTab                    // U+0009
	cLF                     // U+000A
	cCR                     // U+000D
	cJoiner                 // U+200C ZWNJ, U+200D ZWJ
	cVariation              // variation selectors
	cIgnorable              // other Cf and default-ignorable code points: invisible
	cControl                // Cc other than tab, LF and CR
	cInvalid                // Co, Cs, Cn (unassigned and noncharacters)
)

const (
	zwnj = '\u200C'
	zwj  = '\u200D'
	cgj  = '\u034F' // what NFC inserts after 30 combining marks (stream-safe format)
)

func classify(r rune) class {
	if r < utf8.RuneSelf {
		switch {
		case r == '\t':
			return cTab
		case r == '\n':
			return cLF
		case r == '\r':
			return cCR
		case r == ' ':
			return cSpace
		case r < 0x20 || r == 0x7f:
			return cControl
		}
		return cVisible
	}
	switch {
	case r == zwnj || r == zwj:
		return cJoiner
	case unicode.Is(unicode.Cc, r):
		return cControl
	case unicode.In(r, unicode.Co, unicode.Cs, unicode.Cn):
		return cInvalid
	case unicode.Is(unicode.Variation_Selector, r):
		return cVariation
	case unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point):
		// Cf: bidi controls, zero-width space, word joiner, BOM, soft
		// hyphen, tag characters, … Other_Default_Ignorable_Code_Point
		// that is assigned: the Hangul fillers (letters that draw nothing),
		// the combining grapheme joiner and two Khmer inherent vowels.
		return cIgnorable
	case unicode.Is(unicode.Zs, r):
		return cSpace
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return cLineSep
	case unicode.Is(unicode.M, r):
		return cMark
	}
	return cVisible // L, N, P, S: every category is covered above
}

// Blank reports whether s has no visible character: a letter, number,
// punctuation mark or symbol that is not default-ignorable. Such a value
// counts as empty: Normalise answers CodeRequired for it, and a form treats
// it as absent. A value Normalise would refuse for its characters (invalid
// UTF-8, a control, private-use or unassigned character) is not blank.
func Blank(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch classify(r) {
		case cVisible, cControl, cInvalid:
			return false
		}
	}
	return true
}

var emailProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true), idna.StrictDomainName(true), idna.VerifyDNSLength(true))

var fold = cases.Fold()

var decimalNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Normalise checks raw against the spec and returns its canonical form, or a
// FieldError whose detail does not repeat the value. options apply to
// KindChoice only. now is used for dates in the future. The policy for each
// kind is in docs/text-policy.md.
func Normalise(spec Spec, raw string, options []string, now time.Time) (string, *FieldError) {
	fail := func(code, detail string) (string, *FieldError) {
		return "", &FieldError{Field: spec.Name, Code: code, Detail: detail}
	}
	if !utf8.ValidString(raw) {
		return fail(CodeInvalidUTF8, "is not valid UTF-8")
	}
	var v, code string
	switch spec.Kind {
	case KindText, KindChoice:
		v, code = cleanText(raw, false)
	case KindLongText:
		v, code = cleanText(raw, true)
	default:
		v, code = cleanIdentifier(raw)
	}
	switch code {
	case "":
	case CodeControl:
		return fail(code, "contains control characters")
	case CodeInvalidChars:
		return fail(code, "contains characters that are not allowed (private-use, unassigned or noncharacter code points, or too many combining marks on one character)")
	case CodeRequired:
		return fail(code, "is empty or has no visible characters")
	default:
		return fail(code, "is not valid")
	}
	if n := utf8.RuneCountInString(v); spec.MaxLen > 0 && n > spec.MaxLen {
		return fail(CodeTooLong, "is longer than the limit of "+itoa(spec.MaxLen)+" characters")
	}
	switch spec.Kind {
	case KindEmail:
		e, err := NormaliseEmail(v)
		if err != nil {
			return fail(CodeEmail, "must be a single email address such as name@example.com, without spaces or invisible characters")
		}
		v = e
	case KindPhone:
		p, err := NormalisePhone(v, DefaultRegion)
		if err != nil {
			return fail(CodePhone, "must be a valid phone number of digits, spaces and + - ( ) . / only (without a country code it is read as a number in "+DefaultRegion+")")
		}
		v = p
	case KindDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return fail(CodeDate, "must be a date written as YYYY-MM-DD")
		}
		if d.After(now) || d.Year() < 1900 {
			return fail(CodeDate, "must be a date between 1900-01-01 and today")
		}
		v = d.Format(time.DateOnly)
	case KindNumber:
		n, ok := normaliseNumber(v)
		if !ok {
			return fail(CodeNumber, "must be a decimal number written with the digits 0-9, an optional leading minus and an optional decimal point, such as -1234.50")
		}
		v = n
	case KindChoice:
		match := false
		for _, o := range options {
			if c, code := cleanText(o, false); code == "" && c == v {
				match = true
				break
			}
		}
		if !match {
			return fail(CodeChoice, "must be one of the form's options")
		}
	}
	if n := utf8.RuneCountInString(v); spec.MaxLen > 0 && n > spec.MaxLen {
		return fail(CodeTooLong, "is longer than the limit of "+itoa(spec.MaxLen)+" characters")
	}
	return v, nil
}

// cleanIdentifier is the first step for identifiers, dates and numbers:
// characters no kind accepts are refused, surrounding white space is
// trimmed and the value is put in NFC. Nothing inside is removed: each
// kind's own rule refuses what it does not accept.
func cleanIdentifier(s string) (string, string) {
	for _, r := range s {
		switch classify(r) {
		case cControl:
			return "", CodeControl
		case cInvalid:
			return "", CodeInvalidChars
		}
	}
	if Blank(s) {
		return "", CodeRequired
	}
	s = norm.NFC.String(strings.TrimSpace(s))
	if strings.ContainsRune(s, cgj) {
		return "", CodeInvalidChars
	}
	return s, ""
}

// cleanText applies the free-text policy to one line of text (long false)
// or to long text. It returns the cleaned value in NFC, or a problem code.
func cleanText(s string, long bool) (string, string) {
	s = norm.NFC.String(s)
	// Pass 1: refuse, remove, convert one character at a time.
	runes := make([]rune, 0, len(s))
	classes := make([]class, 0, len(s))
	for i, r := range s {
		c := classify(r)
		switch c {
		case cControl:
			return "", CodeControl
		case cInvalid:
			return "", CodeInvalidChars
		case cIgnorable:
			continue
		case cCR:
			if long && i+1 < len(s) && s[i+1] == '\n' {
				continue // CR LF is one line break
			}
			r, c = '\n', cLF
		case cLineSep:
			r, c = '\n', cLF
		case cSpace:
			r = ' '
		}
		if !long && (c == cTab || c == cLF) {
			r, c = ' ', cSpace
		}
		runes = append(runes, r)
		classes = append(classes, c)
	}
	// Pass 2: context. A variation selector stays only directly after a
	// visible character (one per character: a run of them can carry hidden
	// data). A joiner stays only between a visible character or mark and a
	// visible character or mark. White space is trimmed, and collapsed to
	// one space in one-line text.
	out := make([]rune, 0, len(runes))
	last := cSpace // what out ends with; cSpace at the start trims leading space
	visible := false
	for i, r := range runes {
		c := classes[i]
		switch c {
		case cVariation:
			if last != cVisible {
				continue
			}
		case cJoiner:
			if last != cVisible && last != cMark && last != cVariation {
				continue
			}
			if i+1 >= len(runes) || (classes[i+1] != cVisible && classes[i+1] != cMark) {
				continue
			}
		case cSpace, cTab, cLF:
			if len(out) == 0 || (!long && last == cSpace) {
				continue
			}
		case cVisible:
			visible = true
		}
		out = append(out, r)
		last = c
	}
	for len(out) > 0 && (out[len(out)-1] == ' ' || out[len(out)-1] == '\t' || out[len(out)-1] == '\n') {
		out = out[:len(out)-1]
	}
	if !visible {
		return "", CodeRequired
	}
	v := norm.NFC.String(string(out))
	// Combining marks were kept, and there were none of the removed CGJ
	// left: a CGJ now means NFC had to break a run of more than 30
	// combining marks on one character (UAX #15 stream-safe format).
	if strings.ContainsRune(v, cgj) {
		return "", CodeInvalidChars
	}
	return v, ""
}

// NormaliseEmail returns the stored form of an email address: what the
// person typed, in NFC with surrounding white space trimmed, its domain
// IDNA-mapped to lower-case ASCII. The local part keeps its case: two
// addresses that differ only in case are matched with EmailMatchKey.
//
// The local part may hold letters, combining marks, numbers, the RFC 5322
// atext symbols ! # $ % & ' * + - / = ? ^ _ ` { | } ~ and dots (not first,
// last or doubled); no quoted strings, white space, invisible or format
// characters (joiners, bidi controls, soft hyphens, tags, variation
// selectors) anywhere in the address.
func NormaliseEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	s = norm.NFC.String(strings.TrimSpace(s))
	for _, r := range s {
		if c := classify(r); c != cVisible && c != cMark {
			return "", errors.New("white space, control, invisible or invalid character")
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", errors.New("no @")
	}
	local, domain := s[:at], s[at+1:]
	if err := checkLocalPart(local); err != nil {
		return "", err
	}
	ascii, err := emailProfile.ToASCII(domain)
	if err != nil || !strings.Contains(ascii, ".") {
		return "", errors.New("bad domain")
	}
	out := local + "@" + strings.ToLower(ascii)
	if len(out) > 254 {
		return "", errors.New("too long")
	}
	if addr, err := mail.ParseAddress(out); err != nil || addr.Name != "" || addr.Address != out {
		return "", errors.New("not a bare email address")
	}
	return out, nil
}

const atextSymbols = "!#$%&'*+-/=?^_`{|}~"

func checkLocalPart(local string) error {
	if local == "" || len(local) > 64 {
		return errors.New("local part empty or longer than 64 bytes")
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return errors.New("misplaced dot in local part")
	}
	prev := rune(-1)
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf:
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || strings.ContainsRune(atextSymbols, r)) {
				return errors.New("character not allowed in local part")
			}
		case unicode.Is(unicode.M, r):
			// A mark combines with the letter or number before it.
			if prev < 0 || !unicode.In(prev, unicode.L, unicode.M, unicode.N) {
				return errors.New("combining mark without a letter")
			}
		case unicode.In(r, unicode.L, unicode.N):
		default:
			return errors.New("character not allowed in local part")
		}
		prev = r
	}
	return nil
}

// EmailMatchKey returns the form of a normalised email address (the output
// of NormaliseEmail) that identifies the mailbox for matching, which the
// blind index hashes: the local part case-folded (Unicode full case
// folding, canonical caseless matching: NFD, fold, NFC), the domain as
// stored (lower-case ASCII). Straße@example.com and STRASSE@example.com
// have the same key, strasse@example.com. It is never stored or shown.
func EmailMatchKey(normalised string) string {
	at := strings.LastIndexByte(normalised, '@')
	if at < 0 {
		return foldCanonical(normalised)
	}
	return foldCanonical(normalised[:at]) + "@" + strings.ToLower(normalised[at+1:])
}

func foldCanonical(s string) string {
	return norm.NFC.String(fold.String(norm.NFD.String(s)))
}

// NormalisePhone parses a phone number, read in region when it has no
// country code, and returns it in E.164. It accepts ASCII and full-width
// digits, spaces, a leading +, and - ( ) . / as separators; anything else,
// letters included (no keypad letters), is refused.
func NormalisePhone(s, region string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		if p := width.LookupRune(r); p.Kind() == width.EastAsianFullwidth && p.Narrow() != 0 {
			r = p.Narrow() // １２３ → 123, ＋ → +, （）－ → ()-, U+3000 → space
		}
		switch {
		case '0' <= r && r <= '9', r == '-', r == '(', r == ')', r == '.', r == '/':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || unicode.Is(unicode.Zs, r):
			b.WriteByte(' ')
		default:
			return "", errors.New("character not allowed in a phone number")
		}
	}
	n, err := phonenumbers.Parse(b.String(), region)
	if err != nil {
		return "", errors.New("not a phone number")
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", errors.New("not a valid number")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// normaliseNumber accepts -?[0-9]+(\.[0-9]+)? only and drops redundant
// leading zeros and the sign of zero; the decimals given are kept.
func normaliseNumber(v string) (string, bool) {
	if !decimalNumber.MatchString(v) {
		return "", false
	}
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	whole, frac, hasFrac := strings.Cut(v, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	out := whole
	if hasFrac {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, true
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

func itoa(n int) string { return big.NewInt(int64(n)).String() }
