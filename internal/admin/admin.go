// Package admin holds the operator's tasks shared by the kehu CLI and the
// local stack: creating the blind-index secret and loading form files.
package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/source"
	"github.com/kehu-dev/kehu/shared/store"
)

// SecretMaker is the part of KMS that creates the table's secrets.
type SecretMaker interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// EnsureBlindIndexSecret creates the table's secrets once, and never
// replaces one (that would orphan every index entry):
//   - the identity secret, 32 random bytes wrapped under keyID with
//     purpose blind-index, which operators unwrap to find customers;
//   - the intake keys: the identity secret and a second, internal secret,
//     wrapped together with purpose intake-keys, which only the intake
//     functions unwrap (one KMS call per cold start).
//
// Where the identity secret exists but the intake keys do not (a table
// set up before them), the identity secret is unwrapped to build them. It
// reports whether it created anything.
func EnsureBlindIndexSecret(ctx context.Context, k SecretMaker, st *store.Store, keyID string) (bool, error) {
	_, intakeErr := st.IntakeKeys(ctx)
	if intakeErr == nil {
		return false, nil
	}
	if !errors.Is(intakeErr, store.ErrNotFound) {
		return false, intakeErr
	}
	identity := make([]byte, 32)
	defer clear(identity)
	wrapped, err := st.BlindIndexSecret(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := rand.Read(identity); err != nil {
			return false, err
		}
		w, err := wrap(ctx, k, keyID, identity, blindindex.Context(st.Table()))
		if err != nil {
			return false, err
		}
		err = st.PutBlindIndexSecret(ctx, w, keyID, time.Now())
		if errors.Is(err, store.ErrConflict) { // another setup won the race: use its secret
			return EnsureBlindIndexSecret(ctx, k, st, keyID)
		}
		if err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	default:
		out, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, KeyId: aws.String(keyID), EncryptionContext: blindindex.Context(st.Table())})
		if err != nil {
			return false, fmt.Errorf("unwrap the blind index secret to build the intake keys: %w", envelope.Classify(err))
		}
		copy(identity, out.Plaintext)
		clear(out.Plaintext)
	}
	bundle := make([]byte, 64)
	defer clear(bundle)
	copy(bundle, identity)
	if _, err := rand.Read(bundle[32:]); err != nil {
		return false, err
	}
	w, err := wrap(ctx, k, keyID, bundle, blindindex.IntakeContext(st.Table()))
	if err != nil {
		return false, err
	}
	if err := st.PutIntakeKeys(ctx, w, keyID, time.Now()); err != nil && !errors.Is(err, store.ErrConflict) {
		return false, err
	}
	return true, nil
}

// EnsureLinkSecret creates the table's link-signing secret once (32 random
// bytes wrapped under keyID, purpose link-secret) and never replaces it
// (every link out there would stop working). It reports whether it
// created it.
func EnsureLinkSecret(ctx context.Context, k SecretMaker, st *store.Store, keyID string) (bool, error) {
	_, err := st.LinkSecret(ctx)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	secret := make([]byte, link.SecretSize)
	defer clear(secret)
	if _, err := rand.Read(secret); err != nil {
		return false, err
	}
	w, err := wrap(ctx, k, keyID, secret, link.Context(st.Table()))
	if err != nil {
		return false, err
	}
	if err := st.PutLinkSecret(ctx, w, keyID, time.Now()); errors.Is(err, store.ErrConflict) {
		return false, nil // another setup won the race
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// PutSurveyFile parses a survey definition file and stores it.
func PutSurveyFile(ctx context.Context, st *store.Store, path string) (*form.Definition, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	def, err := form.ParseSurvey(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return def, st.PutSurvey(ctx, def, doc, time.Now())
}

func wrap(ctx context.Context, k SecretMaker, keyID string, plain []byte, ec map[string]string) ([]byte, error) {
	out, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plain, EncryptionContext: ec})
	if err != nil {
		return nil, fmt.Errorf("wrap the %s secret: %w", ec["kehu:purpose"], envelope.Classify(err))
	}
	return out.CiphertextBlob, nil
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

// PutSourceFiles stores every webhook source definition (*.json) of a
// folder, its secrets wrapped under keyID. It returns their ids.
func PutSourceFiles(ctx context.Context, st *store.Store, k source.Encrypter, keyID, dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		def, err := source.Parse(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := source.Save(ctx, st, k, keyID, def, time.Now()); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		ids = append(ids, def.ID)
	}
	return ids, nil
}
