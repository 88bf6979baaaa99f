package customer

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type normCase struct {
	name    string
	spec    Spec
	in      string
	want    string
	errCode string
}

func runNormCases(t *testing.T, cases []normCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, perr := Normalise(tc.spec, tc.in, testOptions, now)
			if tc.errCode != "" {
				if perr == nil || perr.Code != tc.errCode {
					t.Fatalf("got %+q, %+v; want error %s", got, perr, tc.errCode)
				}
				if perr.Field != tc.spec.Name || perr.Detail == "" {
					t.Fatalf("error lacks field or detail: %+v", perr)
				}
				return
			}
			if perr != nil || got != tc.want {
				t.Fatalf("got %+q, %+v; want %+q", got, perr, tc.want)
			}
		})
	}
}

var testOptions = []string{"manufacturing", "retail", "Hong Kong", "José"}

func spec(name string) Spec {
	s, ok := Lookup(name)
	if !ok {
		panic(name)
	}
	return s
}

var (
	email  = spec("email")
	phone  = spec("phone")
	name   = spec("name")
	msg    = spec("message")
	bday   = spec("birthday")
	income = spec("income")
	choice = Spec{Name: "industry", Kind: KindChoice, Tier: General, MaxLen: 100}
)

func TestNormalise(t *testing.T) {
	runNormCases(t, []normCase{
		{"email stored as typed, domain lower-cased", email, "Zhang.Wei@Example.COM", "Zhang.Wei@example.com", ""},
		{"email trimmed", email, "  a@b.cn ", "a@b.cn", ""},
		{"email IDN domain to ASCII", email, "用户@例子.中国", "用户@xn--fsqu00a.xn--fiqs8s", ""},
		{"email fullwidth domain mapped", email, "a@ｅｘａｍｐｌｅ.com", "a@example.com", ""},
		{"email with display name", email, "Wei <wei@example.com>", "", CodeEmail},
		{"email without domain dot", email, "wei@localhost", "", CodeEmail},
		{"email two at signs", email, "a@b@c.com", "", CodeEmail},
		{"email empty local", email, "@example.com", "", CodeEmail},
		{"phone CN mobile with spaces", phone, "138 0013 8000", "+8613800138000", ""},
		{"phone CN landline", phone, "021-6234 5678", "+862162345678", ""},
		{"phone international", phone, "+44 20 7946 0958", "+442079460958", ""},
		{"phone too short", phone, "12345", "", CodePhone},
		{"phone letters", phone, "call me", "", CodePhone},
		{"name NFC", name, "Jose\u0301", "Jos\u00e9", ""},
		{"name spaces collapsed", name, "  张   伟 ", "张 伟", ""},
		{"name control character", name, "a\x07b", "", CodeControl},
		{"name invalid UTF-8", name, "a\xffb", "", CodeInvalidUTF8},
		{"name NUL characters", name, string(make([]rune, 3)), "", CodeControl},
		{"message keeps lines", msg, "line one\r\nline two", "line one\nline two", ""},
		{"birthday", bday, "1990-03-07", "1990-03-07", ""},
		{"birthday in the future", bday, "2030-01-01", "", CodeDate},
		{"birthday wrong format", bday, "07/03/1990", "", CodeDate},
		{"income decimal", income, "12000.50", "12000.50", ""},
		{"income exponent", income, "1e6", "", CodeNumber},
		{"empty", name, "   ", "", CodeRequired},
	})
}

