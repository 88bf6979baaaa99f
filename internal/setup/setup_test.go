package setup_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/internal/setup"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/store"
)

const (
	table = "kehu-prod"
	keyID = "arn:aws:kms:eu-west-1:111122223333:key/bidx"
)

// fakeKMS "wraps" by prefixing the purpose of the encryption context, and
// unwraps only with the same purpose.
type fakeKMS struct {
	calls    int
	err      error
	purposes []string
}

func (f *fakeKMS) Encrypt(_ context.Context, in *kms.EncryptInput, _ ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if in.EncryptionContext["kehu:table"] != table {
		return nil, errors.New("wrong table in the encryption context")
	}
	f.purposes = append(f.purposes, in.EncryptionContext["kehu:purpose"])
	return &kms.EncryptOutput{CiphertextBlob: append([]byte(in.EncryptionContext["kehu:purpose"]+":"), in.Plaintext...), KeyId: in.KeyId}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	purpose, plain, ok := strings.Cut(string(in.CiphertextBlob), ":")
	if !ok || purpose != in.EncryptionContext["kehu:purpose"] {
		return nil, errors.New("InvalidCiphertextException")
	}
	return &kms.DecryptOutput{Plaintext: []byte(plain)}, nil
}

// fakeDB keeps items by pk/sk and honours attribute_not_exists on put; the
// embedded interface panics on any other call, so the test shows which
// calls setup makes.
type fakeDB struct {
	store.DB
	mu    sync.Mutex
	items map[string]map[string]types.AttributeValue
	puts  int
}

func id(key map[string]types.AttributeValue) string {
	pk, _ := key[store.PK].(*types.AttributeValueMemberS)
	sk, _ := key[store.SK].(*types.AttributeValueMemberS)
	return pk.Value + "|" + sk.Value
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.TableName) != table {
		return nil, errors.New("wrong table")
	}
	return &dynamodb.GetItemOutput{Item: f.items[id(in.Key)]}, nil
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.ConditionExpression == nil || !strings.Contains(*in.ConditionExpression, "attribute_not_exists") {
		return nil, errors.New("the secret must be put only if absent")
	}
	k := id(in.Item)
	if _, ok := f.items[k]; ok {
		return nil, &types.ConditionalCheckFailedException{}
	}
	f.items[k] = in.Item
	f.puts++
	return &dynamodb.PutItemOutput{}, nil
}

// secret returns the identity secret as stored, and checks the intake
// keys begin with it and the link secret is there, a secret of its own.
func secret(t *testing.T, st *store.Store) string {
	t.Helper()
	b, err := st.BlindIndexSecret(context.Background())
	if err != nil || !strings.HasPrefix(string(b), "blind-index:") || len(b) != len("blind-index:")+32 {
		t.Fatalf("blind index secret: %v %v", b, err)
	}
	ik, err := st.IntakeKeys(context.Background())
	if err != nil || !strings.HasPrefix(string(ik), "intake-keys:") || len(ik) != len("intake-keys:")+64 {
		t.Fatalf("intake keys: %v %v", ik, err)
	}
	ls, err := st.LinkSecret(context.Background())
	if err != nil || !strings.HasPrefix(string(ls), "link-secret:") || len(ls) != len("link-secret:")+32 {
		t.Fatalf("link secret: %v %v", ls, err)
	}
	identity := strings.TrimPrefix(string(b), "blind-index:")
	if strings.TrimPrefix(string(ik), "intake-keys:")[:32] != identity {
		t.Fatal("the intake keys do not carry the identity secret")
	}
	return identity
}

func event(typ cfn.RequestType, physical string, props map[string]any) cfn.Event {
	if props == nil {
		props = map[string]any{"ServiceToken": "arn:aws:lambda:eu-west-1:111122223333:function:setup", setup.PropTable: table, setup.PropKey: keyID}
	}
	return cfn.Event{RequestType: typ, RequestID: "req-" + string(typ), PhysicalResourceID: physical, ResourceProperties: props}
}

