package blindindex

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kehu-dev/kehu/shared/envelope"
)

func secret() []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = byte(32 + i)
	}
	return s
}

// Vectors from an independent implementation: shared/envelope/testdata/vectors.md.
func TestVectors(t *testing.T) {
	ix, err := New(secret())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, got, want string }{
		{"email", ix.Hash(Email, "zhang.wei@example.com"), "pSBlHd5R-w8Apv70JtRJ1qye4hQSg7usozFbuHZvwrA"},
		{"phone", ix.Hash(Phone, "+8613800138000"), "UL6noiWis6bAr8W4rfuwBWjM7O8GIKiw6XlHR5MhN3Q"},
		{"proof", ix.Proof("203.0.113.7", "Mozilla/5.0"), "j9wPHtf83sf69eY-3_gAPrKu98a2b5M5RDBEr_HF_j8"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestSeparation(t *testing.T) {
	ix, _ := New(secret())
	other := secret()
	other[0] ^= 1
	ix2, _ := New(other)
	v := "13800138000"
	if ix.Hash(Email, v) == ix.Hash(Phone, v) {
		t.Error("email and phone hashes of one string are equal: keys not separated")
	}
	if ix.Hash(Email, v) == ix2.Hash(Email, v) {
		t.Error("another secret gives the same hash")
	}
	if ix.Hash(Email, "a@b.cn") == ix.Hash(Email, "a@b.cn ") {
		t.Error("different inputs collide")
	}
	if _, err := New(make([]byte, 16)); !errors.Is(err, ErrSecret) {
		t.Errorf("a 16-byte secret: %v", err)
	}
}

type decrypter struct {
	out *kms.DecryptOutput
	err error
	in  *kms.DecryptInput
}

func (d *decrypter) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	d.in = in
	return d.out, d.err
}

var _ envelope.Decrypter = (*decrypter)(nil)

func TestUnwrap(t *testing.T) {
	d := &decrypter{out: &kms.DecryptOutput{Plaintext: secret()}}
	ix, err := Unwrap(context.Background(), d, "alias/bi", "kehu", []byte("wrapped"))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Hash(Email, "zhang.wei@example.com") != "pSBlHd5R-w8Apv70JtRJ1qye4hQSg7usozFbuHZvwrA" {
		t.Error("unwrapped index gives another hash")
	}
	if d.in.EncryptionContext["kehu:table"] != "kehu" || d.in.EncryptionContext["kehu:purpose"] != "blind-index" || *d.in.KeyId != "alias/bi" {
		t.Errorf("decrypt input %+v", d.in)
	}
	denied := &decrypter{err: &smithy.GenericAPIError{Code: "AccessDeniedException"}}
	if _, err := Unwrap(context.Background(), denied, "alias/bi", "kehu", []byte("w")); !errors.Is(err, envelope.ErrDenied) {
		t.Errorf("denied unwrap: %v", err)
	}
	short := &decrypter{out: &kms.DecryptOutput{Plaintext: make([]byte, 8)}}
	if _, err := Unwrap(context.Background(), short, "alias/bi", "kehu", []byte("w")); !errors.Is(err, ErrSecret) {
		t.Errorf("short secret: %v", err)
	}
}
