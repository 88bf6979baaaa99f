// Package admin holds the operator's tasks shared by the kehu CLI and the
// local stack: creating the blind-index secret and loading form files.
package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
)

// SecretMaker is the part of KMS that creates a wrapped secret.
type SecretMaker interface {
	GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
}

// EnsureBlindIndexSecret creates the table's blind-index secret once: 32
// random bytes generated and wrapped by KMS under keyID, never seen in
// plaintext here. It reports whether it created one.
func EnsureBlindIndexSecret(ctx context.Context, k SecretMaker, st *store.Store, keyID string) (bool, error) {
	if _, err := st.BlindIndexSecret(ctx); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	out, err := k.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: aws.String(keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: blindindex.Context(st.Table()),
	})
	if err != nil {
		return false, fmt.Errorf("generate blind index secret: %w", envelope.Classify(err))
	}
	if err := st.PutBlindIndexSecret(ctx, out.CiphertextBlob, aws.ToString(out.KeyId), time.Now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return false, nil // another setup won the race
		}
		return false, err
	}
	return true, nil
}

// PutFormFile parses a form definition file and stores it.
func PutFormFile(ctx context.Context, st *store.Store, path string) (*form.Definition, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	def, err := form.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return def, st.PutForm(ctx, def, doc, time.Now())
}
