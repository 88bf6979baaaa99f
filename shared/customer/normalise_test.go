package customer

import (
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestNormalise(t *testing.T) {
	email, _ := Lookup("email")
	phone, _ := Lookup("phone")
	name, _ := Lookup("name")
	msg, _ := Lookup("message")
	bday, _ := Lookup("birthday")
	income, _ := Lookup("income")
	cases := []struct {
		name    string
		spec    Spec
		in      string
		want    string
		errCode string
	}{
		{"email case-folded", email, "Zhang.Wei@Example.COM", "zhang.wei@example.com", ""},
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, perr := Normalise(tc.spec, tc.in, nil, now)
			if tc.errCode != "" {
				if perr == nil || perr.Code != tc.errCode {
					t.Fatalf("got %q, %+v; want error %s", got, perr, tc.errCode)
				}
				if perr.Field != tc.spec.Name || perr.Detail == "" {
					t.Fatalf("error lacks field or detail: %+v", perr)
				}
				return
			}
			if perr != nil || got != tc.want {
				t.Fatalf("got %q, %+v; want %q", got, perr, tc.want)
			}
		})
	}
}

func TestTooLong(t *testing.T) {
	name, _ := Lookup("name")
	long := ""
	for i := 0; i < 201; i++ {
		long += "张"
	}
	if _, perr := Normalise(name, long, nil, now); perr == nil || perr.Code != CodeTooLong {
		t.Fatalf("201 characters: %+v", perr)
	}
	if _, perr := Normalise(name, long[:200*3], nil, now); perr != nil {
		t.Fatalf("200 characters: %+v", perr)
	}
}

func TestChoice(t *testing.T) {
	spec := Spec{Name: "industry", Kind: KindChoice, Tier: General, MaxLen: 100}
	if v, perr := Normalise(spec, "retail", []string{"manufacturing", "retail"}, now); perr != nil || v != "retail" {
		t.Fatalf("an option: %q %+v", v, perr)
	}
	if _, perr := Normalise(spec, "mining", []string{"manufacturing", "retail"}, now); perr == nil || perr.Code != CodeChoice {
		t.Fatalf("not an option: %+v", perr)
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
