package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kehu-dev/kehu/shared/customer"
)

// fakeKMS wraps data keys with one AES-GCM master key per key id and
// checks the encryption context, like KMS. For unit tests only; the
// integration tests use the local KMS server through the real client.
type fakeKMS struct {
	mu       sync.Mutex
	master   map[string]cipher.AEAD
	calls    int
	fail     error
	lastEC   map[string]string
	plainFor map[string][]byte // wrapped → plaintext, for the vector test
}

func newFakeKMS() *fakeKMS {
	f := &fakeKMS{master: map[string]cipher.AEAD{}, plainFor: map[string][]byte{}}
	for _, id := range []string{"alias/c", "alias/r"} {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		b, _ := aes.NewCipher(k)
		f.master[id], _ = cipher.NewGCM(b)
	}
	return f
}

func ecBytes(ec map[string]string) []byte { return []byte(fmt.Sprint(ec)) } // fmt sorts map keys

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	f.lastEC = maps.Clone(in.EncryptionContext)
	m := f.master[*in.KeyId]
	plain := make([]byte, 32)
	_, _ = rand.Read(plain)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	wrapped := append([]byte(*in.KeyId+"|"), nonce...)
	wrapped = m.Seal(wrapped, nonce, plain, ecBytes(in.EncryptionContext))
	return &kms.GenerateDataKeyOutput{Plaintext: bytes.Clone(plain), CiphertextBlob: wrapped}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if p, ok := f.plainFor[string(in.CiphertextBlob)]; ok {
		return &kms.DecryptOutput{Plaintext: bytes.Clone(p)}, nil
	}
	i := bytes.IndexByte(in.CiphertextBlob, '|')
	if i < 0 {
		return nil, &smithy.GenericAPIError{Code: "InvalidCiphertextException"}
	}
	m := f.master[string(in.CiphertextBlob[:i])]
	rest := in.CiphertextBlob[i+1:]
	if m == nil || len(rest) < 12 {
		return nil, &smithy.GenericAPIError{Code: "InvalidCiphertextException"}
	}
	plain, err := m.Open(nil, rest[:12], rest[12:], ecBytes(in.EncryptionContext))
	if err != nil {
		return nil, &smithy.GenericAPIError{Code: "InvalidCiphertextException"}
	}
	return &kms.DecryptOutput{Plaintext: plain}, nil
}

var keys0 = map[customer.Tier]string{customer.Confidential: "alias/c", customer.Restricted: "alias/r"}

func aad(cust, attr string, tier customer.Tier) AAD {
	return AAD{Table: "kehu", Customer: cust, Attribute: attr, Tier: tier}
}

