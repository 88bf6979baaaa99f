// Package localkms is a small KMS-compatible server for local development
// and tests: the KMS JSON 1.1 protocol for the operations kehu uses, SigV4
// request signatures checked against configured credentials, per-credential
// grants, encryption context as authenticated data, and key material
// persisted under a data folder. It is a dev tool, not product code.
package localkms

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/shared/config"
)

// Config is the server's seed file.
type Config struct {
	Region     string      `json:"region"`
	Account    string      `json:"account"`
	Keys       []KeySeed   `json:"keys"`
	Principals []Principal `json:"principals"`
}

// KeySeed declares a key by alias.
type KeySeed struct {
	Alias       string `json:"alias"`
	Description string `json:"description"`
}

// Principal is one credential and what it may do.
type Principal struct {
	Name            string  `json:"name"`
	AccessKeyID     string  `json:"access_key_id"`
	SecretAccessKey string  `json:"secret_access_key"`
	Allow           []Grant `json:"allow"`
}

// Grant allows actions ("kms:Decrypt", or "kms:*") on keys (aliases, or
// "*"). Context pins encryption context values, as a key policy's
// StringEquals on kms:EncryptionContext:<name> does: a request whose
// encryption context lacks a pinned name, or has another value for it, is
// not covered by the grant.
type Grant struct {
	Actions []string          `json:"actions"`
	Keys    []string          `json:"keys"`
	Context map[string]string `json:"context,omitempty"`
}

// covers reports whether g allows action on the key with that alias, for a
// request with encryption context ec.
func (g Grant) covers(action, alias string, ec map[string]string) bool {
	if !slices.Contains(g.Actions, action) && !slices.Contains(g.Actions, "kms:*") {
		return false
	}
	if !slices.Contains(g.Keys, alias) && !slices.Contains(g.Keys, "*") {
		return false
	}
	for name, want := range g.Context {
		if got, ok := ec[name]; !ok || got != want {
			return false
		}
	}
	return true
}

// LoadConfig reads a seed file.
func LoadConfig(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Account == "" {
		c.Account = "000000000000"
	}
	return c, nil
}

// Principal returns the credential of that name.
func (c Config) Principal(name string) (Principal, error) {
	for _, p := range c.Principals {
		if p.Name == name {
			return p, nil
		}
	}
	return Principal{}, fmt.Errorf("the local KMS config has no principal %q", name)
}

// AWS returns an SDK configuration signed as the named principal, with the
// usual bounded retries; endpoints come from AWS_ENDPOINT_URL_* as always.
func (c Config) AWS(ctx context.Context, principal string) (aws.Config, error) {
	p, err := c.Principal(principal)
	if err != nil {
		return aws.Config{}, err
	}
	return config.AWS(ctx, awsconfig.WithRegion(c.Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")))
}

// SecretsAlias is the local key that wraps webhook sources' secrets
// (the template's SecretsKey).
const SecretsAlias = "alias/kehu-secrets"

// FunctionConfig is the functions' configuration on the local stack: the
// seed file's key aliases stand in for the template's key ARNs.
func FunctionConfig(table string) config.Config {
	return config.New(table, "alias/kehu-confidential", "alias/kehu-restricted", "alias/kehu-blind-index")
}

type key struct {
	ID          string `json:"id"`
	Alias       string `json:"alias"`
	Description string `json:"description"`
	Material    []byte `json:"material"`
	Created     int64  `json:"created"`
}

// Server serves the KMS API.
type Server struct {
	cfg     Config
	dataDir string
	log     *slog.Logger
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*key // by id
}

// New builds a server; with dataDir "" keys live in memory only.
func New(cfg Config, dataDir string, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, dataDir: dataDir, log: log, now: time.Now, keys: map[string]*key{}}
	if dataDir != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	for _, seed := range cfg.Keys {
		if s.byAlias(seed.Alias) != nil {
			continue
		}
		material := make([]byte, 32)
		if _, err := rand.Read(material); err != nil {
			return nil, err
		}
		k := &key{ID: uuid.NewString(), Alias: seed.Alias, Description: seed.Description, Material: material, Created: s.now().Unix()}
		s.keys[k.ID] = k
	}
	return s, s.save()
}

func (s *Server) path() string { return filepath.Join(s.dataDir, "keys.json") }

func (s *Server) load() error {
	data, err := os.ReadFile(s.path())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var ks []*key
	if err := json.Unmarshal(data, &ks); err != nil {
		return fmt.Errorf("%s: %w", s.path(), err)
	}
	for _, k := range ks {
		s.keys[k.ID] = k
	}
	return nil
}

func (s *Server) save() error {
	if s.dataDir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return err
	}
	ks := make([]*key, 0, len(s.keys))
	for _, k := range s.keys {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].Alias < ks[j].Alias })
	data, _ := json.MarshalIndent(ks, "", "  ")
	return os.WriteFile(s.path(), data, 0o600)
}

