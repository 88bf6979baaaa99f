package customer

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

var fuzzSpecs = []Spec{
	{Name: "name", Kind: KindText, MaxLen: 200},
	{Name: "message", Kind: KindLongText, MaxLen: 5000},
	{Name: "email", Kind: KindEmail, MaxLen: 254},
	{Name: "phone", Kind: KindPhone, MaxLen: 32},
	{Name: "birthday", Kind: KindDate, MaxLen: 10},
	{Name: "income", Kind: KindNumber, MaxLen: 20},
	{Name: "industry", Kind: KindChoice, MaxLen: 100},
	{Name: "region", Kind: KindText, MaxLen: 8},
}

// knownDetails is every problem detail Normalise gives, per field: details
// are fixed sentences, so none can repeat the value.
var knownDetails = sync.OnceValue(func() map[string]bool {
	inputs := []string{"\xff", "a\x00", "a\uE000", "a" + strings.Repeat("\u0301", 40), "", "\u200B", strings.Repeat("9", 5001),
		"x", "2999-01-01", "1800-01-01", "1e3", "@"}
	out := map[string]bool{}
	for _, spec := range fuzzSpecs {
		for _, in := range inputs {
			if _, perr := Normalise(spec, in, testOptions, now); perr != nil {
				out[spec.Name+" "+perr.Detail] = true
			}
		}
	}
	return out
})

var palette = []rune{
	'a', 'Z', 'é', 'e', '\u0301', '\u0308', '\u0345', 'ß', 'İ', 'ǰ', 'J', '\u030C', '张', '葛', 'م', 'ی', 'क', '\u094D', 'ष',
	'\u200C', '\u200D', '\uFE0F', '\uFE0E', '\U000E0100', '\u180B', '\u034F', '\u3164', '\u115F', '\u200B', '\u2060', '\uFEFF',
	'\u00AD', '\u202E', '\u2066', '\u2069', '\u200F', '\U000E0041', '\U000E007F', '\u0600', '😀', '❤', '🏴', '\U0001F3FB', '\u20E3',
	' ', '\t', '\n', '\r', '\u00A0', '\u3000', '\u2028', '\u2029', '\u202F', '\x00', '\x1b', '\u0085', '\uE000', '\u0378', '\uFFFF',
	'\uFFFD', '@', '.', '+', '-', '(', ')', '/', '_', '!', '"', '\\', '<', '0', '1', '3', '8', '９', '１', '＋', '－', '（', '٣', '½',
	'Ｏ', 'x', 'ｅ', '。', '例',
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// FuzzNormalise checks the text policy's invariants for every kind: no
// panic; an accepted value is valid UTF-8 and NFC, within MaxLen, holds no
// character the policy refuses or removes, is not blank and is a fixed
// point (normalising it again gives it back); a refused one has a detail
// that does not repeat it, and is "required" exactly when it is blank.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{
		"张伟", "  张   伟 ", "Jose\u0301", "a\x07b", "line one\r\nline two", "\u200B\u200C\u200D\u2060\uFEFF",
		"\u202Eabc\u2066d\u2069", "Zhang\U000E0041", "Mül\u00ADler", "\u3164", "می\u200Cخواهم", "👨\u200D👩\u200D👧",
		"❤\uFE0F\u200D🔥", "葛\U000E0100", "a\uFE0F\uFE0E", "a" + strings.Repeat("\u0301", 40), "e\u200B\u0301",
		"a\u2028b\u2029c", "a\u00A0\u3000b", "a\uE000", "a\u0378", "a\uFFFF", "\xff",
		"Zhang.Wei@Example.COM", "Straße@Example.com", "用户@例子.中国", "a@ｅｘａｍｐｌｅ.com", "a@exam\u00ADple.com",
		"138 0013 8000", "１３８００１３８０００", "158OO85OO63", "+44 20 7946 0958", "（０２１）６２３４－５６７８",
		"1990-03-07", "007", "-0012.50", "0x10", ".5", "retail", "Hong\u00A0Kong",
	} {
		for k := range fuzzSpecs {
			f.Add(uint8(k), s, []byte(nil))
		}
	}
	for k := range fuzzSpecs {
		f.Add(uint8(k), "", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
		f.Add(uint8(k), "a", []byte{30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47})
	}
	f.Fuzz(func(t *testing.T, k uint8, s string, picks []byte) {
		spec := fuzzSpecs[int(k)%len(fuzzSpecs)]
		// s as the fuzzer mutates it, then characters picked from a palette
		// of the ones the policy cares about, which byte mutation alone
		// rarely puts side by side.
		var b strings.Builder
		b.WriteString(s)
		for _, p := range picks {
			b.WriteRune(palette[int(p)%len(palette)])
		}
		in := b.String()
		out, perr := Normalise(spec, in, testOptions, now)
		if perr != nil {
			if perr.Field != spec.Name || perr.Code == "" || perr.Detail == "" {
				t.Fatalf("incomplete problem %+v", perr)
			}
			if !knownDetails()[spec.Name+" "+perr.Detail] {
				t.Fatalf("%+q: detail %q is not one of the fixed ones: it may depend on the value", in, perr.Detail)
			}
			if (perr.Code == CodeRequired) != Blank(in) {
				t.Fatalf("%+q: code %s but Blank = %v", in, perr.Code, Blank(in))
			}
			return
		}
		if Blank(in) {
			t.Fatalf("blank %+q accepted as %+q", in, out)
		}
		if !utf8.ValidString(out) || !norm.NFC.IsNormalString(out) {
			t.Fatalf("%+q: output %+q is not valid NFC", in, out)
		}
		if n := utf8.RuneCountInString(out); n > spec.MaxLen {
			t.Fatalf("%+q: output has %d characters, limit %d", in, n, spec.MaxLen)
		}
		if Blank(out) {
			t.Fatalf("%+q: output %+q is blank", in, out)
		}
		checkPolicy(t, spec.Kind, out)
		again, perr := Normalise(spec, out, testOptions, now)
		if perr != nil || again != out {
			t.Fatalf("%+q → %+q → %+q, %+v: not a fixed point", in, out, again, perr)
		}
		switch spec.Kind {
		case KindEmail:
			e, err := NormaliseEmail(out)
			if err != nil || e != out || EmailMatchKey(e) != EmailMatchKey(out) {
				t.Fatalf("%+q: NormaliseEmail gives %+q, %v", out, e, err)
			}
			if k := EmailMatchKey(out); k != EmailMatchKey(k) || !norm.NFC.IsNormalString(k) {
				t.Fatalf("%+q: match key %+q is not stable", out, k)
			}
		case KindPhone:
			if !e164.MatchString(out) {
				t.Fatalf("%+q: phone output %+q is not E.164", in, out)
			}
		}
	})
}

