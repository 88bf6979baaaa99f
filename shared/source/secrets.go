package source

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// Encrypter is the part of KMS that wraps a secret (the admin's CLI).
type Encrypter interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
}

var _ Encrypter = (*kms.Client)(nil)

// ErrNotFound means there is no source of that id.
var ErrNotFound = errors.New("source not found")

func wrap(ctx context.Context, k Encrypter, keyID, table, id string, secret []byte) ([]byte, error) {
	out, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: secret, EncryptionContext: Context(table, id)})
	if err != nil {
		return nil, fmt.Errorf("wrap a secret of source %s: %w", id, envelope.Classify(err))
	}
	return out.CiphertextBlob, nil
}

func unwrap(ctx context.Context, k envelope.Decrypter, table, id string, wrapped []byte) ([]byte, error) {
	out, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wrapped, EncryptionContext: Context(table, id)})
	if err != nil {
		return nil, fmt.Errorf("unwrap a secret of source %s: %w", id, envelope.Classify(err))
	}
	return out.Plaintext, nil
}

// Save stores a definition, its secrets wrapped under keyID. A definition
// without secrets keeps the stored ones (so a mapping can change without
// handing the secrets around again); one with secrets replaces them.
func Save(ctx context.Context, st *store.Store, k Encrypter, keyID string, d *Definition, now time.Time) error {
	pub := d.Public()
	doc, err := json.Marshal(pub)
	if err != nil {
		return err
	}
	rec := store.Source{ID: d.ID, Definition: string(doc), UpdatedAt: now}
	old, err := st.Source(ctx, d.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		rec.Secrets, rec.AESKey, rec.APIToken = old.Secrets, old.AESKey, old.APIToken
	}
	if len(d.Secrets) > 0 {
		rec.Secrets = nil
		for _, s := range d.Secrets {
			w, err := wrap(ctx, k, keyID, st.Table(), d.ID, []byte(s))
			if err != nil {
				return err
			}
			rec.Secrets = append(rec.Secrets, store.WrappedValue{Wrapped: w, AddedAt: now})
		}
	}
	if len(rec.Secrets) == 0 {
		return fmt.Errorf("%w: source %s has no secret: give at least one in secrets", ErrInvalid, d.ID)
	}
	for _, extra := range []struct {
		plain string
		into  *[]byte
	}{{d.EncodingAESKey, &rec.AESKey}, {d.APIToken, &rec.APIToken}} {
		if extra.plain == "" {
			continue
		}
		if *extra.into, err = wrap(ctx, k, keyID, st.Table(), d.ID, []byte(extra.plain)); err != nil {
			return err
		}
	}
	if d.Provider == webhook.WeCom && len(rec.AESKey) == 0 {
		return fmt.Errorf("%w: a wecom source needs encoding_aes_key", ErrInvalid)
	}
	if d.NeedsAPIToken() && len(rec.APIToken) == 0 {
		return fmt.Errorf("%w: a %s source needs its API token (surveymonkey: access_token; qualtrics: api_token) to fetch responses", ErrInvalid, d.Provider)
	}
	return st.PutSource(ctx, rec)
}

// AddSecret adds an active secret (rotation: every active secret is
// accepted until removed). It returns how many the source now has.
func AddSecret(ctx context.Context, st *store.Store, k Encrypter, keyID, id string, secret string, now time.Time) (int, error) {
	rec, def, err := load(ctx, st, id)
	if err != nil {
		return 0, err
	}
	if _, err := DecodeSecret(def.Provider, secret); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	w, err := wrap(ctx, k, keyID, st.Table(), id, []byte(secret))
	if err != nil {
		return 0, err
	}
	rec.Secrets = append(rec.Secrets, store.WrappedValue{Wrapped: w, AddedAt: now})
	rec.UpdatedAt = now
	return len(rec.Secrets), st.PutSource(ctx, *rec)
}

// RemoveSecret removes the n-th active secret (1-based, oldest first). The
// last one cannot be removed: a source without a secret accepts nothing.
func RemoveSecret(ctx context.Context, st *store.Store, id string, n int, now time.Time) error {
	rec, _, err := load(ctx, st, id)
	if err != nil {
		return err
	}
	if n < 1 || n > len(rec.Secrets) {
		return fmt.Errorf("%w: source %s has %d secrets; name one from 1 to %d", ErrInvalid, id, len(rec.Secrets), len(rec.Secrets))
	}
	if len(rec.Secrets) == 1 {
		return fmt.Errorf("%w: the last secret of source %s cannot be removed; add its successor first", ErrInvalid, id)
	}
	rec.Secrets = append(rec.Secrets[:n-1], rec.Secrets[n:]...)
	rec.UpdatedAt = now
	return st.PutSource(ctx, *rec)
}

