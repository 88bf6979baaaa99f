package link

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func secret(b byte) []byte {
	s := make([]byte, SecretSize)
	for i := range s {
		s[i] = b + byte(i)
	}
	return s
}

const cust = "4f7d6a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6"

var now = time.Unix(1_799_000_000, 0)

// Vectors computed outside Go (Python's hmac and an RFC 5869 HKDF): the
// secret is bytes 0..31; claims as shown.
func TestVectors(t *testing.T) {
	k, err := New(secret(0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		c    Claims
		want string
	}{
		{Claims{Purpose: Survey, Customer: cust, Subject: "update", ID: "AAAAAAAAAAAAAAAAAAAAAA", Expires: 1_800_000_000},
			"k1.eyJwIjoic3VydmV5IiwiYyI6IjRmN2Q2YTFlLTJiM2MtNGQ1ZS04ZjkwLWExYjJjM2Q0ZTVmNiIsInMiOiJ1cGRhdGUiLCJqIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSIsImUiOjE4MDAwMDAwMDB9.w8wDgACRmOKE6eytbg1nS9JuYWbKeV8WxTgsQ6YPRzU"},
		{Claims{Purpose: Withdraw, Customer: cust, Subject: "contact", ID: "BBBBBBBBBBBBBBBBBBBBBB", Expires: 1_800_000_000},
			"k1.eyJwIjoid2l0aGRyYXciLCJjIjoiNGY3ZDZhMWUtMmIzYy00ZDVlLThmOTAtYTFiMmMzZDRlNWY2IiwicyI6ImNvbnRhY3QiLCJqIjoiQkJCQkJCQkJCQkJCQkJCQkJCQkJCQiIsImUiOjE4MDAwMDAwMDB9.OYMlcEfjIKx6f2XFuTx_k1aPUvlELYXnzv2Un4Xxxnc"},
	}
	for _, tc := range cases {
		got, _, err := k.Sign(tc.c)
		if err != nil || got != tc.want {
			t.Fatalf("sign %v:\n got %s %v\nwant %s", tc.c, got, err, tc.want)
		}
		back, err := k.Parse(tc.want, tc.c.Purpose, now)
		if err != nil || back != tc.c {
			t.Fatalf("parse: %+v %v", back, err)
		}
	}
}

func TestNegative(t *testing.T) {
	k, _ := New(secret(0))
	other, _ := New(secret(9))
	good, c, err := k.Sign(Claims{Purpose: Survey, Customer: cust, Subject: "update", Expires: now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Parse(good, Survey, now); err != nil {
		t.Fatalf("the genuine token: %v", err)
	}
	head, sig, _ := cutLast(good, ".")
	_, body, _ := strings.Cut(head, ".")
	doc, _ := base64.RawURLEncoding.DecodeString(body)
	reencode := func(d string) string { return "k1." + base64.RawURLEncoding.EncodeToString([]byte(d)) + "." + sig }
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	otherTok, _, _ := other.Sign(c)
	cases := map[string]struct {
		token   string
		purpose Purpose
		want    error
	}{
		"empty":                        {"", Survey, ErrForged},
		"another purpose":              {good, Withdraw, ErrForged},
		"another key":                  {otherTok, Survey, ErrForged},
		"a byte of the claims":         {flip(good, 10), Survey, ErrForged},
		"a byte of the signature":      {flip(good, len(good)-3), Survey, ErrForged},
		"another customer, re-encoded": {reencode(strings.Replace(string(doc), cust[:8], "00000000", 1)), Survey, ErrForged},
		"padded signature":             {good + "=", Survey, ErrForged},
		"truncated signature":          {good[:len(good)-1], Survey, ErrForged},
		"no version":                   {strings.TrimPrefix(good, "k1."), Survey, ErrForged},
		"another version":              {"k2" + strings.TrimPrefix(good, "k1"), Survey, ErrForged},
		"too long":                     {good + strings.Repeat("A", MaxLen), Survey, ErrForged},
		"expired":                      {good, Survey, ErrExpired},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			at := now
			if tc.want == ErrExpired {
				at = c.ExpiresAt()
			}
			if _, err := k.Parse(tc.token, tc.purpose, at); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// A MAC-valid token whose claims break the rules is still refused: a key
// holder cannot smuggle in a name, an unknown purpose or an extra member.
func TestSignedButInvalidClaims(t *testing.T) {
	k, _ := New(secret(0))
	for name, doc := range map[string]string{
		"unknown member":    `{"p":"survey","c":"` + cust + `","s":"update","j":"AAAAAAAAAAAAAAAAAAAAAA","e":1800000000,"email":"a@b.c"}`,
		"a name as subject": `{"p":"survey","c":"` + cust + `","s":"Zhang Wei","j":"AAAAAAAAAAAAAAAAAAAAAA","e":1800000000}`,
		"not a customer id": `{"p":"survey","c":"zhang@example.com","s":"update","j":"AAAAAAAAAAAAAAAAAAAAAA","e":1800000000}`,
		"trailing data":     `{"p":"survey","c":"` + cust + `","s":"update","j":"AAAAAAAAAAAAAAAAAAAAAA","e":1800000000} {}`,
		"no expiry":         `{"p":"survey","c":"` + cust + `","s":"update","j":"AAAAAAAAAAAAAAAAAAAAAA"}`,
	} {
		t.Run(name, func(t *testing.T) {
			head := "k1." + base64.RawURLEncoding.EncodeToString([]byte(doc))
			tok := head + "." + base64.RawURLEncoding.EncodeToString(mac(k.sign[Survey], head))
			if _, err := k.Parse(tok, Survey, now); !errors.Is(err, ErrForged) {
				t.Fatalf("got %v", err)
			}
		})
	}
	if _, _, err := k.Sign(Claims{Purpose: Survey, Customer: "someone@example.com", Subject: "update", Expires: 1}); err == nil {
		t.Fatal("signed claims naming an email address")
	}
}

// After a rotation, links made with the older secret still verify; new
// ones are made with the current secret only.
func TestRotation(t *testing.T) {
	old, _ := New(secret(0))
	tok, c, _ := old.Sign(Claims{Purpose: Confirm, Customer: cust, Subject: "email:01jd0000000000000000000000", Expires: now.Add(time.Hour).Unix()})
	rotated, err := New(secret(7), secret(0))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Parse(tok, Confirm, now); err != nil || got != c {
		t.Fatalf("old token after rotation: %v", err)
	}
	fresh, _, _ := rotated.Sign(c)
	if _, err := old.Parse(fresh, Confirm, now); !errors.Is(err, ErrForged) {
		t.Fatalf("a new token verified under the old secret alone: %v", err)
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

// Whatever the input, Parse does not panic, and anything it accepts is
// exactly what Sign makes of its claims (only this key's own tokens pass).
func FuzzParse(f *testing.F) {
	k, _ := New(secret(0))
	for _, p := range Purposes {
		tok, _, _ := k.Sign(Claims{Purpose: p, Customer: cust, Subject: "update", Expires: 1_800_000_000})
		f.Add(tok, string(p))
	}
	f.Add("k1..", "survey")
	f.Add("k1.e30.", "confirm")
	f.Fuzz(func(t *testing.T, tok, purpose string) {
		c, err := k.Parse(tok, Purpose(purpose), now)
		if err != nil {
			if !errors.Is(err, ErrForged) && !errors.Is(err, ErrExpired) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, _, err := k.Sign(c)
		if err != nil || again != tok {
			t.Fatalf("accepted %q, which Sign makes as %q (%v)", tok, again, err)
		}
	})
}