func TestRoundTripAndBinding(t *testing.T) {
	ctx := context.Background()
	f := newFakeKMS()
	s := NewSealer(f, "kehu", keys0)
	o := NewOpener(f)
	sealed, err := s.Seal(ctx, aad("c-1", "pii.name", customer.Confidential), []byte("张伟"))
	if err != nil {
		t.Fatal(err)
	}
	blob, keys := sealed.Blob, map[string][]byte{sealed.Ref: sealed.Wrapped}
	if sealed.Ref != Ref(sealed.Wrapped) || len(sealed.Ref) != 16 {
		t.Fatalf("ref %q does not name the wrapped key", sealed.Ref)
	}
	if bytes.Contains(blob, []byte("张伟")) {
		t.Fatal("plaintext visible in the blob")
	}
	if f.lastEC["kehu:table"] != "kehu" || f.lastEC["kehu:tier"] != "confidential" || len(f.lastEC) != 2 {
		t.Fatalf("encryption context %v", f.lastEC)
	}
	got, err := o.Open(ctx, aad("c-1", "pii.name", customer.Confidential), blob, keys)
	if err != nil || string(got) != "张伟" {
		t.Fatalf("open: %q %v", got, err)
	}
	negatives := map[string]AAD{
		"other customer":  aad("c-2", "pii.name", customer.Confidential),
		"other attribute": aad("c-1", "pii.email", customer.Confidential),
		"other tier":      aad("c-1", "pii.name", customer.Restricted),
		"other table":     {Table: "other", Customer: "c-1", Attribute: "pii.name", Tier: customer.Confidential},
		// Length prefixes keep field boundaries: "c-1"+"pii.name" ≠ "c-1p"+"ii.name".
		"shifted boundary": aad("c-1p", "ii.name", customer.Confidential),
	}
	for name, a := range negatives {
		t.Run(name, func(t *testing.T) {
			if _, err := o.Open(ctx, a, blob, keys); err == nil {
				t.Fatal("opened under the wrong binding")
			}
		})
	}
	t.Run("tampered ciphertext", func(t *testing.T) {
		bad := bytes.Clone(blob)
		bad[len(bad)-1] ^= 0x80
		if _, err := o.Open(ctx, aad("c-1", "pii.name", customer.Confidential), bad, keys); !errors.Is(err, ErrOpen) {
			t.Fatalf("err %v, want ErrOpen", err)
		}
	})
	t.Run("tampered wrapped key", func(t *testing.T) {
		w := bytes.Clone(sealed.Wrapped)
		w[len(w)-1] ^= 1
		if _, err := o.Open(ctx, aad("c-1", "pii.name", customer.Confidential), blob, map[string][]byte{sealed.Ref: w}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("opened with a tampered wrapped key: %v", err)
		}
	})
	t.Run("data key missing", func(t *testing.T) {
		if _, err := o.Open(ctx, aad("c-1", "pii.name", customer.Confidential), blob, nil); !errors.Is(err, ErrMalformed) {
			t.Fatalf("err %v, want ErrMalformed", err)
		}
	})
	t.Run("another data key under the same ref", func(t *testing.T) {
		s2 := NewSealer(f, "kehu", keys0)
		fresh, _ := s2.Seal(ctx, aad("c-1", "pii.name", customer.Confidential), []byte("y"))
		if _, err := o.Open(ctx, aad("c-1", "pii.name", customer.Confidential), blob, map[string][]byte{sealed.Ref: fresh.Wrapped}); err == nil {
			t.Fatal("opened with another wrapped key filed under this ref")
		}
	})
	t.Run("general tier is not sealed", func(t *testing.T) {
		if _, err := s.Seal(ctx, aad("c-1", "general.region", customer.General), []byte("x")); err == nil {
			t.Fatal("sealed a general field")
		}
	})
}

// A blob made by an independent implementation (Python's cryptography
// AESGCM, see testdata/vectors.md) opens, and sealing with the same key and
// nonce gives the same bytes.
func TestVector(t *testing.T) {
	const want = "014324adf301028f2d16000102030405060708090a0ba2be76ff797ae0a4a59b5f7b1b7b9f8424a567f39ba9"
	key := make([]byte, 32)
	nonce := make([]byte, 12)
	for i := range key {
		key[i] = byte(i)
	}
	for i := range nonce {
		nonce[i] = byte(i)
	}
	a := aad("c-1", "pii.name", customer.Confidential)
	a.Table = "kehu"
	dk, _ := newDataKey(key, []byte("wrapped-key"), time.Time{})
	got := seal(dk, 'C', nonce, []byte("张伟"), a.bytes())
	if hex.EncodeToString(got) != want {
		t.Fatalf("sealed\n %x\nwant\n %s", got, want)
	}
	f := newFakeKMS()
	f.plainFor["wrapped-key"] = key
	blob, _ := hex.DecodeString(want)
	pt, err := NewOpener(f).Open(context.Background(), a, blob, map[string][]byte{Ref([]byte("wrapped-key")): []byte("wrapped-key")})
	if err != nil || string(pt) != "张伟" {
		t.Fatalf("open vector: %q %v", pt, err)
	}
}

func TestDataKeyCacheBounds(t *testing.T) {
	ctx := context.Background()
	f := newFakeKMS()
	s := NewSealer(f, "kehu", keys0)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return clock }
	s.MaxUses = 3
	seal := func(tier customer.Tier) {
		if _, err := s.Seal(ctx, aad("c", "pii.name", tier), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		seal(customer.Confidential)
	}
	if s.KMSCalls() != 1 {
		t.Fatalf("%d KMS calls for 3 uses, want 1", s.KMSCalls())
	}
	seal(customer.Confidential) // fourth use: a new key
	if s.KMSCalls() != 2 {
		t.Fatalf("%d KMS calls after the use bound, want 2", s.KMSCalls())
	}
	seal(customer.Restricted) // another tier has its own key
	if s.KMSCalls() != 3 {
		t.Fatalf("%d KMS calls with a second tier, want 3", s.KMSCalls())
	}
	clock = clock.Add(DefaultMaxAge)
	seal(customer.Restricted) // too old: a new key
	if s.KMSCalls() != 4 {
		t.Fatalf("%d KMS calls after the age bound, want 4", s.KMSCalls())
	}
}

