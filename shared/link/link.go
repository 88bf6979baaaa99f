// Package link signs and checks the tokens in the links kehu sends to a
// customer: the update survey, the confirmation of a new address, the
// one-click withdrawal of a purpose. A token names the customer (an id),
// what it is for and what it acts on (a survey id, a purpose, a
// submission id) and when it expires; it carries no personal data. It is
// signed with HMAC-SHA256 under a key derived for its purpose from the
// table's link secret (a KMS-wrapped random key), so a token made for one
// purpose does not verify as another, and a changed byte fails. Whether a
// token was used already is the store's business (single-use tokens are
// marked in the same transaction as what they do).
//
// The format is "k1." + base64url(claims JSON) + "." + base64url(MAC), the
// MAC over everything before the last dot. The tokens are standard library
// only; keys.go unwraps the secret with KMS.
package link

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Purpose says what a token may be used for.
type Purpose string

const (
	Survey   Purpose = "survey"   // answer an update survey (Subject: the survey id); single use
	Confirm  Purpose = "confirm"  // confirm an address (Subject: "<kind>:<submission id>" that added it); single use
	Withdraw Purpose = "withdraw" // withdraw a consent purpose (Subject: the purpose); repeatable
	Privacy  Purpose = "privacy"  // the person's privacy page (Subject: "page:" and the address key it was sent to); repeatable
	Download Purpose = "download" // a copy of the person's data (Subject: the request id); short-lived
)

// Purposes lists every purpose, each with its own derived key.
var Purposes = []Purpose{Survey, Confirm, Withdraw, Privacy, Download}

// Claims is what a token says.
type Claims struct {
	Purpose  Purpose `json:"p"`
	Customer string  `json:"c"`
	Subject  string  `json:"s"`
	ID       string  `json:"j"` // random, unique per token: the single-use mark's key
	Expires  int64   `json:"e"` // unix seconds
}

// ExpiresAt is the claims' expiry as a time.
func (c Claims) ExpiresAt() time.Time { return time.Unix(c.Expires, 0).UTC() }

// Errors Parse returns. ErrForged covers every token that is not exactly
// one this key made (malformed, tampered, another purpose, another key);
// ErrExpired one that was genuine but is past its time.
var (
	ErrForged  = errors.New("link token is not genuine")
	ErrExpired = errors.New("link token has expired")
)

// SecretSize is the size of the link secret.
const SecretSize = 32

// MaxLen bounds a token: anything longer is refused before any work.
const MaxLen = 512

const version = "k1"

// Keys signs and verifies tokens. It holds derived keys only.
type Keys struct {
	sign   map[Purpose][]byte
	verify []map[Purpose][]byte // the signing key's first, then older secrets'
}

// New derives the keys from the current link secret and, optionally, older
// ones still accepted for verification (after a rotation, until the links
// made with them have expired).
func New(current []byte, older ...[]byte) (*Keys, error) {
	k := &Keys{}
	for i, secret := range append([][]byte{current}, older...) {
		if len(secret) != SecretSize {
			return nil, fmt.Errorf("link secret %d must be %d bytes", i, SecretSize)
		}
		m := map[Purpose][]byte{}
		for _, p := range Purposes {
			key, err := hkdf.Key(sha256.New, secret, []byte("kehu/link/v1"), "kehu link "+string(p), 32)
			if err != nil {
				return nil, err
			}
			m[p] = key
		}
		if i == 0 {
			k.sign = m
		}
		k.verify = append(k.verify, m)
	}
	return k, nil
}

var (
	customerID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	subject    = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,80}$`)
	tokenID    = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
)

func (c Claims) valid() bool {
	known := false
	for _, p := range Purposes {
		known = known || p == c.Purpose
	}
	return known && customerID.MatchString(c.Customer) && subject.MatchString(c.Subject) && tokenID.MatchString(c.ID) && c.Expires > 0
}

// NewID returns a random token id (128 bits, base64url).
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Sign returns the token for c. c.ID is filled in when empty.
func (k *Keys) Sign(c Claims) (string, Claims, error) {
	if c.ID == "" {
		c.ID = NewID()
	}
	if !c.valid() {
		return "", c, fmt.Errorf("link claims for purpose %q are not valid", c.Purpose)
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return "", c, err
	}
	head := version + "." + base64.RawURLEncoding.EncodeToString(doc)
	return head + "." + base64.RawURLEncoding.EncodeToString(mac(k.sign[c.Purpose], head)), c, nil
}

func mac(key []byte, head string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(head))
	return m.Sum(nil)
}

// Parse checks a token made for purpose and returns its claims: ErrForged
// unless it is exactly one of these keys made for that purpose, ErrExpired
// if it is past its time at now. The MAC is checked before the claims are
// decoded.
func (k *Keys) Parse(token string, purpose Purpose, now time.Time) (Claims, error) {
	var c Claims
	if len(token) > MaxLen {
		return c, ErrForged
	}
	head, sig, ok := cutLast(token, ".")
	if !ok {
		return c, ErrForged
	}
	ver, body, ok := strings.Cut(head, ".")
	if !ok || ver != version {
		return c, ErrForged
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return c, ErrForged
	}
	genuine := false
	for _, keys := range k.verify {
		key, ok := keys[purpose]
		if ok && hmac.Equal(got, mac(key, head)) {
			genuine = true
		}
	}
	if !genuine {
		return c, ErrForged
	}
	doc, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return c, ErrForged
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() || !c.valid() || c.Purpose != purpose {
		return Claims{}, ErrForged
	}
	if !now.Before(c.ExpiresAt()) {
		return c, ErrExpired
	}
	return c, nil
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
