// Package envelope encrypts personal data by confidentiality tier: a data key
// per tier from KMS GenerateDataKey, cached in the warm function for a bounded
// age and number of uses, and AES-256-GCM with a random nonce whose
// associated data binds each ciphertext to its table, customer, attribute
// and tier.
package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/kehu-dev/kehu/shared/customer"
)

// KeyService is the part of KMS that sealing needs.
type KeyService interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
}

// Decrypter is the part of KMS that opening needs.
type Decrypter interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var (
	_ KeyService = (*kms.Client)(nil)
	_ Decrypter  = (*kms.Client)(nil)
)

// Errors. KMS failures that a retry may cure wrap ErrUnavailable.
var (
	ErrUnavailable = errors.New("key service unavailable")
	ErrDenied      = errors.New("key service denied the request")
	ErrMalformed   = errors.New("malformed ciphertext")
	ErrOpen        = errors.New("ciphertext does not open under this table, customer, attribute and tier")
	ErrNoKey       = errors.New("no KMS key configured for tier")
)

// AAD is what a ciphertext is bound to.
type AAD struct {
	Table     string
	Customer  string
	Attribute string
	Tier      customer.Tier
}

func (a AAD) bytes() []byte {
	var b bytes.Buffer
	b.WriteString("kehu/envelope/v1")
	for _, s := range []string{a.Table, a.Customer, a.Attribute, string(a.Tier)} {
		_ = binary.Write(&b, binary.BigEndian, uint16(len(s)))
		b.WriteString(s)
	}
	return b.Bytes()
}

// Context is the KMS encryption context of a tier's data keys. It holds no
// personal data and no customer id: one data key serves many customers.
func Context(table string, tier customer.Tier) map[string]string {
	return map[string]string{"kehu:table": table, "kehu:tier": string(tier)}
}

const (
	version   = 1
	nonceSize = 12
	// DefaultMaxAge and DefaultMaxUses bound how long and how often a cached
	// data key is used. 2^20 messages is far below the 2^32 random-nonce
	// limit of AES-GCM.
	DefaultMaxAge  = 5 * time.Minute
	DefaultMaxUses = 1 << 20
)

var tierCode = map[customer.Tier]byte{customer.Confidential: 'C', customer.Restricted: 'R'}

func tierOf(code byte) (customer.Tier, bool) {
	for t, c := range tierCode {
		if c == code {
			return t, true
		}
	}
	return "", false
}

// Blob layout: version(1) | tier(1) | key ref(8) | nonce(12) | ciphertext+tag.
// The wrapped data key is kept once per item (see Sealed.Ref), not per value:
// a profile's fields share a few data keys, and every profile write pays for
// the item's size.
const (
	refSize    = 8
	headerSize = 2 + refSize
)

// Ref names a wrapped data key: the first 8 bytes of its SHA-256, in hex.
func Ref(wrapped []byte) string {
	sum := sha256.Sum256(wrapped)
	return hex.EncodeToString(sum[:refSize])
}

// Sealed is a sealed value and the wrapped data key it needs, which the
// caller stores beside it under Ref.
type Sealed struct {
	Blob    []byte
	Ref     string
	Wrapped []byte
}

type dataKey struct {
	aead    cipher.AEAD
	wrapped []byte
	ref     []byte
	born    time.Time
	uses    int
}

func newDataKey(plain, wrapped []byte, born time.Time) (*dataKey, error) {
	aead, err := newGCM(plain)
	if err != nil {
		return nil, err
	}
	ref, _ := hex.DecodeString(Ref(wrapped))
	return &dataKey{aead: aead, wrapped: wrapped, ref: ref, born: born, uses: 1}, nil
}

// Sealer encrypts values. It is safe for concurrent use.
type Sealer struct {
	kms     KeyService
	table   string
	keys    map[customer.Tier]string
	MaxAge  time.Duration
	MaxUses int
	Now     func() time.Time

	mu    sync.Mutex
	cache map[customer.Tier]*dataKey
	calls atomic.Int64
}

// NewSealer returns a sealer for table using the KMS key ids (or aliases) per tier.
func NewSealer(k KeyService, table string, keys map[customer.Tier]string) *Sealer {
	return &Sealer{kms: k, table: table, keys: keys, MaxAge: DefaultMaxAge, MaxUses: DefaultMaxUses,
		Now: time.Now, cache: map[customer.Tier]*dataKey{}}
}

// KMSCalls is the number of GenerateDataKey calls made so far.
func (s *Sealer) KMSCalls() int64 { return s.calls.Load() }

// Seal encrypts plaintext for aad.Tier, bound to aad.
func (s *Sealer) Seal(ctx context.Context, aad AAD, plaintext []byte) (Sealed, error) {
	code, ok := tierCode[aad.Tier]
	if !ok {
		return Sealed{}, fmt.Errorf("seal %s: tier %q is not encrypted", aad.Attribute, aad.Tier)
	}
	if aad.Table != s.table {
		return Sealed{}, fmt.Errorf("seal %s: table %q is not this sealer's", aad.Attribute, aad.Table)
	}
	dk, err := s.key(ctx, aad.Tier)
	if err != nil {
		return Sealed{}, err
	}
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal nonce: %w", err)
	}
	return Sealed{Blob: seal(dk, code, nonce, plaintext, aad.bytes()), Ref: hex.EncodeToString(dk.ref), Wrapped: dk.wrapped}, nil
}