func (s *Server) byAlias(alias string) *key {
	for _, k := range s.keys {
		if k.Alias == alias {
			return k
		}
	}
	return nil
}

func (s *Server) arn(k *key) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.cfg.Region, s.cfg.Account, k.ID)
}

// resolve accepts a key id, key ARN, alias name or alias ARN.
func (s *Server) resolve(ref string) *key {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := strings.Index(ref, ":alias/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+1:]
	}
	if strings.HasPrefix(ref, "alias/") {
		return s.byAlias(ref)
	}
	if i := strings.Index(ref, ":key/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+len(":key/"):]
	}
	return s.keys[ref]
}

// apiError is a KMS error as the SDK parses it.
type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	status  int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func errf(typ, format string, a ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, a...), status: http.StatusBadRequest}
}

// ServeHTTP handles one KMS JSON 1.1 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.reply(w, "", nil, errf("SerializationException", "cannot read body"))
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	p, aerr := s.authenticate(r, body)
	if aerr != nil {
		s.reply(w, op, nil, aerr)
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		s.reply(w, op, nil, errf("SerializationException", "body is not a JSON object"))
		return
	}
	var out any
	switch op {
	case "GenerateDataKey":
		out, aerr = s.generateDataKey(p, in, true)
	case "GenerateDataKeyWithoutPlaintext":
		out, aerr = s.generateDataKey(p, in, false)
	case "Encrypt":
		out, aerr = s.encrypt(p, in)
	case "Decrypt":
		out, aerr = s.decrypt(p, in)
	case "DescribeKey":
		out, aerr = s.describeKey(p, in)
	default:
		aerr = &apiError{Type: "UnknownOperationException", Message: "operation " + op + " is not supported by the local KMS", status: http.StatusBadRequest}
	}
	s.log.Debug("kms request", "op", op, "principal", p.Name, "ok", aerr == nil)
	s.reply(w, op, out, aerr)
}