func load(ctx context.Context, st *store.Store, id string) (*store.Source, *Definition, error) {
	rec, err := st.Source(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, err
	}
	var def Definition
	if err := json.Unmarshal([]byte(rec.Definition), &def); err != nil {
		return nil, nil, fmt.Errorf("source %s: %w", id, err)
	}
	return rec, &def, nil
}

// Read returns a stored source's definition (without secrets) and how many
// secrets it has.
func Read(ctx context.Context, st *store.Store, id string) (*Definition, int, error) {
	rec, def, err := load(ctx, st, id)
	if err != nil {
		return nil, 0, err
	}
	return def, len(rec.Secrets), nil
}

// Loaded is a source ready to verify and map: its secrets unwrapped.
type Loaded struct {
	Def      Definition
	Form     *form.Definition
	Secrets  webhook.Secrets
	APIToken string
}

// Cache loads sources for the webhook function and keeps them for TTL
// (a minute by default): a secret added or removed takes effect within
// it, without a deploy. Unknown ids are cached too.
type Cache struct {
	Store *store.Store
	KMS   envelope.Decrypter
	TTL   time.Duration
	Now   func() time.Time

	mu      sync.Mutex
	entries map[string]cached
	missing map[string]time.Time // ids found to name no source: kept apart, so a flood of unknown ids never evicts a real one
	plain   map[[32]byte][]byte  // unwrapped secrets by their wrapped form: a reload unwraps only what changed
}

type cached struct {
	src *Loaded
	at  time.Time
}

const maxCached = 256

// Get returns a loaded source, or ErrNotFound.
func (c *Cache) Get(ctx context.Context, id string) (*Loaded, error) {
	if !form.ValidID(id) {
		return nil, ErrNotFound
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	c.mu.Lock()
	e, ok := c.entries[id]
	gone, isMissing := c.missing[id]
	c.mu.Unlock()
	switch {
	case ok && now.Sub(e.at) < ttl:
		return e.src, nil
	case isMissing && now.Sub(gone) < ttl:
		return nil, ErrNotFound
	}
	src, err := c.load(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if src == nil {
		if c.missing == nil || len(c.missing) >= maxCached {
			c.missing = map[string]time.Time{}
		}
		c.missing[id] = now
		return nil, err
	}
	delete(c.missing, id)
	if c.entries == nil || len(c.entries) >= maxCached {
		c.entries = map[string]cached{}
	}
	c.entries[id] = cached{src: src, at: now}
	return src, nil
}

// unwrap returns a secret's plaintext, from memory when the same wrapped
// secret was unwrapped before (a reload finds most secrets unchanged).
func (c *Cache) unwrap(ctx context.Context, id string, wrapped []byte) ([]byte, error) {
	k := sha256.Sum256(append([]byte(id+"\x00"), wrapped...))
	c.mu.Lock()
	p, ok := c.plain[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := unwrap(ctx, c.KMS, c.Store.Table(), id, wrapped)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.plain == nil || len(c.plain) >= 4*maxCached {
		c.plain = map[[32]byte][]byte{}
	}
	c.plain[k] = p
	c.mu.Unlock()
	return p, nil
}

func (c *Cache) load(ctx context.Context, id string) (*Loaded, error) {
	rec, def, err := load(ctx, c.Store, id)
	if err != nil {
		return nil, err
	}
	// The stored definition is checked again, as `kehu sources put` checks
	// it: whatever was written to the table, a source that would not pass
	// (an API base elsewhere, say) is not used.
	checked := *def
	if err := checked.Check(); err != nil {
		return nil, fmt.Errorf("source %s: the stored definition: %w", id, err)
	}
	l := &Loaded{Def: *def, Secrets: webhook.Secrets{CorpID: def.CorpID}}
	if l.Form, err = def.Form(); err != nil {
		return nil, err
	}
	for _, w := range rec.Secrets {
		plain, err := c.unwrap(ctx, id, w.Wrapped)
		if err != nil {
			return nil, err
		}
		key, err := DecodeSecret(def.Provider, string(plain))
		if err != nil {
			return nil, fmt.Errorf("source %s: a stored secret: %w", id, err)
		}
		l.Secrets.Keys = append(l.Secrets.Keys, def.SigningKey(key))
	}
	if len(rec.AESKey) > 0 {
		plain, err := c.unwrap(ctx, id, rec.AESKey)
		if err != nil {
			return nil, err
		}
		if l.Secrets.AESKey, err = webhook.WeComKey(string(plain)); err != nil {
			return nil, fmt.Errorf("source %s: its encoding_aes_key: %w", id, err)
		}
	}
	if len(rec.APIToken) > 0 {
		plain, err := c.unwrap(ctx, id, rec.APIToken)
		if err != nil {
			return nil, err
		}
		l.APIToken = string(plain)
	}
	return l, nil
}
