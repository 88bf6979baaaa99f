// Package webhook authenticates and reads provider webhooks: one verifier
// per provider, raw body in, typed error out, constant-time comparisons,
// replay windows where the provider signs a time; and one mapper per
// provider turning an authentic payload into an event for the intake
// pipeline. It speaks no AWS and stores nothing.
package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// Provider names a webhook sender's signing scheme and payload format.
type Provider string

const (
	Intercom Provider = "intercom"
	Zendesk  Provider = "zendesk"
	Slack    Provider = "slack"
	WeCom    Provider = "wecom"
	Standard Provider = "standard" // standardwebhooks.com
)

// Providers lists every provider kehu verifies.
var Providers = []Provider{Intercom, Zendesk, Slack, WeCom, Standard, Typeform, SurveyMonkey, Qualtrics}

// Valid reports whether p is a known provider.
func (p Provider) Valid() bool {
	for _, q := range Providers {
		if p == q {
			return true
		}
	}
	return false
}

// Tolerance is how far a signed timestamp may be from now.
const Tolerance = 5 * time.Minute

// Errors. None of them says anything about a secret.
var (
	ErrMissing   = errors.New("signature or its headers missing")
	ErrSignature = errors.New("signature does not match")
	ErrStale     = errors.New("signed timestamp outside the tolerance (replay)")
	ErrMalformed = errors.New("signed envelope malformed")
)

// Request is what a verifier sees of an HTTP request.
type Request struct {
	Method string
	Header map[string]string // names in lower case
	Query  map[string]string
	Body   []byte // the raw body, exactly as received
	Now    time.Time
}

func (r Request) header(name string) string { return r.Header[name] }

// Secrets are a source's keys, unwrapped. Every one of Keys is tried: a
// source accepts all its active secrets until one is removed (rotation).
type Secrets struct {
	Keys   [][]byte // Intercom client secret, Zendesk/Slack signing secret, Standard Webhooks key (decoded), WeCom token
	AESKey []byte   // WeCom: the 32-byte key of the EncodingAESKey
	CorpID string   // WeCom: the receiving corp id (plain configuration)
}

// Verified is an authenticated request.
type Verified struct {
	// Payload is the authenticated content: the body, or for WeCom the
	// decrypted message.
	Payload []byte
	// EventID is the delivery id the signature covers (Standard Webhooks'
	// webhook-id), "" otherwise.
	EventID string
	// Challenge is set for a WeCom URL check: the decrypted echostr.
	Challenge string
}

// Verify authenticates a request for provider.
func Verify(p Provider, r Request, s Secrets) (Verified, error) {
	if len(s.Keys) == 0 {
		return Verified{}, ErrSignature
	}
	switch p {
	case Intercom:
		return verifyIntercom(r, s)
	case Zendesk:
		return verifyZendesk(r, s)
	case Slack:
		return verifySlack(r, s)
	case Standard:
		return verifyStandard(r, s)
	case WeCom:
		return verifyWeCom(r, s)
	case Typeform:
		return verifyTypeform(r, s)
	case SurveyMonkey:
		return verifySurveyMonkey(r, s)
	case Qualtrics:
		return verifyQualtrics(r, s)
	}
	return Verified{}, fmt.Errorf("unknown provider %q", p)
}

func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// anyMatch compares want against the MAC under every key, in constant time
// for each.
func anyMatch(want []byte, keys [][]byte, sum func(key []byte) []byte) bool {
	ok := false
	for _, k := range keys {
		if hmac.Equal(want, sum(k)) {
			ok = true
		}
	}
	return ok
}

// IntercomMaxAge is how old, by its signed first_sent_at, an Intercom
// notification may be. Intercom signs the body only, with no time: a
// captured notification could otherwise be replayed once its delivery mark
// (store.KeepDelivery, 7 days) has expired. Intercom's retries end within
// hours.
const IntercomMaxAge = 6 * 24 * time.Hour

