package webhook

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Survey tools.
const (
	Typeform     Provider = "typeform"
	SurveyMonkey Provider = "surveymonkey"
	Qualtrics    Provider = "qualtrics"
)

// SurveyProviders are the providers of survey sources.
var SurveyProviders = []Provider{Typeform, SurveyMonkey, Qualtrics}

// SurveyMaxAge is how old, by its signed time, a survey tool's delivery
// may be. None of the three signs a time in a header: a captured delivery
// could otherwise be replayed once its delivery mark (7 days) expired.
// Their retries end within a day or two.
const SurveyMaxAge = 6 * 24 * time.Hour

// signedAge refuses a delivery whose signed time is missing, older than
// SurveyMaxAge, or more than Tolerance in the future.
func signedAge(at time.Time, now time.Time) error { return signedAgeWithin(at, now, Tolerance) }

// signedAgeWithin is signedAge with its own tolerance for a future time.
func signedAgeWithin(at, now time.Time, future time.Duration) error {
	if at.IsZero() {
		return ErrMalformed
	}
	if d := now.Sub(at); d > SurveyMaxAge || d < -future {
		return ErrStale
	}
	return nil
}

// qualtricsZoneSpread is how far ahead of UTC an unzoned Qualtrics
// CompletedDate may be: it may be written in the account's local time
// (UTC+14 at the most), which read as UTC lies in the future.
const qualtricsZoneSpread = 14 * time.Hour

// Typeform: Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw
// body>; the body's form_response.submitted_at must be within SurveyMaxAge.
func verifyTypeform(r Request, s Secrets) (Verified, error) {
	sig, ok := strings.CutPrefix(r.header("typeform-signature"), "sha256=")
	if !ok {
		return Verified{}, ErrMissing
	}
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(want) != sha256.Size {
		return Verified{}, ErrSignature
	}
	if !anyMatch(want, s.Keys, func(k []byte) []byte { return mac(sha256.New, k, r.Body) }) {
		return Verified{}, ErrSignature
	}
	var doc struct {
		FormResponse struct {
			SubmittedAt time.Time `json:"submitted_at"`
		} `json:"form_response"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		return Verified{}, ErrMalformed
	}
	if err := signedAge(doc.FormResponse.SubmittedAt, r.Now); err != nil {
		return Verified{}, err
	}
	return Verified{Payload: r.Body}, nil
}

// TypeformSign is the Typeform-Signature a Typeform webhook carries.
func TypeformSign(secret, body []byte) string {
	return "sha256=" + base64.StdEncoding.EncodeToString(mac(sha256.New, secret, body))
}

// SurveyMonkey: Sm-Signature: base64 HMAC-SHA1 of the raw body, keyed
// "<api key>&<api secret>" (the source's Keys hold that whole key); the
// body's event_datetime must be within SurveyMaxAge.
func verifySurveyMonkey(r Request, s Secrets) (Verified, error) {
	sig := r.header("sm-signature")
	if sig == "" {
		return Verified{}, ErrMissing
	}
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(want) != sha1.Size {
		return Verified{}, ErrSignature
	}
	if !anyMatch(want, s.Keys, func(k []byte) []byte { return mac(sha1.New, k, r.Body) }) {
		return Verified{}, ErrSignature
	}
	var doc struct {
		EventDatetime string `json:"event_datetime"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		return Verified{}, ErrMalformed
	}
	if err := signedAge(parseLooseTime(doc.EventDatetime), r.Now); err != nil {
		return Verified{}, err
	}
	return Verified{Payload: r.Body}, nil
}

// SurveyMonkeySign is the Sm-Signature SurveyMonkey puts on a delivery.
func SurveyMonkeySign(apiKey, apiSecret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(sha1.New, []byte(apiKey+"&"+apiSecret), body))
}

// Qualtrics: an event subscription posts application/x-www-form-urlencoded
// Topic, MSG (a JSON document) and HMAC, the lowercase hex HMAC-SHA512 of
// MSG under the subscription's shared key; no header. The authenticated
// payload is MSG, whose CompletedDate must be within SurveyMaxAge.
func verifyQualtrics(r Request, s Secrets) (Verified, error) {
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return Verified{}, ErrMalformed
	}
	msg, sig := form.Get("MSG"), form.Get("HMAC")
	if msg == "" || sig == "" {
		return Verified{}, ErrMissing
	}
	want, err := hex.DecodeString(sig)
	if err != nil || len(want) != sha512.Size {
		return Verified{}, ErrSignature
	}
	if !anyMatch(want, s.Keys, func(k []byte) []byte { return mac(sha512.New, k, []byte(msg)) }) {
		return Verified{}, ErrSignature
	}
	var doc struct {
		CompletedDate string `json:"CompletedDate"`
	}
	if err := json.Unmarshal([]byte(msg), &doc); err != nil {
		return Verified{}, ErrMalformed
	}
	if err := signedAgeWithin(parseLooseTime(doc.CompletedDate), r.Now, qualtricsZoneSpread+Tolerance); err != nil {
		return Verified{}, err
	}
	return Verified{Payload: []byte(msg)}, nil
}

// QualtricsSign is the HMAC form field of a Qualtrics event for msg.
func QualtricsSign(sharedKey, msg string) string {
	return hex.EncodeToString(mac(sha512.New, []byte(sharedKey), []byte(msg)))
}

// parseLooseTime reads the time formats the survey tools write:
// RFC 3339 (with or without fraction or zone) and "2006-01-02 15:04:05"
// (UTC). The zero time when none fits.
func parseLooseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