// The text policy for free text (docs/text-policy.md): refused, removed,
// converted, kept.
func TestTextPolicy(t *testing.T) {
	runNormCases(t, []normCase{
		// Cc
		{"name tab and line feed become a space", name, "张\t伟\r\n", "张 伟", ""},
		{"name vertical tab refused", name, "a\vb", "", CodeControl},
		{"name form feed refused", name, "a\fb", "", CodeControl},
		{"name NEL refused", name, "a\u0085b", "", CodeControl},
		{"name C1 control refused", name, "a\u009bb", "", CodeControl},
		{"message keeps tab", msg, "a\tb", "a\tb", ""},
		{"message lone CR becomes LF", msg, "a\rb\r\rc", "a\nb\n\nc", ""},
		{"message vertical tab refused", msg, "a\vb", "", CodeControl},
		// Cs, Co, Cn
		{"name CESU-8 surrogate is invalid UTF-8", name, "a\xed\xa0\x80", "", CodeInvalidUTF8},
		{"name private use refused", name, "张\uE000", "", CodeInvalidChars},
		{"name supplementary private use refused", name, "a\U000F0000", "", CodeInvalidChars},
		{"message private use refused", msg, "hello \uF8FF", "", CodeInvalidChars},
		{"name unassigned refused", name, "a\u0378", "", CodeInvalidChars},
		{"name noncharacter FFFF refused", name, "a\uFFFF", "", CodeInvalidChars},
		{"name noncharacter FDD0 refused", name, "a\uFDD0", "", CodeInvalidChars},
		{"message unassigned tag-range refused", msg, "a\U000E0080", "", CodeInvalidChars},
		// Cf and other invisible characters: removed from free text
		{"name zero-width space removed", name, "张\u200B伟", "张伟", ""},
		{"name word joiner removed", name, "Zh\u2060ang", "Zhang", ""},
		{"name BOM removed", name, "\uFEFFZhang", "Zhang", ""},
		{"name soft hyphen removed", name, "Mül\u00ADler", "Müller", ""},
		{"name bidi override removed", name, "abc\u202Edef", "abcdef", ""},
		{"name bidi marks removed", name, "\u200Eabc\u200F\u061C", "abc", ""},
		{"name bidi isolates removed", name, "\u2066abc\u2069\u2067d\u2068", "abcd", ""},
		{"name bidi embeddings removed", name, "\u202Aa\u202Bb\u202Cc\u202D", "abc", ""},
		{"name tag characters removed", name, "Zhang\U000E0001\U000E0041\U000E0042\U000E007F", "Zhang", ""},
		{"name Mongolian vowel separator removed", name, "a\u180Eb", "ab", ""},
		{"name Hangul filler removed", name, "Kim\u3164", "Kim", ""},
		{"name combining grapheme joiner removed", name, "a\u034Fb", "ab", ""},
		{"name removal then NFC", name, "e\u200B\u0301", "\u00e9", ""},
		{"message emoji flag loses its tags", msg, "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "🏴", ""},
		{"message bidi isolate removed", msg, "x\u2066y\u2069", "xy", ""},
		// empty after cleaning
		{"name only zero-width characters is empty", name, "\u200B\u200C\u200D\u2060\uFEFF", "", CodeRequired},
		{"name only bidi controls is empty", name, "\u202E\u2066\u2069\u200F\u061C", "", CodeRequired},
		{"name only Hangul fillers is empty", name, "\u3164\uFFA0\u115F", "", CodeRequired},
		{"name only combining marks is empty", name, "\u0301\u0302", "", CodeRequired},
		{"name only tags is empty", name, "\U000E0041\U000E0042", "", CodeRequired},
		{"message only invisible lines is empty", msg, "\u200B\n\u2060\r\n\u2029", "", CodeRequired},
		{"choice only invisible is empty", choice, "\u200B", "", CodeRequired},
		// joiners: kept between letters, marks and emoji; removed elsewhere
		{"name keeps ZWNJ in Persian", name, "می\u200Cخواهم", "می\u200Cخواهم", ""},
		{"name keeps ZWJ after virama", name, "क्\u200Dष", "क्\u200Dष", ""},
		{"message keeps emoji ZWJ sequence", msg, "👨\u200D👩\u200D👧", "👨\u200D👩\u200D👧", ""},
		{"message keeps ZWJ after emoji presentation selector", msg, "❤\uFE0F\u200D🔥", "❤\uFE0F\u200D🔥", ""},
		{"name joiners at the edges removed", name, "\u200DZhang\u200C", "Zhang", ""},
		{"name joiner beside a space removed", name, "a\u200D b", "a b", ""},
		{"name joiner run collapsed", name, "a\u200D\u200C\u200Db", "a\u200Db", ""},
		// variation selectors: one, directly after a visible character
		{"name ideographic variation sequence kept", name, "葛\U000E0100", "葛\U000E0100", ""},
		{"message emoji presentation kept", msg, "☺\uFE0F", "☺\uFE0F", ""},
		{"message variation selector run cut to one", msg, "a\uFE0F\uFE0E\U000E0100\U000E0101", "a\uFE0F", ""},
		{"name variation selector at the start removed", name, "\uFE0Fa", "a", ""},
		// Z: separators
		{"name NBSP and ideographic space collapse", name, "张\u00A0\u3000伟", "张 伟", ""},
		{"name line and paragraph separators collapse", name, "a\u2028\u2029b", "a b", ""},
		{"name spaces around a removed character collapse", name, "a \u200B b", "a b", ""},
		{"message NBSP becomes a space", msg, "a\u00A0b\u3000c", "a b c", ""},
		{"message paragraph separator becomes LF", msg, "a\u2029b", "a\nb", ""},
		{"message line separator becomes LF", msg, "a\u2028b", "a\nb", ""},
		{"message keeps inner spaces, trims the ends", msg, "\n  a  b \n", "a  b", ""},
		// marks
		{"name too many combining marks refused", name, "a" + strings.Repeat("\u0301", 40), "", CodeInvalidChars},
		{"name thirty combining marks kept", name, "a" + strings.Repeat("\u0301", 29), "\u00e1" + strings.Repeat("\u0301", 28), ""},
		// U+FFFD typed or pasted is visible text
		{"message keeps a replacement character", msg, "a\uFFFDb", "a\uFFFDb", ""},
		// choice
		{"choice zero-width space removed before matching", choice, "retail\u200B", "retail", ""},
		{"choice NBSP matches a space", choice, "Hong\u00A0Kong", "Hong Kong", ""},
		{"choice NFD matches", choice, "Jose\u0301", "José", ""},
		{"choice bidi override is not an option", choice, "\u202Eliater", "", CodeChoice},
	})
}

func TestEmailPolicy(t *testing.T) {
	runNormCases(t, []normCase{
		{"email sharp s kept as typed", email, "Straße@Example.com", "Straße@example.com", ""},
		{"email upper case kept", email, "STRASSE@EXAMPLE.COM", "STRASSE@example.com", ""},
		{"email NFC", email, "jose\u0301@example.com", "jos\u00e9@example.com", ""},
		{"email local part with marks", email, "दीपक@example.in", "दीपक@example.in", ""},
		{"email atext symbols", email, "a.b+c!#$%&'*/=?^_`{|}~-@example.com", "a.b+c!#$%&'*/=?^_`{|}~-@example.com", ""},
		{"email surrounding ideographic space trimmed", email, "\u3000a@example.com\u00A0", "a@example.com", ""},
		{"email zero-width space refused", email, "zhang\u200B@example.com", "", CodeEmail},
		{"email ZWNJ refused", email, "zh\u200Cang@example.com", "", CodeEmail},
		{"email ZWJ refused", email, "zh\u200Dang@example.com", "", CodeEmail},
		{"email word joiner refused", email, "zhang\u2060@example.com", "", CodeEmail},
		{"email BOM refused", email, "\uFEFFzhang@example.com", "", CodeEmail},
		{"email soft hyphen in local refused", email, "zh\u00ADang@example.com", "", CodeEmail},
		{"email soft hyphen in domain refused", email, "a@exam\u00ADple.com", "", CodeEmail},
		{"email zero-width space in domain refused", email, "a@exam\u200Bple.com", "", CodeEmail},
		{"email RLO refused", email, "\u202Emoc.elpmaxe@a", "", CodeEmail},
		{"email RLM refused", email, "a\u200F@example.com", "", CodeEmail},
		{"email ALM refused", email, "a\u061C@example.com", "", CodeEmail},
		{"email isolate refused", email, "a\u2066@example.com", "", CodeEmail},
		{"email tag character refused", email, "a\U000E0041@example.com", "", CodeEmail},
		{"email variation selector refused", email, "a\uFE0F@example.com", "", CodeEmail},
		{"email Hangul filler refused", email, "a\u3164@example.com", "", CodeEmail},
		{"email emoji in local part refused", email, "😀@example.com", "", CodeEmail},
		{"email symbol in local part refused", email, "a™@example.com", "", CodeEmail},
		{"email replacement character refused", email, "a\uFFFD@example.com", "", CodeEmail},
		{"email leading combining mark refused", email, "\u0301a@example.com", "", CodeEmail},
		{"email NBSP inside refused", email, "a\u00A0b@example.com", "", CodeEmail},
		{"email tab inside refused", email, "a\tb@example.com", "", CodeEmail},
		{"email quoted local part refused", email, `"a b"@example.com`, "", CodeEmail},
		{"email leading dot refused", email, ".a@example.com", "", CodeEmail},
		{"email double dot refused", email, "a..b@example.com", "", CodeEmail},
		{"email fullwidth at sign refused", email, "a＠example.com", "", CodeEmail},
		{"email domain literal refused", email, "a@[192.0.2.1]", "", CodeEmail},
		{"email control refused", email, "a\x00@example.com", "", CodeControl},
		{"email private use refused", email, "a\uE000@example.com", "", CodeInvalidChars},
		{"email only invisible is empty", email, "\u200B\u2060", "", CodeRequired},
	})
}

func TestEmailMatchKey(t *testing.T) {
	key := func(s string) string {
		t.Helper()
		e, err := NormaliseEmail(s)
		if err != nil {
			t.Fatalf("NormaliseEmail(%+q): %v", s, err)
		}
		return EmailMatchKey(e)
	}
	same := [][]string{
		{"Straße@Example.com", "strasse@example.com", "STRASSE@EXAMPLE.COM", "Strasse@example.COM"},
		{"Zhang.Wei@Example.COM", "zhang.wei@example.com"},
		{"José@example.com", "jose\u0301@EXAMPLE.com", "JOSÉ@example.com"},
		{"用户@例子.中国", "用户@xn--fsqu00a.xn--fiqs8s"},
		{"ǰ@example.com", "J\u030C@example.com"},
	}
	for _, group := range same {
		want := key(group[0])
		for _, s := range group[1:] {
			if got := key(s); got != want {
				t.Errorf("key(%+q) = %+q, want %+q as for %+q", s, got, want, group[0])
			}
		}
	}
	if got := key("Straße@Example.com"); got != "strasse@example.com" {
		t.Errorf("key = %+q, want strasse@example.com", got)
	}
	if key("a@example.com") == key("b@example.com") || key("a@example.com") == key("a@example.org") {
		t.Error("different mailboxes share a key")
	}
	for _, s := range []string{"Straße@example.com", "A@example.com"} {
		e, _ := NormaliseEmail(s)
		if e != s {
			t.Errorf("stored form %+q, want what was typed, %+q", e, s)
		}
	}
}

func TestPhonePolicy(t *testing.T) {
	runNormCases(t, []normCase{
		{"phone letter O is not a zero", phone, "158OO85OO63", "", CodePhone},
		{"phone letter l is not a one", phone, "l3800l38000", "", CodePhone},
		{"phone vanity number refused", phone, "1-800-FLOWERS", "", CodePhone},
		{"phone extension refused", phone, "021-6234 5678 ext. 12", "", CodePhone},
		{"phone fullwidth letters refused", phone, "１３８ＯＯ１３８０００", "", CodePhone},
		{"phone Arabic-Indic digits refused", phone, "١٣٨٠٠١٣٨٠٠٠", "", CodePhone},
		{"phone Devanagari digits refused", phone, "१३८००१३८०००", "", CodePhone},
		{"phone zero-width space refused", phone, "138\u200B0013 8000", "", CodePhone},
		{"phone bidi mark refused", phone, "\u200E138 0013 8000", "", CodePhone},
		{"phone en dash refused", phone, "021–6234 5678", "", CodePhone},
		{"phone plus not leading refused", phone, "86+13800138000", "", CodePhone},
		{"phone plus after parenthesis refused", phone, "(+86) 138 0013 8000", "", CodePhone},
		{"phone two plus signs refused", phone, "++8613800138000", "", CodePhone},
		{"phone hash refused", phone, "13800138000#", "", CodePhone},
		{"phone tel URI refused", phone, "tel:+8613800138000", "", CodePhone},
		{"phone only separators", phone, "--- ()", "", CodePhone},
		{"phone fullwidth digits", phone, "１３８００１３８０００", "+8613800138000", ""},
		{"phone fullwidth punctuation", phone, "（０２１）６２３４－５６７８", "+862162345678", ""},
		{"phone fullwidth plus", phone, "＋８６ １３８ ００１３ ８０００", "+8613800138000", ""},
		{"phone ideographic and no-break spaces", phone, "138\u30000013\u00A08000", "+8613800138000", ""},
		{"phone slash and dots", phone, "021/6234.5678", "+862162345678", ""},
		{"phone parentheses", phone, "(021) 6234-5678", "+862162345678", ""},
		{"phone only invisible is empty", phone, "\u200B", "", CodeRequired},
	})
}

func TestNumberPolicy(t *testing.T) {
	runNormCases(t, []normCase{
		{"number hex refused", income, "0x10", "", CodeNumber},
		{"number underscore refused", income, "1_000", "", CodeNumber},
		{"number exponent refused", income, "1e3", "", CodeNumber},
		{"number binary refused", income, "0b1", "", CodeNumber},
		{"number octal refused", income, "0o7", "", CodeNumber},
		{"number fraction refused", income, " 1/2", "", CodeNumber},
		{"number plus minus refused", income, "+-1", "", CodeNumber},
		{"number plus refused", income, "+5", "", CodeNumber},
		{"number leading point refused", income, ".5", "", CodeNumber},
		{"number trailing point refused", income, "5.", "", CodeNumber},
		{"number thousands separator refused", income, "1,000", "", CodeNumber},
		{"number fullwidth digits refused", income, "１２", "", CodeNumber},
		{"number Arabic-Indic digits refused", income, "١٢", "", CodeNumber},
		{"number inner space refused", income, "1 000", "", CodeNumber},
		{"number invisible character refused", income, "1\u200B000", "", CodeNumber},
		{"number infinity refused", income, "Inf", "", CodeNumber},
		{"number leading zeros dropped", income, "007", "7", ""},
		{"number decimals kept", income, "-0012.50", "-12.50", ""},
		{"number zero before point kept", income, "0.50", "0.50", ""},
		{"number negative zero", income, "-0", "0", ""},
		{"number negative zero with decimals", income, "-00.00", "0.00", ""},
		{"number surrounding spaces trimmed", income, " 42\u3000", "42", ""},
		{"date fullwidth digits refused", bday, "１９９０-０３-０７", "", CodeDate},
		{"date invisible character refused", bday, "1990-3\u200B-07", "", CodeDate},
	})
}

func TestBlank(t *testing.T) {
	for in, want := range map[string]bool{
		"": true, " \t\r\n": true, "\u200B": true, "\u202E\u2069": true, "\u3164": true, "\u0301": true, "\u200D\uFE0F": true,
		"a": false, "\x00": false, "\uE000": false, "\u0378": false, "\xff": false, "\uFFFD": false, "-": false,
	} {
		if got := Blank(in); got != want {
			t.Errorf("Blank(%+q) = %v, want %v", in, got, want)
		}
	}
}

// Problem details never repeat the value, whatever was refused.
func TestProblemsDoNotEchoValue(t *testing.T) {
	secret := "zhang.wei.13800138000"
	for _, tc := range []struct {
		spec Spec
		in   string
	}{
		{name, secret + "\x07"}, {name, secret + "\uE000"}, {name, strings.Repeat(secret, 20)},
		{email, secret + "\u200B@example.com"}, {email, secret}, {phone, secret}, {phone, "1-800-" + secret},
		{bday, secret}, {income, secret}, {choice, secret}, {msg, secret + "\u0378"},
	} {
		_, perr := Normalise(tc.spec, tc.in, testOptions, now)
		if perr == nil {
			t.Fatalf("%+q accepted", tc.in)
		}
		if strings.Contains(perr.Detail, "zhang") || strings.Contains(perr.Detail, "13800138000") || strings.Contains(perr.Error(), "zhang") {
			t.Errorf("%s problem repeats the value: %+v", tc.spec.Kind, perr)
		}
	}
}

func TestTooLong(t *testing.T) {
	long := strings.Repeat("张", 201)
	if _, perr := Normalise(name, long, nil, now); perr == nil || perr.Code != CodeTooLong {
		t.Fatalf("201 characters: %+v", perr)
	}
	if _, perr := Normalise(name, long[:200*3], nil, now); perr != nil {
		t.Fatalf("200 characters: %+v", perr)
	}
	if _, perr := Normalise(name, long[:200*3]+strings.Repeat("\u200B", 50), nil, now); perr != nil {
		t.Fatalf("200 characters and removed ones: %+v", perr)
	}
}

func TestChoice(t *testing.T) {
	if v, perr := Normalise(choice, "retail", []string{"manufacturing", "retail"}, now); perr != nil || v != "retail" {
		t.Fatalf("an option: %q %+v", v, perr)
	}
	if _, perr := Normalise(choice, "mining", []string{"manufacturing", "retail"}, now); perr == nil || perr.Code != CodeChoice {
		t.Fatalf("not an option: %+v", perr)
	}
	if v, perr := Normalise(choice, "José", []string{"Jose\u0301"}, now); perr != nil || v != "José" {
		t.Fatalf("an option written in NFD: %+q %+v", v, perr)
	}
}

func TestAgeOn(t *testing.T) {
	cases := map[string]int{"2012-11-23": 14, "2012-11-24": 13, "2012-12-01": 13, "1990-01-01": 36}
	for b, want := range cases {
		if got, ok := AgeOn(b, now); !ok || got != want {
			t.Errorf("AgeOn(%s) = %d, want %d", b, got, want)
		}
	}
}

func TestCatalogueTiers(t *testing.T) {
	want := map[string]Tier{"name": Confidential, "email": Confidential, "phone": Confidential, "message": Confidential,
		"national_id": Restricted, "income": Restricted, "health": Restricted, "region": General, "industry": General}
	for n, tier := range want {
		s, ok := Lookup(n)
		if !ok || s.Tier != tier || s.Name != n {
			t.Errorf("%s: %+v, want tier %s", n, s, tier)
		}
	}
	for _, s := range Catalogue() {
		if !s.Tier.Valid() || !ValidName(s.Name) || s.MaxLen <= 0 {
			t.Errorf("bad catalogue entry %+v", s)
		}
	}
}