func TestBlindIndexSecret(t *testing.T) {
	ctx := context.Background()
	newResource := func() (*setup.BlindIndexSecret, *fakeKMS, *fakeDB) {
		k, db := &fakeKMS{}, &fakeDB{items: map[string]map[string]types.AttributeValue{}}
		return &setup.BlindIndexSecret{KMS: k, Store: store.New(db, table), KeyID: keyID}, k, db
	}

	t.Run("create makes the secret under the blind-index context", func(t *testing.T) {
		r, k, db := newResource()
		pid, data, err := r.Handle(ctx, event(cfn.RequestCreate, "", nil))
		if err != nil || pid != table+"/blind-index-secret" || data["Created"] != true {
			t.Fatalf("create: %q %v %v", pid, data, err)
		}
		if k.calls != 3 || db.puts != 3 || secret(t, r.Store) == "" {
			t.Fatalf("kms calls %d, puts %d", k.calls, db.puts)
		}
		if strings.Join(k.purposes, ",") != "blind-index,intake-keys,link-secret" {
			t.Fatalf("encryption contexts %v", k.purposes)
		}
	})

	t.Run("update keeps the secret and the physical id", func(t *testing.T) {
		r, k, db := newResource()
		first, _, err := r.Handle(ctx, event(cfn.RequestCreate, "", nil))
		if err != nil {
			t.Fatal(err)
		}
		pid, data, err := r.Handle(ctx, event(cfn.RequestUpdate, first, nil))
		if err != nil || pid != first || pid != setup.PhysicalID(table) || data["Created"] != false {
			t.Fatalf("update: %q (was %q) %v %v", pid, first, data, err)
		}
		if k.calls != 3 || db.puts != 3 || secret(t, r.Store) == "" {
			t.Fatalf("update replaced the secret: kms calls %d, puts %d", k.calls, db.puts)
		}
	})

	t.Run("update of a table without the secret creates it", func(t *testing.T) {
		r, k, _ := newResource()
		pid, data, err := r.Handle(ctx, event(cfn.RequestUpdate, setup.PhysicalID(table), nil))
		if err != nil || pid != setup.PhysicalID(table) || data["Created"] != true || k.calls != 3 || secret(t, r.Store) == "" {
			t.Fatalf("update: %q %v %v (kms calls %d)", pid, data, err, k.calls)
		}
	})

	t.Run("an identity secret already there (an older setup) is kept and the intake keys built from it", func(t *testing.T) {
		r, k, db := newResource()
		old := "blind-index:" + strings.Repeat("k", 32)
		if err := r.Store.PutBlindIndexSecret(ctx, []byte(old), keyID, testNow); err != nil {
			t.Fatal(err)
		}
		pid, data, err := r.Handle(ctx, event(cfn.RequestCreate, "", nil))
		if err != nil || pid != table+"/blind-index-secret" || data["Created"] != true {
			t.Fatalf("create: %q %v %v", pid, data, err)
		}
		if k.calls != 3 || db.puts != 3 || secret(t, r.Store) != strings.Repeat("k", 32) {
			t.Fatalf("kms calls %d, puts %d", k.calls, db.puts)
		}
		if _, data, _ := r.Handle(ctx, event(cfn.RequestUpdate, pid, nil)); data["Created"] != false || k.calls != 3 {
			t.Fatalf("a second run: %v, kms calls %d", data, k.calls)
		}
	})

	t.Run("delete does nothing and keeps the physical id", func(t *testing.T) {
		r, k, db := newResource()
		if _, _, err := r.Handle(ctx, event(cfn.RequestCreate, "", nil)); err != nil {
			t.Fatal(err)
		}
		for _, physical := range []string{table + "/blind-index-secret", "req-1" /* after a failed create */} {
			pid, _, err := r.Handle(ctx, event(cfn.RequestDelete, physical, nil))
			if err != nil || pid != physical {
				t.Fatalf("delete: %q %v", pid, err)
			}
		}
		if k.calls != 3 || db.puts != 3 || secret(t, r.Store) == "" {
			t.Fatalf("delete touched the secret: kms calls %d, puts %d", k.calls, db.puts)
		}
	})

	t.Run("a failing KMS fails the event, stores nothing", func(t *testing.T) {
		r, k, db := newResource()
		k.err = errors.New("throttled")
		pid, _, err := r.Handle(ctx, event(cfn.RequestCreate, "", nil))
		if err == nil || pid == "" || db.puts != 0 {
			t.Fatalf("create with KMS down: %q %v, puts %d", pid, err, db.puts)
		}
	})

	t.Run("properties naming another table or key fail", func(t *testing.T) {
		for _, props := range []map[string]any{
			{setup.PropTable: "other", setup.PropKey: keyID},
			{setup.PropTable: table, setup.PropKey: "alias/other"},
			{setup.PropTable: table},
		} {
			r, k, db := newResource()
			pid, _, err := r.Handle(ctx, event(cfn.RequestUpdate, table+"/blind-index-secret", props))
			if err == nil || pid != table+"/blind-index-secret" || k.calls != 0 || db.puts != 0 {
				t.Fatalf("props %v: %q %v (kms calls %d, puts %d)", props, pid, err, k.calls, db.puts)
			}
		}
	})
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{config.EnvTable: table, config.EnvBlindIndexKey: keyID}
	c, err := setup.FromEnv(func(k string) string { return env[k] })
	if err != nil || c.Table != table || c.BlindIndexKey != keyID {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = setup.FromEnv(func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), config.EnvTable) || !strings.Contains(err.Error(), config.EnvBlindIndexKey) {
		t.Fatalf("missing variables not named: %v", err)
	}
}

var testNow = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// A setup function that cannot start still answers: Create and Update fail
// with the cause, Delete succeeds so the stack can roll back.
func TestFailing(t *testing.T) {
	h := setup.Failing(errors.New("missing environment variables: TABLE_NAME"))
	cases := []struct {
		name    string
		ev      cfn.Event
		wantID  string
		wantErr bool
	}{
		{"create fails with the cause", event(cfn.RequestCreate, "", nil), "req-Create", true},
		{"update fails, keeping the physical id", event(cfn.RequestUpdate, table+"/blind-index-secret", nil), table + "/blind-index-secret", true},
		{"delete succeeds", event(cfn.RequestDelete, "req-1", nil), "req-1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pid, _, err := h(context.Background(), tc.ev)
			if pid != tc.wantID || (err != nil) != tc.wantErr {
				t.Fatalf("%q %v", pid, err)
			}
			if err != nil && !strings.Contains(err.Error(), "TABLE_NAME") {
				t.Fatalf("error does not name the cause: %v", err)
			}
		})
	}
}
