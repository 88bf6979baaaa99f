// Package mail builds kehu's emails (MIME, UTF-8, a plain-text and an HTML
// part) and sends them: through Amazon SES v2 in AWS, through SMTP
// elsewhere (Mailpit locally). Only the standard library builds the
// message; SES takes it raw, so both paths send the same bytes.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
)

// Message is one email.
type Message struct {
	From    string // an address, optionally with a display name
	To      string // an address only
	Subject string
	Text    string
	HTML    string
	// Headers are extra headers (List-Unsubscribe, List-Unsubscribe-Post).
	Headers map[string]string
	Date    time.Time
}

// ErrHeader means a header would break the message (a line break in it).
var ErrHeader = errors.New("header value contains a line break")

// Bytes returns the message as RFC 5322 bytes: multipart/alternative with
// quoted-printable UTF-8 parts, the subject encoded per RFC 2047.
func (m Message) Bytes() ([]byte, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, errors.New("recipient address is not valid") // never repeat the address
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	_, domain, _ := strings.Cut(from.Address, "@")
	head := map[string]string{
		"From":         from.String(),
		"To":           to.String(),
		"Subject":      mime.BEncoding.Encode("utf-8", m.Subject),
		"Date":         date.Format(time.RFC1123Z),
		"Message-ID":   "<" + hex.EncodeToString(id) + "@" + domain + ">",
		"MIME-Version": "1.0",
		"Content-Type": `multipart/alternative; boundary="` + mw.Boundary() + `"`,
	}
	for k, v := range m.Headers {
		head[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	var out bytes.Buffer
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range head {
			if !yield(k) {
				return
			}
		}
	}) {
		v := head[k]
		if strings.ContainsAny(k+v, "\r\n") {
			return nil, fmt.Errorf("%s: %w", k, ErrHeader)
		}
		fmt.Fprintf(&out, "%s: %s\r\n", k, v)
	}
	out.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if part.body == "" {
			continue
		}
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	out.Write(b.Bytes())
	return out.Bytes(), nil
}

// Sender sends a built message. An error wrapping ErrUncertain means the
// message may have left (a timeout after it was handed over); any other
// error means it did not.
type Sender interface {
	Send(ctx context.Context, from, to string, raw []byte) error
}

// ErrUncertain marks a send whose outcome the mail service did not say.
var ErrUncertain = errors.New("the mail service did not say whether it sent")

// Cause names a send error's kind without its text (a mail service's
// message may name the recipient): the SES error code, "timeout",
// "uncertain", "smtp" or "error".
func Cause(err error) string {
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrUncertain):
		return "uncertain"
	case errors.Is(err, errSMTP):
		return "smtp"
	}
	return "error"
}

var errSMTP = errors.New("smtp")

// SMTP sends through an SMTP server without authentication (Mailpit, a
// local relay). Each message is one connection, bounded by the context.
type SMTP struct {
	Addr string // host:port
}

// Send delivers raw to one recipient.
func (s SMTP) Send(ctx context.Context, from, to string, raw []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.Addr, err)
	}
	defer c.Close()
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return err
	}
	// Before the end of DATA the server has taken nothing: a refusal. Its
	// reply's text may repeat the address, so only the step is named.
	if err := c.Mail(fa.Address); err != nil {
		return fmt.Errorf("%w MAIL refused", errSMTP)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("%w RCPT refused the recipient", errSMTP)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("%w DATA refused", errSMTP)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("%w DATA: %w", errSMTP, ErrUncertain)
	}
	if err := w.Close(); err != nil {
		// The server's answer to the message: a refusal, unless the
		// connection broke and no answer came.
		var tp *textproto.Error
		if errors.As(err, &tp) {
			return fmt.Errorf("%w message refused (%d)", errSMTP, tp.Code)
		}
		return fmt.Errorf("%w end of DATA: %w", errSMTP, ErrUncertain)
	}
	_ = c.Quit() // accepted (250): a failing QUIT changes nothing
	return nil
}

// SESAPI is the part of SES v2 that sends.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ SESAPI = (*sesv2.Client)(nil)

// SES sends through Amazon SES v2 as a raw message, from the verified
// identity the template permits (FromArn, optional).
type SES struct {
	Client           SESAPI
	ConfigurationSet string // optional
}

// Send delivers raw to one recipient.
func (s SES) Send(ctx context.Context, from, to string, raw []byte) error {
	fa, err := mail.ParseAddress(from)
	if err != nil {
		return err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(fa.Address), // the display name is in the raw message's From
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	// One attempt: SendEmail is not idempotent, so the SDK must not send
	// again after a timeout.
	if _, err := s.Client.SendEmail(ctx, in, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 }); err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient {
			return fmt.Errorf("ses refused: %w", err) // MessageRejected, a paused account, a bad request: not sent
		}
		return fmt.Errorf("ses: %w: %w", ErrUncertain, err)
	}
	return nil
}

// Mask shows enough of an email address or phone number for a person to
// recognise it and no more: z***@example.com, 138****8000.
func Mask(kind, v string) string {
	switch kind {
	case "email":
		local, domain, ok := strings.Cut(v, "@")
		if !ok || local == "" {
			return "***"
		}
		r := []rune(local)
		return string(r[0]) + "***@" + domain
	case "phone":
		digits := strings.TrimPrefix(v, "+")
		if strings.HasPrefix(digits, "86") && len(digits) == 13 {
			digits = digits[2:]
		}
		if len(digits) < 8 {
			return "****"
		}
		// The last four, and the first three only of a number long enough
		// that at least four stay hidden.
		head := ""
		if len(digits) >= 11 {
			head = digits[:3]
		}
		return head + strings.Repeat("*", len(digits)-len(head)-4) + digits[len(digits)-4:]
	default:
		return "***"
	}
}