// Intercom: X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>; the body's
// first_sent_at (created_at) must be within IntercomMaxAge.
func verifyIntercom(r Request, s Secrets) (Verified, error) {
	sig, ok := strings.CutPrefix(r.header("x-hub-signature"), "sha1=")
	if !ok {
		return Verified{}, ErrMissing
	}
	want, err := hex.DecodeString(sig)
	if err != nil || len(want) != sha1.Size {
		return Verified{}, ErrSignature
	}
	if !anyMatch(want, s.Keys, func(k []byte) []byte { return mac(sha1.New, k, r.Body) }) {
		return Verified{}, ErrSignature
	}
	var sent struct {
		FirstSentAt int64 `json:"first_sent_at"`
		CreatedAt   int64 `json:"created_at"`
	}
	if err := json.Unmarshal(r.Body, &sent); err != nil || max(sent.FirstSentAt, sent.CreatedAt) <= 0 {
		return Verified{}, ErrMalformed
	}
	at := sent.FirstSentAt
	if at <= 0 {
		at = sent.CreatedAt
	}
	if d := r.Now.Sub(time.Unix(at, 0)); d > IntercomMaxAge || d < -Tolerance {
		return Verified{}, ErrStale
	}
	return Verified{Payload: r.Body}, nil
}

// Zendesk: base64 HMAC-SHA256 of timestamp + body, the secret used as is.
func verifyZendesk(r Request, s Secrets) (Verified, error) {
	sig, ts := r.header("x-zendesk-webhook-signature"), r.header("x-zendesk-webhook-signature-timestamp")
	if sig == "" || ts == "" {
		return Verified{}, ErrMissing
	}
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(want) != sha256.Size {
		return Verified{}, ErrSignature
	}
	if !anyMatch(want, s.Keys, func(k []byte) []byte { return mac(sha256.New, k, []byte(ts), r.Body) }) {
		return Verified{}, ErrSignature
	}
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return Verified{}, ErrMalformed
	}
	if err := fresh(at, r.Now); err != nil {
		return Verified{}, err
	}
	// The invocation id header is not signed: the event is taken once by
	// a hash of its signed body instead (Verified.EventID stays "").
	return Verified{Payload: r.Body}, nil
}

// Slack: X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:" ts ":" body>.
func verifySlack(r Request, s Secrets) (Verified, error) {
	sig, ts := r.header("x-slack-signature"), r.header("x-slack-request-timestamp")
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok || ts == "" {
		return Verified{}, ErrMissing
	}
	want, err := hex.DecodeString(hexSig)
	if err != nil || len(want) != sha256.Size {
		return Verified{}, ErrSignature
	}
	if !anyMatch(want, s.Keys, func(k []byte) []byte { return mac(sha256.New, k, []byte("v0:"+ts+":"), r.Body) }) {
		return Verified{}, ErrSignature
	}
	if err := freshUnix(ts, r.Now); err != nil {
		return Verified{}, err
	}
	return Verified{Payload: r.Body}, nil
}

// Standard Webhooks: webhook-signature holds space-separated
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>"; any one valid suffices.
func verifyStandard(r Request, s Secrets) (Verified, error) {
	id, ts, sigs := r.header("webhook-id"), r.header("webhook-timestamp"), r.header("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return Verified{}, ErrMissing
	}
	sums := make([][]byte, len(s.Keys))
	for i, k := range s.Keys {
		sums[i] = mac(sha256.New, k, []byte(id+"."+ts+"."), r.Body)
	}
	ok := false
	for _, sig := range strings.Fields(sigs) {
		v, b64, found := strings.Cut(sig, ",")
		if !found || v != "v1" {
			continue
		}
		want, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(want) != sha256.Size {
			continue
		}
		for _, sum := range sums {
			if hmac.Equal(want, sum) {
				ok = true
			}
		}
	}
	if !ok {
		return Verified{}, ErrSignature
	}
	if err := freshUnix(ts, r.Now); err != nil {
		return Verified{}, err
	}
	return Verified{Payload: r.Body, EventID: id}, nil
}

// StandardSign is the webhook-signature a Standard Webhooks sender puts
// on a delivery (key decoded by StandardSecret, ts in unix seconds): what
// Verify accepts.
func StandardSign(key []byte, id, ts string, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(sha256.New, key, []byte(id+"."+ts+"."), body))
}

// StandardSecret decodes a Standard Webhooks secret ("whsec_" + base64).
func StandardSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New(`a Standard Webhooks secret starts with "whsec_"`)
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) < 16 {
		return nil, errors.New("a Standard Webhooks secret is whsec_ and at least 16 bytes in base64")
	}
	return k, nil
}

func freshUnix(ts string, now time.Time) error {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMalformed
	}
	return fresh(time.Unix(n, 0), now)
}

func fresh(at, now time.Time) error {
	if d := now.Sub(at); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	return nil
}