// checkPolicy checks an accepted value against the policy, written out
// again from the Unicode tables rather than with the code under test.
func checkPolicy(t *testing.T, kind Kind, out string) {
	t.Helper()
	long := kind == KindLongText
	free := kind == KindText || kind == KindLongText || kind == KindChoice
	runes := []rune(out)
	invisible := func(r rune) bool {
		return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
	}
	seenOrMark := func(r rune) bool {
		return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S) && !invisible(r)
	}
	for i, r := range runes {
		bad := ""
		switch {
		case unicode.In(r, unicode.Co, unicode.Cs, unicode.Cn) || r == utf8.RuneError && !free:
			bad = "refused (Co, Cs, Cn, U+FFFD in an identifier)"
		case unicode.Is(unicode.Cc, r) && !(long && (r == '\n' || r == '\t')):
			bad = "a control character"
		case unicode.In(r, unicode.Zl, unicode.Zp) || unicode.Is(unicode.Zs, r) && r != ' ':
			bad = "a separator other than U+0020"
		case r == ' ' && !free && kind != KindPhone:
			bad = "a space in an identifier"
		case r == '\u034F':
			bad = "a combining grapheme joiner"
		case invisible(r) && !free:
			bad = "an invisible character in an identifier"
		case r == '\u200C' || r == '\u200D':
			if i == 0 || i == len(runes)-1 || !seenOrMark(runes[i-1]) && !unicode.Is(unicode.Variation_Selector, runes[i-1]) ||
				!seenOrMark(runes[i+1]) {
				bad = "a joiner that joins nothing"
			}
		case unicode.Is(unicode.Variation_Selector, r):
			if i == 0 || !unicode.In(runes[i-1], unicode.L, unicode.N, unicode.P, unicode.S) || invisible(runes[i-1]) {
				bad = "a variation selector that selects nothing"
			}
		case invisible(r):
			bad = "an invisible character"
		}
		if bad != "" {
			t.Fatalf("%s output %+q holds %s at %d: %U", kind, out, bad, i, r)
		}
	}
	if free {
		if strings.TrimSpace(out) != out || (!long && strings.Contains(out, "  ")) {
			t.Fatalf("%s output %+q is not trimmed and collapsed", kind, out)
		}
	}
}
