package mail

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"
)

func TestMessageRoundTrips(t *testing.T) {
	m := Message{From: "kehu <no-reply@example.com>", To: "zhang.wei@example.com", Subject: "请确认您的资料 / Please confirm your details",
		Text: "你好\nhttps://kehu.test/v1/surveys/update?t=k1.abc.def", HTML: "<p>你好</p>",
		Headers: map[string]string{"List-Unsubscribe": "<https://kehu.test/v1/unsubscribe?t=k1.x.y>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
		Date:    time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Errorf("subject %q %v", subject, err)
	}
	if msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || msg.Header.Get("List-Unsubscribe") != m.Headers["List-Unsubscribe"] {
		t.Errorf("headers %v", msg.Header)
	}
	if msg.Header.Get("Message-Id") == "" || !strings.HasSuffix(msg.Header.Get("Message-Id"), "@example.com>") {
		t.Errorf("message id %q", msg.Header.Get("Message-Id"))
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %s %v", mt, err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var parts []string
	for {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(quotedprintable.NewReader(p))
		parts = append(parts, p.Header.Get("Content-Type")+"|"+strings.ReplaceAll(string(body), "\r\n", "\n"))
	}
	if len(parts) != 2 || parts[0] != "text/plain; charset=utf-8|"+m.Text || parts[1] != "text/html; charset=utf-8|"+m.HTML {
		t.Fatalf("parts %q", parts)
	}
}

// A header value with a line break would let whoever controls it add
// headers or a body: refused, and the recipient is never repeated.
func TestHeaderInjection(t *testing.T) {
	for name, m := range map[string]Message{
		"extra header":  {From: "a@example.com", To: "b@example.com", Headers: map[string]string{"List-Unsubscribe": "<x>\r\nBcc: c@example.com"}},
		"bad recipient": {From: "a@example.com", To: "b@example.com\r\nBcc: c@example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := m.Bytes()
			if err == nil {
				t.Fatal("built")
			}
			if strings.Contains(err.Error(), "b@example.com") {
				t.Errorf("the error repeats the address: %v", err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ kind, in, want string }{
		{"email", "zhang.wei@example.com", "z***@example.com"},
		{"email", "张伟@例子.中国", "张***@例子.中国"},
		{"email", "@example.com", "***"},
		{"phone", "+8613800138000", "138****8000"},
		{"phone", "+4915123456789", "491******6789"},
		{"phone", "+12", "****"},
		{"phone", "+1234567", "****"},
		{"phone", "12345678", "****5678"},
		{"name", "Zhang Wei", "***"},
	} {
		if got := Mask(tc.kind, tc.in); got != tc.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", tc.kind, tc.in, got, tc.want)
		}
	}
}

type fakeSES struct{ err error }

func (f fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	if *in.FromEmailAddress != "no-reply@example.com" {
		return nil, errors.New("from is not the bare address")
	}
	return &sesv2.SendEmailOutput{}, f.err
}

// SES: a refusal is a refusal (retried later), anything else may have left
// (not retried); neither cause names the recipient.
func TestSESOutcomes(t *testing.T) {
	rejected := &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified: zhang.wei@example.com", Fault: smithy.FaultClient}
	for name, tc := range map[string]struct {
		err       error
		uncertain bool
		cause     string
	}{
		"sent":      {nil, false, ""},
		"rejected":  {rejected, false, "MessageRejected"},
		"throttled": {&smithy.GenericAPIError{Code: "TooManyRequestsException", Fault: smithy.FaultServer}, true, "TooManyRequestsException"},
		"timeout":   {context.DeadlineExceeded, true, "timeout"},
	} {
		t.Run(name, func(t *testing.T) {
			err := SES{Client: fakeSES{tc.err}}.Send(context.Background(), "kehu <no-reply@example.com>", "zhang.wei@example.com", []byte("x"))
			if (err == nil) != (tc.err == nil) || errors.Is(err, ErrUncertain) != tc.uncertain {
				t.Fatalf("%v", err)
			}
			if err != nil && (Cause(err) != tc.cause || strings.Contains(Cause(err), "@")) {
				t.Fatalf("cause %q", Cause(err))
			}
		})
	}
}
