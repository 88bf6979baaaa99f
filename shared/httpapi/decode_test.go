package httpapi

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBody(tc.r, 64<<10)
			var p *Problem
			if !errors.As(err, &p) || p.Status != tc.status {
				t.Fatalf("err %v, want a %d problem", err, tc.status)
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
	for _, body := range []string{`{"fields":{"` + secret + `":1,"` + secret + `":2}}`, `{"` + secret + `":1}`, secret} {
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
