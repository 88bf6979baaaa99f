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

// Purposes of the two wrapped secrets, in their encryption contexts.
const (
	// PurposeBlindIndex wraps the identity secret alone: operators unwrap
	// it to find a customer by email or phone.
	PurposeBlindIndex = "blind-index"
	// PurposeIntakeKeys wraps the identity secret and the internal secret
	// together: only the intake functions (and compliance) unwrap it, so
	// no operator can derive the keys of value fingerprints, consent
	// proofs or request hashes and test guesses against them.
	PurposeIntakeKeys = "intake-keys"
)

// Context is the KMS encryption context of the wrapped identity secret.
func Context(table string) map[string]string {
	return map[string]string{"kehu:table": table, "kehu:purpose": PurposeBlindIndex}
}

// IntakeContext is the KMS encryption context of the wrapped intake keys.
func IntakeContext(table string) map[string]string {
	return map[string]string{"kehu:table": table, "kehu:purpose": PurposeIntakeKeys}
}

// Index computes blind-index hashes. It holds derived keys only.
type Index struct {
	keys map[Kind][]byte
}

// ErrSecret is returned for a secret of the wrong size.
var ErrSecret = errors.New("blind index secret must be 32 bytes")

// New derives every key from one 32-byte secret (the test vectors' form).
func New(secret []byte) (*Index, error) { return NewSplit(secret, secret) }

// NewSplit derives the identity kinds' keys from the identity secret and
// kehu's internal keys (fingerprints, proofs, request and key hashes) from
// the internal secret. Either may be nil: an index without the internal
// secret can only find customers.
func NewSplit(identity, internal []byte) (*Index, error) {
	ix := &Index{keys: map[Kind][]byte{}}
	for _, k := range kinds() {
		secret := internal
		if _, isIdentity := customer.IdentityOfKind(customer.IdentityKind(k)); isIdentity {
			secret = identity
		}
		if secret == nil {
			continue
		}
		if len(secret) != 32 {
			return nil, ErrSecret
		}
		key, err := hkdf.Key(sha256.New, secret, []byte("kehu/blind-index/v1"), "kehu "+string(k), 32)
		if err != nil {
			return nil, fmt.Errorf("derive %s key: %w", k, err)
		}
		ix.keys[k] = key
	}
	return ix, nil
}

// Unwrap decrypts the wrapped identity secret with KMS (one call): an
// index that finds customers, for operators.
func Unwrap(ctx context.Context, k envelope.Decrypter, keyID, table string, wrapped []byte) (*Index, error) {
	plain, err := unwrap(ctx, k, keyID, wrapped, Context(table))
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return NewSplit(plain, nil)
}

// UnwrapIntake decrypts the wrapped intake keys (identity secret and
// internal secret, 64 bytes) with KMS: one call per cold start.
func UnwrapIntake(ctx context.Context, k envelope.Decrypter, keyID, table string, wrapped []byte) (*Index, error) {
	plain, err := unwrap(ctx, k, keyID, wrapped, IntakeContext(table))
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	if len(plain) != 64 {
		return nil, ErrSecret
	}
	return NewSplit(plain[:32], plain[32:])
}

func unwrap(ctx context.Context, k envelope.Decrypter, keyID string, wrapped []byte, ec map[string]string) ([]byte, error) {
	in := &kms.DecryptInput{CiphertextBlob: wrapped, EncryptionContext: ec}
	if keyID != "" {
		in.KeyId = aws.String(keyID) // pin the key: a blob under another key is refused
	}
	out, err := k.Decrypt(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("unwrap %s secret: %w", ec["kehu:purpose"], envelope.Classify(err))
	}
	return out.Plaintext, nil
}

// Hash returns the blind index of a normalised value of the given kind.
func (ix *Index) Hash(kind Kind, normalised string) string {
	key, ok := ix.keys[kind]
	if !ok {
		panic("blindindex: no key for kind " + string(kind) + " (unknown, or this index holds the identity secret only)")
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

// Conversation returns the label a chat conversation is kept under: a
// keyed hash of the source and the tool's conversation id (a direct
// message channel, a ticket number: pseudonymous, so never kept plain),
// the same for every message of the conversation; "" for none.
func (ix *Index) Conversation(source, id string) string {
	if id == "" {
		return ""
	}
	return ix.Request("conversation\x00" + source + "\x00" + id)[:16]
}

// IdempotencyKey returns the keyed hash under which a client's
// idempotency key is stored (a client may put anything in its key).
func (ix *Index) IdempotencyKey(scope, key string) string { return ix.Hash(idemKey, scope+"\x00"+key) }

// Proof returns the keyed hash kept as proof of who consented: the client
// address and user agent, never stored raw.
func (ix *Index) Proof(clientIP, userAgent string) string {
	return ix.Hash(proof, clientIP+"\x00"+userAgent)
}