func TestOpenerCachesUnwrappedKeys(t *testing.T) {
	ctx := context.Background()
	f := newFakeKMS()
	s := NewSealer(f, "kehu", keys0)
	o := NewOpener(f)
	var blobs [][]byte
	keys := map[string][]byte{}
	for _, attr := range []string{"pii.name", "pii.email", "pii.phone"} {
		b, _ := s.Seal(ctx, aad("c", attr, customer.Confidential), []byte(attr))
		blobs = append(blobs, b.Blob)
		keys[b.Ref] = b.Wrapped
	}
	if len(keys) != 1 {
		t.Fatalf("%d data keys for three fields sealed together, want 1", len(keys))
	}
	for i, attr := range []string{"pii.name", "pii.email", "pii.phone"} {
		if _, err := o.Open(ctx, aad("c", attr, customer.Confidential), blobs[i], keys); err != nil {
			t.Fatal(err)
		}
	}
	if o.KMSCalls() != 1 {
		t.Fatalf("%d Decrypt calls for three fields under one data key, want 1", o.KMSCalls())
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{&smithy.GenericAPIError{Code: "AccessDeniedException"}, ErrDenied},
		{&smithy.GenericAPIError{Code: "InvalidCiphertextException"}, ErrDenied},
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, ErrUnavailable},
		{&smithy.GenericAPIError{Code: "KMSInternalException"}, ErrUnavailable},
		{errors.New("dial tcp 127.0.0.1:1: connection refused"), ErrUnavailable},
	}
	for _, tc := range cases {
		if got := Classify(tc.err); !errors.Is(got, tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("Classify(%v) = %v, want %v wrapping the original", tc.err, got, tc.want)
		}
	}
	f := newFakeKMS()
	f.fail = &smithy.GenericAPIError{Code: "ThrottlingException"}
	_, err := NewSealer(f, "kehu", keys0).Seal(context.Background(), aad("c", "pii.name", customer.Confidential), []byte("v"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("seal with throttled KMS: %v", err)
	}
}

func TestConcurrentSeal(t *testing.T) {
	f := newFakeKMS()
	s := NewSealer(f, "kehu", keys0)
	o := NewOpener(f)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := aad(fmt.Sprint("c-", i), "pii.name", customer.Confidential)
			b, err := s.Seal(context.Background(), a, []byte("v"))
			if err == nil {
				_, err = o.Open(context.Background(), a, b.Blob, map[string][]byte{b.Ref: b.Wrapped})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// FuzzOpen: no input may panic Open or Parse, and only an exact blob opens.
func FuzzOpen(f *testing.F) {
	k := newFakeKMS()
	s := NewSealer(k, "kehu", keys0)
	sealed, _ := s.Seal(context.Background(), aad("c", "pii.name", customer.Confidential), []byte("secret"))
	good, keys := sealed.Blob, map[string][]byte{sealed.Ref: sealed.Wrapped}
	f.Add(good)
	f.Add([]byte{1, 'C', 0, 0})
	f.Add([]byte{})
	vec, _ := hex.DecodeString("014324adf301028f2d16000102030405060708090a0ba2be76ff797ae0a4a59b5f7b1b7b9f8424a567f39ba9")
	f.Add(vec)
	o := NewOpener(k)
	f.Fuzz(func(t *testing.T, blob []byte) {
		_, _, _, _, _ = Parse(blob)
		pt, err := o.Open(context.Background(), aad("c", "pii.name", customer.Confidential), blob, keys)
		if err == nil && (!bytes.Equal(blob, good) || string(pt) != "secret") {
			t.Fatalf("a blob other than the sealed one opened: %x", blob)
		}
	})
}
