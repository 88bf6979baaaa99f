package httpapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/intake"
)

func req(ctype, body string, b64 bool) *events.APIGatewayV2HTTPRequest {
	r := &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": ctype}, Body: body, IsBase64Encoded: b64}
	if b64 {
		r.Body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	return r
}

func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name  string
		r     *events.APIGatewayV2HTTPRequest
		field string
		value string
	}{
		{"json", req("application/json", `{"fields":{"name":"张伟","n":42},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), "name", "张伟"},
		{"json number", req("application/json; charset=utf-8", `{"fields":{"income":12000.5},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), "income", "12000.5"},
		{"json base64", req("application/json", `{"fields":{"name":"x"},"consent":{"purposes":["processing"],"notice":"v1"}}`, true), "name", "x"},
		{"urlencoded", req("application/x-www-form-urlencoded", "name=%E5%BC%A0%E4%BC%9F&consent=processing&notice=v1", true), "name", "张伟"},
		{"json surrogate pair", req("application/json", `{"fields":{"name":"\ud83d\ude00"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), "name", "\U0001F600"},
		{"json surrogate pair upper-case hex", req("application/json", `{"fields":{"name":"x\uD83D\uDE00y"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), "name", "x\U0001F600y"},
		{"json escaped backslash before u", req("application/json", `{"fields":{"name":"\\ud800"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), "name", `\ud800`},
		{"json escaped member names", req("application/json", `{"f\u0069elds":{"name":"x"},"consent":{"purposes":["processing"],"\u006eotice":"v1"}}`, false), "name", "x"},
		{"json literal replacement character kept", req("application/json", `{"fields":{"name":"a\ufffdb"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), "name", "a\uFFFDb"},
		{"multipart", req("multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx y\r\n--XX\r\nContent-Disposition: form-data; name=\"consent\"\r\n\r\nprocessing\r\n--XX\r\nContent-Disposition: form-data; name=\"notice\"\r\n\r\nv1\r\n--XX--\r\n", true), "name", "x y"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeBody(tc.r, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.fields[tc.field]; len(got) != 1 || got[0] != tc.value {
				t.Fatalf("%s = %v, want %q", tc.field, got, tc.value)
			}
			if len(d.consent.Purposes) != 1 || d.consent.Purposes[0] != consent.Processing || d.consent.Notice != "v1" {
				t.Fatalf("decoded %+v", d)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	deep := `{"fields":{"name":{"a":{"b":{"c":1}}}}}`
	cases := []struct {
		name   string
		r      *events.APIGatewayV2HTTPRequest
		status int
	}{
		{"too large", req("application/json", `{"fields":{"message":"`+strings.Repeat("x", 70<<10)+`"}}`, false), 413},
		{"too large base64", req("application/x-www-form-urlencoded", "message="+strings.Repeat("x", 70<<10), true), 413},
		{"no content type", req("", `{}`, false), 415},
		{"text/plain", req("text/plain", `name=x`, false), 415},
		{"latin-1 charset", req("application/json; charset=iso-8859-1", `{}`, false), 415},
		{"file upload", req("multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--XX--\r\n", true), 415},
		{"malformed JSON", req("application/json", `{"fields":`, false), 400},
		{"trailing value", req("application/json", `{"fields":{}} {}`, false), 400},
		{"duplicate key", req("application/json", `{"fields":{"name":"a","name":"b"}}`, false), 400},
		{"duplicate top-level key", req("application/json", `{"fields":{},"fields":{}}`, false), 400},
		{"too deep", req("application/json", deep, false), 400},
		{"invalid UTF-8", req("application/json", "{\"fields\":{\"name\":\"\xff\"}}", false), 400},
		{"invalid UTF-8 form", req("application/x-www-form-urlencoded", "name=%FF", true), 400},
		{"unknown member", req("application/json", `{"fields":{},"extra":1}`, false), 400},
		{"fields not an object", req("application/json", `{"fields":[1]}`, false), 400},
		{"bad base64", &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": "application/json"}, Body: "%%%", IsBase64Encoded: true}, 400},
		{"notice twice", req("application/x-www-form-urlencoded", "notice=a&notice=b", true), 400},
		{"multipart without boundary", req("multipart/form-data", "x", true), 400},
		// member names are exact: encoding/json would fold their case
		{"member name capitalised", req("application/json", `{"Fields":{"name":"a"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"member name upper-case", req("application/json", `{"FIELDS":{"name":"a"}}`, false), 400},
		{"fields twice in two cases", req("application/json", `{"fields":{"name":"a"},"FIELDS":{"name":"b"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"consent twice in two cases", req("application/json", `{"fields":{},"consent":{"purposes":["processing"],"notice":"v1"},"Consent":{"purposes":[],"notice":"v2"}}`, false), 400},
		{"consent member capitalised", req("application/json", `{"fields":{},"consent":{"Purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"notice twice in two cases", req("application/json", `{"fields":{},"consent":{"purposes":["processing"],"notice":"v1","NOTICE":"v2"}}`, false), 400},
		{"member name with long s", req("application/json", `{"fields":{},"conſent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"consent member with long s", req("application/json", `{"fields":{},"consent":{"purpoſes":["processing"],"notice":"v1"}}`, false), 400},
		// escaped lone surrogates: encoding/json would store U+FFFD
		{"lone high surrogate", req("application/json", `{"fields":{"name":"A\ud800"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"lone low surrogate", req("application/json", `{"fields":{"name":"\udc00x"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"high surrogate then a letter escape", req("application/json", `{"fields":{"name":"\ud800\u0041"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"two high surrogates", req("application/json", `{"fields":{"name":"\uD83D\uD83D"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"low then high surrogate", req("application/json", `{"fields":{"name":"\ude00\ud83d"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"high surrogate then a one-character escape", req("application/json", `{"fields":{"name":"\ud83d\n"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"lone surrogate in a field name", req("application/json", `{"fields":{"na\ud800me":"x"},"consent":{"purposes":["processing"],"notice":"v1"}}`, false), 400},
		{"lone surrogate in the notice", req("application/json", `{"fields":{"name":"x"},"consent":{"purposes":["processing"],"notice":"v1\udfff"}}`, false), 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBody(tc.r, 64<<10)
			var p *Problem
			if !errors.As(err, &p) || p.Status != tc.status {
				t.Fatalf("err %v, want a %d problem", err, tc.status)
			}
			if tc.status == 400 && p.Reason() != "malformed" {
				t.Fatalf("problem %s, want malformed", p.Reason())
			}
		})
	}
	t.Run("object as field value", func(t *testing.T) {
		_, err := decodeBody(req("application/json", `{"fields":{"name":{"first":"a"}}}`, false), 64<<10)
		var v *intake.ValidationError
		if !errors.As(err, &v) || len(v.Problems) != 1 || v.Problems[0].Field != "name" {
			t.Fatalf("err %v, want one field problem", err)
		}
	})
}

func TestProblemsDoNotEchoInput(t *testing.T) {
	secret := "13800138000-zhang.wei@example.com"
	for _, body := range []string{`{"fields":{"` + secret + `":1,"` + secret + `":2}}`, `{"` + secret + `":1}`, secret,
		`{"fields":{},"consent":{"` + secret + `":1}}`, `{"fields":{"name":"` + secret + `\ud800"}}`} {
		_, err := decodeBody(req("application/json", body, false), 64<<10)
		if err == nil || strings.Contains(err.Error(), "zhang.wei") {
			t.Errorf("problem %v echoes input", err)
		}
	}
}

// FuzzDecode: no body panics the decoder; every failure is a 4xx problem or
// a field validation error, never anything else.
func FuzzDecode(f *testing.F) {
	f.Add("application/json", []byte(`{"fields":{"name":"x"},"consent":{"purposes":["processing"],"notice":"v1"}}`))
	f.Add("application/json", []byte(`{"fields":{"a":{"b":[[[[1]]]]}}}`))
	f.Add("application/x-www-form-urlencoded", []byte("name=x&consent=processing&notice=v1"))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--XX--\r\n"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		d, err := decodeBody(&events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": ctype},
			Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true}, 4096)
		if err == nil {
			if d == nil || d.fields == nil {
				t.Fatal("nil result without error")
			}
			// No U+FFFD the sender did not send: one in a value needs a
			// literal U+FFFD or a \ufffd escape in the body.
			for _, vs := range d.fields {
				for _, v := range vs {
					if strings.ContainsRune(v, utf8.RuneError) && !bytes.Contains(body, []byte("\uFFFD")) &&
						!bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) && !bytes.Contains(body, []byte("%EF%BF%BD")) {
						t.Fatalf("a value holds U+FFFD the body does not: %q", body)
					}
				}
			}
			return
		}
		var p *Problem
		var v *intake.ValidationError
		switch {
		case errors.As(err, &p):
			if p.Status < 400 || p.Status > 499 {
				t.Fatalf("status %d", p.Status)
			}
		case errors.As(err, &v):
		default:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	})
}

func TestUnknownFieldNamesNotEchoed(t *testing.T) {
	d, err := decodeBody(req("application/json", `{"fields":{"zhang.wei@example.com":{"x":1}}}`, false), 64<<10)
	var v *intake.ValidationError
	if !errors.As(err, &v) || v.Problems[0].Field != "(unrecognised field name)" {
		t.Fatalf("decoded %+v, err %v", d, err)
	}
}

// FuzzJSONEscapes: a string of \u escapes is accepted exactly when its
// UTF-16 code units are well formed (every surrogate in a high-low pair),
// and then it decodes to those characters, never to U+FFFD it did not hold.
func FuzzJSONEscapes(f *testing.F) {
	f.Add([]byte{0x00, 0x41}, uint8(0))
	f.Add([]byte{0xd8, 0x3d, 0xde, 0x00}, uint8(1))
	f.Add([]byte{0xd8, 0x00}, uint8(2))
	f.Add([]byte{0xdc, 0x00, 0x00, 0x78}, uint8(3))
	f.Add([]byte{0xd8, 0x00, 0x00, 0x41}, uint8(4))
	f.Add([]byte{0xff, 0xfd, 0x00, 0x5c, 0x00, 0x22}, uint8(5))
	f.Fuzz(func(t *testing.T, raw []byte, style uint8) {
		units := make([]uint16, len(raw)/2)
		for i := range units {
			units[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		var lit strings.Builder
		for i, u := range units {
			// Escape every unit, or write the ASCII ones plainly where JSON allows.
			switch r := rune(u); {
			case style&(1<<(i%8)) != 0 && r >= 0x20 && r < 0x7f && r != '"' && r != '\\':
				lit.WriteRune(r)
			case style&1 != 0:
				fmt.Fprintf(&lit, "\\u%04X", u)
			default:
				fmt.Fprintf(&lit, "\\u%04x", u)
			}
		}
		body := `{"fields":{"name":"` + lit.String() + `"},"consent":{"purposes":["processing"],"notice":"v1"}}`
		wellFormed := true
		for i := 0; i < len(units); i++ {
			switch {
			case utf16.IsSurrogate(rune(units[i])) && units[i] < 0xdc00 && i+1 < len(units) && units[i+1] >= 0xdc00 && units[i+1] <= 0xdfff:
				i++
			case utf16.IsSurrogate(rune(units[i])):
				wellFormed = false
			}
		}
		d, err := decodeBody(req("application/json", body, false), 1<<20)
		if !wellFormed {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 || strings.Contains(p.Detail, lit.String()) {
				t.Fatalf("%s: err %v, want 400 malformed", body, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if want := string(utf16.Decode(units)); d.fields["name"][0] != want {
			t.Fatalf("%s decoded to %+q, want %+q", body, d.fields["name"][0], want)
		}
	})
}