func (s *Server) reply(w http.ResponseWriter, op string, out any, aerr *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	if aerr != nil {
		w.Header().Set("X-Amzn-ErrorType", aerr.Type)
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(aerr)
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

// authenticate checks the SigV4 signature against the configured secrets.
func (s *Server) authenticate(r *http.Request, body []byte) (Principal, *apiError) {
	deny := func(msg string) (Principal, *apiError) {
		return Principal{}, errf("UnrecognizedClientException", "%s", msg)
	}
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return deny("the request is not signed with AWS4-HMAC-SHA256")
	}
	parts := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 5 || cred[3] != "kms" || cred[4] != "aws4_request" {
		return deny("malformed credential scope")
	}
	var p Principal
	found := false
	for _, c := range s.cfg.Principals {
		if c.AccessKeyID == cred[0] {
			p, found = c, true
		}
	}
	if !found {
		return deny("the security token included in the request is invalid")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, cred[1]) {
		return deny("missing or malformed X-Amz-Date")
	}
	if d := s.now().Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return Principal{}, errf("InvalidSignatureException", "signature expired")
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	var canon strings.Builder
	for _, h := range signed {
		v := r.Header.Values(h)
		if h == "host" {
			v = []string{r.Host}
		}
		if h == "content-length" {
			v = []string{fmt.Sprint(len(body))}
		}
		for i := range v {
			v[i] = strings.Join(strings.Fields(v[i]), " ")
		}
		canon.WriteString(h + ":" + strings.Join(v, ",") + "\n")
	}
	payload := sha256.Sum256(body)
	creq := strings.Join([]string{r.Method, canonicalPath(r.URL.EscapedPath()), r.URL.Query().Encode(),
		canon.String(), parts["SignedHeaders"], hex.EncodeToString(payload[:])}, "\n")
	creqHash := sha256.Sum256([]byte(creq))
	scope := strings.Join(cred[1:], "/")
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqHash[:])
	k := mac([]byte("AWS4"+p.SecretAccessKey), cred[1])
	for _, part := range cred[2:] {
		k = mac(k, part)
	}
	want := hex.EncodeToString(mac(k, sts))
	if !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return Principal{}, errf("InvalidSignatureException", "the request signature does not match")
	}
	return p, nil
}

func canonicalPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// authorize checks that p may perform action on k with encryption context
// ec (nil for operations without one).
func (s *Server) authorize(p Principal, action string, k *key, ec map[string]string) *apiError {
	for _, g := range p.Allow {
		if g.covers(action, k.Alias, ec) {
			return nil
		}
	}
	return errf("AccessDeniedException", "User: arn:aws:iam::%s:user/%s is not authorized to perform: %s on resource: %s",
		s.cfg.Account, p.Name, action, s.arn(k))
}