func seal(dk *dataKey, code byte, nonce, plaintext, aad []byte) []byte {
	out := make([]byte, 0, headerSize+nonceSize+len(plaintext)+dk.aead.Overhead())
	out = append(out, version, code)
	out = append(out, dk.ref...)
	out = append(out, nonce...)
	return dk.aead.Seal(out, nonce, plaintext, aad)
}

func (s *Sealer) key(ctx context.Context, tier customer.Tier) (*dataKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	if dk := s.cache[tier]; dk != nil && dk.uses < s.MaxUses && now.Sub(dk.born) < s.MaxAge {
		dk.uses++
		return dk, nil
	}
	keyID := s.keys[tier]
	if keyID == "" {
		return nil, fmt.Errorf("%w %s", ErrNoKey, tier)
	}
	s.calls.Add(1)
	out, err := s.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: Context(s.table, tier),
	})
	if err != nil {
		return nil, fmt.Errorf("generate %s data key: %w", tier, Classify(err))
	}
	if len(out.Plaintext) != 32 || len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("generate %s data key: unexpected key sizes", tier)
	}
	dk, err := newDataKey(out.Plaintext, out.CiphertextBlob, now)
	clear(out.Plaintext)
	if err != nil {
		return nil, err
	}
	s.cache[tier] = dk
	return dk, nil
}

// Opener decrypts values. It caches unwrapped data keys by their wrapped
// form, so reading many fields sealed under one data key costs one Decrypt.
type Opener struct {
	kms   Decrypter
	mu    sync.Mutex
	cache map[[32]byte]cipher.AEAD
	calls atomic.Int64
}

// NewOpener returns an opener using KMS Decrypt.
func NewOpener(k Decrypter) *Opener {
	return &Opener{kms: k, cache: map[[32]byte]cipher.AEAD{}}
}

// KMSCalls is the number of Decrypt calls made so far.
func (o *Opener) KMSCalls() int64 { return o.calls.Load() }

// Open decrypts blob, which must have been sealed for exactly aad. keys
// maps key refs to wrapped data keys, as stored beside the blob.
func (o *Opener) Open(ctx context.Context, aad AAD, blob []byte, keys map[string][]byte) ([]byte, error) {
	tier, ref, nonce, ct, err := Parse(blob)
	if err != nil {
		return nil, err
	}
	if tier != aad.Tier {
		return nil, ErrOpen
	}
	wrapped, ok := keys[ref]
	if !ok || Ref(wrapped) != ref {
		return nil, fmt.Errorf("%w: its data key %s is not stored with it", ErrMalformed, ref)
	}
	aead, err := o.unwrap(ctx, aad.Table, tier, wrapped)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, ct, aad.bytes())
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

func (o *Opener) unwrap(ctx context.Context, table string, tier customer.Tier, wrapped []byte) (cipher.AEAD, error) {
	id := sha256.Sum256(append([]byte(table+"\x00"+string(tier)+"\x00"), wrapped...))
	o.mu.Lock()
	aead := o.cache[id]
	o.mu.Unlock()
	if aead != nil {
		return aead, nil
	}
	o.calls.Add(1)
	out, err := o.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, EncryptionContext: Context(table, tier)})
	if err != nil {
		return nil, fmt.Errorf("decrypt %s data key: %w", tier, Classify(err))
	}
	aead, err = newGCM(out.Plaintext)
	clear(out.Plaintext)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	if len(o.cache) > 256 {
		clear(o.cache)
	}
	o.cache[id] = aead
	o.mu.Unlock()
	return aead, nil
}

// Parse splits a blob into its parts without decrypting it.
func Parse(blob []byte) (tier customer.Tier, ref string, nonce, ct []byte, err error) {
	if len(blob) < headerSize+nonceSize+16 || blob[0] != version {
		return "", "", nil, nil, ErrMalformed
	}
	tier, ok := tierOf(blob[1])
	if !ok {
		return "", "", nil, nil, ErrMalformed
	}
	rest := blob[headerSize:]
	return tier, hex.EncodeToString(blob[2:headerSize]), rest[:nonceSize], rest[nonceSize:], nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}

// Classify wraps a KMS error: denials and bad input as ErrDenied, everything
// a retry may cure (throttling, timeouts, unreachable endpoint, 5xx) as
// ErrUnavailable. The original error stays in the chain for the log.
func Classify(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDeniedException", "NotFoundException", "DisabledException", "InvalidKeyUsageException",
			"InvalidCiphertextException", "IncorrectKeyException", "KMSInvalidStateException", "ValidationException",
			"UnrecognizedClientException", "InvalidSignatureException":
			return errors.Join(ErrDenied, err)
		}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return errors.Join(ErrUnavailable, err)
}
