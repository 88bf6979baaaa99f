package localkms_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/kehu-dev/kehu/internal/localkms"
)

func newServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	cfg, err := localkms.LoadConfig("../../local/kms.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := localkms.New(cfg, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func client(url, id, secret string) *kms.Client {
	return kms.New(kms.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
	})
}

func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func TestGrantsAndContext(t *testing.T) {
	ts := newServer(t, "")
	ctx := context.Background()
	intake := client(ts.URL, "LOCALINTAKE", "local-intake-secret")
	sales := client(ts.URL, "LOCALSALES", "local-sales-secret")
	ec := map[string]string{"kehu:table": "t", "kehu:tier": "confidential"}

	dk, err := intake.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/kehu-confidential"), KeySpec: "AES_256", EncryptionContext: ec})
	if err != nil {
		t.Fatalf("intake GenerateDataKey: %v", err)
	}
	if len(dk.Plaintext) != 32 {
		t.Fatalf("plaintext key is %d bytes", len(dk.Plaintext))
	}

	cases := []struct {
		name   string
		client *kms.Client
		ec     map[string]string
		want   string // error code, "" for success
	}{
		{"sales decrypts with the right context", sales, ec, ""},
		{"intake may not decrypt", intake, ec, "AccessDeniedException"},
		{"wrong context fails", sales, map[string]string{"kehu:table": "t", "kehu:tier": "restricted"}, "InvalidCiphertextException"},
		{"missing context fails", sales, nil, "InvalidCiphertextException"},
		{"unknown credential", client(ts.URL, "NOPE", "x"), ec, "UnrecognizedClientException"},
		{"wrong secret", client(ts.URL, "LOCALSALES", "wrong"), ec, "InvalidSignatureException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: tc.ec})
			if got := code(err); got != tc.want {
				t.Fatalf("error code %q, want %q (err %v)", got, tc.want, err)
			}
			if tc.want == "" && !bytes.Equal(out.Plaintext, dk.Plaintext) {
				t.Fatal("decrypted key differs from the generated one")
			}
		})
	}

	t.Run("restricted key denied to sales", func(t *testing.T) {
		rk, err := intake.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/kehu-restricted"), KeySpec: "AES_256", EncryptionContext: ec})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sales.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: rk.CiphertextBlob, EncryptionContext: ec})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("got %v, want AccessDeniedException", err)
		}
	})
	t.Run("tampered blob", func(t *testing.T) {
		bad := bytes.Clone(dk.CiphertextBlob)
		bad[len(bad)-1] ^= 1
		_, err := sales.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: bad, EncryptionContext: ec})
		if code(err) != "InvalidCiphertextException" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestKeysPersist(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ec := map[string]string{"a": "b"}
	first := newServer(t, dir)
	dk, err := client(first.URL, "LOCALINTAKE", "local-intake-secret").GenerateDataKey(ctx,
		&kms.GenerateDataKeyInput{KeyId: aws.String("alias/kehu-confidential"), KeySpec: "AES_256", EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	second := newServer(t, dir)
	out, err := client(second.URL, "LOCALSALES", "local-sales-secret").Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		t.Fatalf("a restarted server cannot decrypt: %v", err)
	}
	if !bytes.Equal(out.Plaintext, dk.Plaintext) {
		t.Fatal("plaintext differs after restart")
	}
}