func field[T any](in map[string]json.RawMessage, name string, required bool) (T, *apiError) {
	var v T
	raw, ok := in[name]
	if !ok {
		if required {
			return v, errf("ValidationException", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
		}
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, errf("SerializationException", "cannot read %s", name)
	}
	return v, nil
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func (s *Server) keyFor(p Principal, in map[string]json.RawMessage, action string, ec map[string]string) (*key, *apiError) {
	ref, aerr := field[string](in, "KeyId", true)
	if aerr != nil {
		return nil, aerr
	}
	k := s.resolve(ref)
	if k == nil {
		return nil, errf("NotFoundException", "Key '%s' does not exist", ref)
	}
	return k, s.authorize(p, action, k, ec)
}

func (s *Server) generateDataKey(p Principal, in map[string]json.RawMessage, withPlaintext bool) (any, *apiError) {
	action := "kms:GenerateDataKey"
	if !withPlaintext {
		action = "kms:GenerateDataKeyWithoutPlaintext"
	}
	ec, aerr := field[map[string]string](in, "EncryptionContext", false)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := s.keyFor(p, in, action, ec)
	if aerr != nil {
		return nil, aerr
	}
	spec, _ := field[string](in, "KeySpec", false)
	n, _ := field[int](in, "NumberOfBytes", false)
	switch {
	case spec == "AES_256" && n == 0:
		n = 32
	case spec == "AES_128" && n == 0:
		n = 16
	case spec == "" && n >= 1 && n <= 1024:
	default:
		return nil, errf("ValidationException", "specify either KeySpec (AES_256 or AES_128) or NumberOfBytes (1-1024)")
	}
	plain := make([]byte, n)
	if _, err := rand.Read(plain); err != nil {
		return nil, errf("KMSInternalException", "no randomness")
	}
	blob := seal(k, plain, ec)
	out := map[string]any{"CiphertextBlob": blob, "KeyId": s.arn(k)}
	if withPlaintext {
		out["Plaintext"] = plain
	}
	return out, nil
}

func (s *Server) encrypt(p Principal, in map[string]json.RawMessage) (any, *apiError) {
	ec, aerr := field[map[string]string](in, "EncryptionContext", false)
	if aerr != nil {
		return nil, aerr
	}
	k, aerr := s.keyFor(p, in, "kms:Encrypt", ec)
	if aerr != nil {
		return nil, aerr
	}
	plain, aerr := field[[]byte](in, "Plaintext", true)
	if aerr != nil {
		return nil, aerr
	}
	if len(plain) == 0 || len(plain) > 4096 {
		return nil, errf("ValidationException", "plaintext must be 1 to 4096 bytes")
	}
	return map[string]any{"CiphertextBlob": seal(k, plain, ec), "KeyId": s.arn(k)}, nil
}

func (s *Server) decrypt(p Principal, in map[string]json.RawMessage) (any, *apiError) {
	blob, aerr := field[[]byte](in, "CiphertextBlob", true)
	if aerr != nil {
		return nil, aerr
	}
	ec, aerr := field[map[string]string](in, "EncryptionContext", false)
	if aerr != nil {
		return nil, aerr
	}
	id, nonce, ct, ok := parseBlob(blob)
	if !ok {
		return nil, errf("InvalidCiphertextException", "")
	}
	k := s.resolve(id)
	if k == nil {
		return nil, errf("InvalidCiphertextException", "")
	}
	if ref, _ := field[string](in, "KeyId", false); ref != "" {
		if want := s.resolve(ref); want == nil || want.ID != k.ID {
			return nil, errf("IncorrectKeyException", "the key ID in the request does not identify the key that encrypted the ciphertext")
		}
	}
	if aerr := s.authorize(p, "kms:Decrypt", k, ec); aerr != nil {
		return nil, aerr
	}
	plain, err := gcm(k).Open(nil, nonce, ct, contextAAD(ec))
	if err != nil {
		return nil, errf("InvalidCiphertextException", "")
	}
	return map[string]any{"Plaintext": plain, "KeyId": s.arn(k), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func (s *Server) describeKey(p Principal, in map[string]json.RawMessage) (any, *apiError) {
	k, aerr := s.keyFor(p, in, "kms:DescribeKey", nil)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"KeyMetadata": map[string]any{
		"KeyId": k.ID, "Arn": s.arn(k), "AWSAccountId": s.cfg.Account, "Description": k.Description,
		"Enabled": true, "KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
		"CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "KeyManager": "CUSTOMER", "Origin": "AWS_KMS",
		"CreationDate": k.Created, "EncryptionAlgorithms": []string{"SYMMETRIC_DEFAULT"},
	}}, nil
}

// Blob: "LKMS" | len(id) | id | nonce(12) | ciphertext+tag, AAD = canonical context.
const magic = "LKMS"

func seal(k *key, plain []byte, ec map[string]string) []byte {
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	out := append([]byte(magic), byte(len(k.ID)))
	out = append(out, k.ID...)
	out = append(out, nonce...)
	return gcm(k).Seal(out, nonce, plain, contextAAD(ec))
}

func parseBlob(b []byte) (id string, nonce, ct []byte, ok bool) {
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != magic {
		return "", nil, nil, false
	}
	n := int(b[len(magic)])
	rest := b[len(magic)+1:]
	if len(rest) < n+12+16 {
		return "", nil, nil, false
	}
	return string(rest[:n]), rest[n : n+12], rest[n+12:], true
}

func gcm(k *key) cipher.AEAD {
	block, err := aes.NewCipher(k.Material)
	if err != nil {
		panic(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return a
}

func contextAAD(ec map[string]string) []byte {
	names := make([]string, 0, len(ec))
	for k := range ec {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, k := range names {
		for _, s := range []string{k, ec[k]} {
			_ = binary.Write(&b, binary.BigEndian, uint32(len(s)))
			b.WriteString(s)
		}
	}
	return b.Bytes()
}
