// Package blindindex finds customers without plaintext: keyed HMACs of the
// normalised email address and phone number point to a customer id. The
// secret is a KMS-wrapped random key, unwrapped once per cold start; from it
// HKDF derives one key per use so that an email hash, a phone hash and a
// consent proof can never be compared with each other.
package blindindex

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
)

// Kind names what a hash was made of. It appears in item keys.
type Kind string

// Identity kinds (customer.Identities) are kinds of their own; the rest are
// for kehu's own use and never appear in keys.
const (
	Email       Kind = Kind(customer.IdentityEmail)
	Phone       Kind = Kind(customer.IdentityPhone)
	proof       Kind = "consent-proof"
	request     Kind = "request"
	idemKey     Kind = "idempotency-key"
	fingerprint Kind = "value"
)

func kinds() []Kind {
	out := []Kind{proof, request, idemKey, fingerprint}
	for _, id := range customer.Identities() {
		out = append(out, Kind(id.Kind))
	}
	return out
}

// Context is the KMS encryption context of the wrapped secret.
func Context(table string) map[string]string {
	return map[string]string{"kehu:table": table, "kehu:purpose": "blind-index"}
}

// Index computes blind-index hashes. It holds derived keys only.
type Index struct {
	keys map[Kind][]byte
}

// ErrSecret is returned for a secret of the wrong size.
var ErrSecret = errors.New("blind index secret must be 32 bytes")

// New derives the index keys from a 32-byte secret.
func New(secret []byte) (*Index, error) {
	if len(secret) != 32 {
		return nil, ErrSecret
	}
	ix := &Index{keys: map[Kind][]byte{}}
	for _, k := range kinds() {
		key, err := hkdf.Key(sha256.New, secret, []byte("kehu/blind-index/v1"), "kehu "+string(k), 32)
		if err != nil {
			return nil, fmt.Errorf("derive %s key: %w", k, err)
		}
		ix.keys[k] = key
	}
	return ix, nil
}

// Unwrap decrypts the wrapped secret with KMS (one call) and derives the keys.
func Unwrap(ctx context.Context, k envelope.Decrypter, keyID, table string, wrapped []byte) (*Index, error) {
	in := &kms.DecryptInput{CiphertextBlob: wrapped, EncryptionContext: Context(table)}
	if keyID != "" {
		in.KeyId = aws.String(keyID) // pin the key: a blob under another key is refused
	}
	out, err := k.Decrypt(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("unwrap blind index secret: %w", envelope.Classify(err))
	}
	defer clear(out.Plaintext)
	return New(out.Plaintext)
}

// Hash returns the blind index of a normalised value of the given kind.
func (ix *Index) Hash(kind Kind, normalised string) string {
	key, ok := ix.keys[kind]
	if !ok {
		panic("blindindex: unknown kind " + string(kind))
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(normalised))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Identity returns the blind index of an identifier: the keyed hash of its
// match key (customer.Identity.Match of the normalised value).
func (ix *Index) Identity(kind customer.IdentityKind, normalised string) string {
	id, ok := customer.IdentityOfKind(kind)
	if !ok {
		panic("blindindex: unknown identity kind " + string(kind))
	}
	return ix.Hash(Kind(kind), id.Match(normalised))
}

// Fingerprint is a short keyed hash of one field's normalised value, kept
// beside the value's reference so that a later submission can be told to
// agree or disagree with it without decrypting anything. 72 bits: a
// collision only hides one disagreement from review.
//
// Bound to the customer, so equal values of two customers cannot be told
// apart.
func (ix *Index) Fingerprint(customerID, field, normalised string) string {
	return ix.Hash(fingerprint, customerID+"\x00"+field+"\x00"+normalised)[:12]
}

// Request returns the keyed hash that identifies a request's content for
// idempotency. Keyed, because its input is personal data: an unkeyed hash
// of a form with few fields could be reversed by trying values.
func (ix *Index) Request(canonical string) string { return ix.Hash(request, canonical) }

// IdempotencyKey returns the keyed hash under which a client's
// idempotency key is stored (a client may put anything in its key).
func (ix *Index) IdempotencyKey(scope, key string) string { return ix.Hash(idemKey, scope+"\x00"+key) }

// Proof returns the keyed hash kept as proof of who consented: the client
// address and user agent, never stored raw.
func (ix *Index) Proof(clientIP, userAgent string) string {
	return ix.Hash(proof, clientIP+"\x00"+userAgent)
}
