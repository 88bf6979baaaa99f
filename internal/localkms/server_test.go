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
		{"another tier in the context is denied (the grant pins kehu:tier)", sales, map[string]string{"kehu:table": "t", "kehu:tier": "restricted"}, "AccessDeniedException"},
		{"missing context is denied", sales, nil, "AccessDeniedException"},
		{"another table fails to decrypt (bound as authenticated data)", sales, map[string]string{"kehu:table": "u", "kehu:tier": "confidential"}, "InvalidCiphertextException"},
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
		rec := map[string]string{"kehu:table": "t", "kehu:tier": "restricted"}
		rk, err := intake.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/kehu-restricted"), KeySpec: "AES_256", EncryptionContext: rec})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sales.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: rk.CiphertextBlob, EncryptionContext: rec})
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
	ec := map[string]string{"kehu:table": "t", "kehu:tier": "confidential"}
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

// A grant's context pins encryption context values the way a key policy's
// StringEquals on kms:EncryptionContext:<name> does; each case has its
// negative twin.
func TestGrantContextPins(t *testing.T) {
	ts := newServer(t, "")
	ctx := context.Background()
	intake := client(ts.URL, "LOCALINTAKE", "local-intake-secret")
	setup := client(ts.URL, "LOCALSETUP", "local-setup-secret")
	analyst := client(ts.URL, "LOCALANALYST", "local-analyst-secret")
	tier := func(tier string) map[string]string { return map[string]string{"kehu:table": "t", "kehu:tier": tier} }
	bidx := map[string]string{"kehu:table": "t", "kehu:purpose": "blind-index"}
	intakeKeys := map[string]string{"kehu:table": "t", "kehu:purpose": "intake-keys"}
	sales := client(ts.URL, "LOCALSALES", "local-sales-secret")

	generate := []struct {
		name   string
		client *kms.Client
		key    string
		ec     map[string]string
		want   string
	}{
		{"intake: confidential key, confidential tier", intake, "alias/kehu-confidential", tier("confidential"), ""},
		{"intake: confidential key, restricted tier", intake, "alias/kehu-confidential", tier("restricted"), "AccessDeniedException"},
		{"intake: restricted key, restricted tier", intake, "alias/kehu-restricted", tier("restricted"), ""},
		{"intake: restricted key, confidential tier", intake, "alias/kehu-restricted", tier("confidential"), "AccessDeniedException"},
		{"intake: tier key without a tier", intake, "alias/kehu-restricted", map[string]string{"kehu:table": "t"}, "AccessDeniedException"},
		{"intake: tier key without any context", intake, "alias/kehu-confidential", nil, "AccessDeniedException"},
		{"analyst: no KMS at all", analyst, "alias/kehu-confidential", tier("confidential"), "AccessDeniedException"},
	}
	for _, tc := range generate {
		t.Run("GenerateDataKey "+tc.name, func(t *testing.T) {
			_, err := tc.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(tc.key), KeySpec: "AES_256", EncryptionContext: tc.ec})
			if got := code(err); got != tc.want {
				t.Fatalf("error code %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}

	wrap := []struct {
		name string
		ec   map[string]string
		want string
	}{
		{"setup wraps the blind-index secret", bidx, ""},
		{"setup wraps the intake keys", intakeKeys, ""},
		{"setup: another purpose", map[string]string{"kehu:table": "t", "kehu:purpose": "links"}, "AccessDeniedException"},
		{"setup: no purpose", map[string]string{"kehu:table": "t"}, "AccessDeniedException"},
	}
	wrapped := map[string][]byte{}
	for _, tc := range wrap {
		t.Run("Encrypt "+tc.name, func(t *testing.T) {
			out, err := setup.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/kehu-blind-index"), Plaintext: make([]byte, 32), EncryptionContext: tc.ec})
			if got := code(err); got != tc.want {
				t.Fatalf("error code %q, want %q (err %v)", got, tc.want, err)
			}
			if err == nil {
				wrapped[tc.ec["kehu:purpose"]] = out.CiphertextBlob
			}
		})
	}

	// Operators unwrap the identity secret (to find customers); only the
	// intake functions unwrap the intake keys (fingerprints, proofs).
	unwrap := []struct {
		name    string
		client  *kms.Client
		purpose string
		ec      map[string]string
		want    string
	}{
		{"intake unwraps the intake keys", intake, "intake-keys", intakeKeys, ""},
		{"intake does not unwrap the identity secret", intake, "blind-index", bidx, "AccessDeniedException"},
		{"sales unwraps the identity secret", sales, "blind-index", bidx, ""},
		{"sales does not unwrap the intake keys", sales, "intake-keys", intakeKeys, "AccessDeniedException"},
		{"analyst unwraps neither", analyst, "blind-index", bidx, "AccessDeniedException"},
	}
	for _, tc := range unwrap {
		t.Run("Decrypt: "+tc.name, func(t *testing.T) {
			_, err := tc.client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped[tc.purpose], EncryptionContext: tc.ec})
			if got := code(err); got != tc.want {
				t.Fatalf("error code %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}
