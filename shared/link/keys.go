package link

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/shared/envelope"
)

// PurposeLinkSecret is the wrapped link secret's purpose in its KMS
// encryption context. It is wrapped under the blind-index key, beside the
// table's other secrets; the key policy lets only the functions that make
// or check links (the survey sender, the survey function) decrypt it.
const PurposeLinkSecret = "link-secret"

// Context is the KMS encryption context of the wrapped link secret.
func Context(table string) map[string]string {
	return map[string]string{"kehu:table": table, "kehu:purpose": PurposeLinkSecret}
}

// Decrypter is the part of KMS that unwraps the secret.
type Decrypter interface {
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// SecretSource reads the wrapped secret (store.Store.LinkSecret).
type SecretSource interface {
	LinkSecret(ctx context.Context) ([]byte, error)
}

// ErrNoSecret means the table has no link secret yet (created at deploy
// time by the setup function; locally by the local stack).
var ErrNoSecret = errors.New("the table has no link secret yet")

// Unwrap reads and unwraps the table's link secret (one KMS call, at cold
// start) and derives the keys.
func Unwrap(ctx context.Context, src SecretSource, k Decrypter, keyID, table string, notFound func(error) bool) (*Keys, error) {
	wrapped, err := src.LinkSecret(ctx)
	if notFound(err) {
		return nil, ErrNoSecret
	}
	if err != nil {
		return nil, fmt.Errorf("read the link secret: %w", err)
	}
	out, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, KeyId: aws.String(keyID), EncryptionContext: Context(table)})
	if err != nil {
		return nil, fmt.Errorf("unwrap the link secret: %w", envelope.Classify(err)) // KMS down: 503, not 500
	}
	defer clear(out.Plaintext)
	return New(out.Plaintext)
}
