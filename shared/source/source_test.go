package source

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/store"
)

// A survey source: the map's fields and consent questions make its form;
// its consent block is the requirement; SurveyMonkey signs with
// "<api_key>&<secret>" and its access token is kept as the API token.
func TestParseSurvey(t *testing.T) {
	d, err := Parse([]byte(`{"id":"sm","provider":"surveymonkey","kind":"survey","notice":"survey-v1","api_key":"app-key",
		"secrets":["the-api-secret"],"access_token":"tok-123456","map":{"q1":"email","q2":"region","q3":"consent:processing","q4":"consent:contact"},
		"consent":{"required":["processing"],"optional":["contact"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Basis != consent.BasisConsent || d.APIToken != "tok-123456" || d.AccessToken != "" {
		t.Fatalf("%+v", d)
	}
	if p := d.Public(); p.APIToken != "" || len(p.Secrets) != 0 {
		t.Fatalf("public definition keeps secrets: %+v", p)
	}
	f, err := d.Form()
	if err != nil || f.Channel != "survey" || len(f.Fields) != 2 || f.Consent.Required[0] != consent.Processing || f.Consent.Optional[0] != consent.Contact {
		t.Fatalf("form %+v %v", f, err)
	}
	if got := string(d.SigningKey([]byte("the-api-secret"))); got != "app-key&the-api-secret" {
		t.Fatalf("signing key %q", got)
	}
}

func TestParse(t *testing.T) {
	ok := `{"id":"chat","provider":"standard","kind":"chat","notice":"chat-v1","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}`
	d, err := Parse([]byte(ok))
	if err != nil || d.Basis != consent.BasisServiceRequest {
		t.Fatalf("%+v %v", d, err)
	}
	f, err := d.Form()
	if err != nil || f.Channel != "chat" || f.Basis != consent.BasisServiceRequest || len(f.Consent.Required) != 0 {
		t.Fatalf("form %+v %v", f, err)
	}
	if _, ok := f.Field("email"); !ok {
		t.Fatal("a chat form takes email")
	}
	bad := map[string]string{
		"unknown provider":            `{"id":"c","provider":"teams","kind":"chat","notice":"n","secrets":["12345678"]}`,
		"bad id":                      `{"id":"C C","provider":"slack","kind":"chat","notice":"n","secrets":["12345678"]}`,
		"no notice":                   `{"id":"c","provider":"slack","kind":"chat","secrets":["12345678"]}`,
		"orders from slack":           `{"id":"c","provider":"slack","kind":"orders","notice":"n","secrets":["12345678"]}`,
		"orders with a map":           `{"id":"c","provider":"standard","kind":"orders","notice":"n","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"map":{"a":"email"}}`,
		"survey from a chat provider": `{"id":"c","provider":"standard","kind":"survey","notice":"n","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"map":{"a":"email"}}`,
		"typeform as chat":            `{"id":"c","provider":"typeform","kind":"chat","notice":"n","secrets":["12345678"]}`,
		"survey without a map":        `{"id":"c","provider":"typeform","kind":"survey","notice":"n","secrets":["12345678"]}`,
		"required purpose not asked":  `{"id":"c","provider":"typeform","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email"},"consent":{"required":["processing"]}}`,
		"asked purpose not offered":   `{"id":"c","provider":"typeform","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email","m":"consent:marketing"}}`,
		"unknown purpose":             `{"id":"c","provider":"typeform","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email","m":"consent:telepathy"}}`,
		"text target in a survey":     `{"id":"c","provider":"typeform","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email","t":"text"}}`,
		"consent on a chat":           `{"id":"c","provider":"slack","kind":"chat","notice":"n","secrets":["12345678"],"consent":{"required":["processing"]}}`,
		"surveymonkey without key":    `{"id":"c","provider":"surveymonkey","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email"}}`,
		"qualtrics without base":      `{"id":"c","provider":"qualtrics","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email"}}`,
		"qualtrics base elsewhere":    `{"id":"c","provider":"qualtrics","kind":"survey","notice":"n","secrets":["12345678"],"map":{"e":"email"},"api_base_url":"https://collector.evil.example"}`,
		"surveymonkey base elsewhere": `{"id":"c","provider":"surveymonkey","kind":"survey","notice":"n","api_key":"k","secrets":["12345678"],"map":{"e":"email"},"api_base_url":"http://api.surveymonkey.com"}`,
		"api key on a chat":           `{"id":"c","provider":"slack","kind":"chat","notice":"n","secrets":["12345678"],"api_key":"k"}`,
		"not whsec":                   `{"id":"c","provider":"standard","kind":"chat","notice":"n","secrets":["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}`,
		"wecom without corp":          `{"id":"c","provider":"wecom","kind":"chat","notice":"n","secrets":["QDG6eK"]}`,
		"bad aes key":                 `{"id":"c","provider":"wecom","kind":"chat","notice":"n","corp_id":"x","secrets":["QDG6eK"],"encoding_aes_key":"short"}`,
		"map to a non-field":          `{"id":"c","provider":"slack","kind":"chat","notice":"n","secrets":["12345678"],"map":{"a.b":"favourite"}}`,
		"restricted without consent":  `{"id":"c","provider":"slack","kind":"chat","notice":"n","secrets":["12345678"],"map":{"a.b":"national_id"}}`,
		"basis consent":               `{"id":"c","provider":"slack","kind":"chat","basis":"consent","notice":"n","secrets":["12345678"]}`,
		"unknown member":              `{"id":"c","provider":"slack","kind":"chat","notice":"n","secrets":["12345678"],"token":"x"}`,
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(doc))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v", err)
			}
			for _, secret := range []string{"12345678", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "QDG6eK"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatal("the error repeats a secret")
				}
			}
		})
	}
}

// oneSource answers GetItem with one stored source, and nothing for any
// other id; it counts reads.
type oneSource struct {
	store.DB
	item  store.Source
	reads int
}

func (o *oneSource) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	o.reads++
	if sk, ok := in.Key["sk"].(*types.AttributeValueMemberS); ok && sk.Value != o.item.ID {
		return &dynamodb.GetItemOutput{}, nil
	}
	o.item.PK, o.item.SK = "SOURCE", o.item.ID
	it, err := attributevalue.MarshalMap(o.item)
	return &dynamodb.GetItemOutput{Item: it}, err
}

// countingKMS "unwraps" by returning the ciphertext, and counts.
type countingKMS struct{ calls int }

func (c *countingKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.calls++
	if in.EncryptionContext["kehu:purpose"] != "webhook-secret" || in.EncryptionContext["kehu:source"] != "chat" {
		return nil, errors.New("wrong context")
	}
	return &kms.DecryptOutput{Plaintext: append([]byte{}, in.CiphertextBlob...)}, nil
}

// A reload after the cache's time unwraps only secrets it has not seen:
// rotation takes effect within a minute at no KMS call for the unchanged.
func TestCacheReloadsAndReusesSecrets(t *testing.T) {
	def := `{"id":"chat","provider":"slack","kind":"chat","basis":"service-request","notice":"n"}`
	db := &oneSource{item: store.Source{ID: "chat", Definition: def, Secrets: []store.WrappedValue{{Wrapped: []byte("first-secret")}}}}
	k := &countingKMS{}
	now := time.Unix(1_800_000_000, 0)
	c := &Cache{Store: store.New(db, "t"), KMS: k, Now: func() time.Time { return now }}
	l, err := c.Get(context.Background(), "chat")
	if err != nil || len(l.Secrets.Keys) != 1 || k.calls != 1 {
		t.Fatalf("%+v %v calls %d", l, err, k.calls)
	}
	db.item.Secrets = append(db.item.Secrets, store.WrappedValue{Wrapped: []byte("second-secret")})
	if l, _ = c.Get(context.Background(), "chat"); len(l.Secrets.Keys) != 1 {
		t.Fatal("reloaded before its time")
	}
	now = now.Add(61 * time.Second)
	if l, _ = c.Get(context.Background(), "chat"); len(l.Secrets.Keys) != 2 || k.calls != 2 {
		t.Fatalf("after a minute: %d keys, %d calls", len(l.Secrets.Keys), k.calls)
	}
	db.item.Secrets = db.item.Secrets[1:]
	now = now.Add(61 * time.Second)
	if l, _ = c.Get(context.Background(), "chat"); len(l.Secrets.Keys) != 1 || string(l.Secrets.Keys[0]) != "second-secret" || k.calls != 2 {
		t.Fatalf("after removal: %q, %d calls", l.Secrets.Keys, k.calls)
	}
}

// Unknown ids are remembered apart: a flood of them never evicts a real
// source (whose reload would cost a read, and a KMS call per secret).
func TestCacheUnknownIDsKeepRealSources(t *testing.T) {
	def := `{"id":"chat","provider":"slack","kind":"chat","basis":"service-request","notice":"n"}`
	db := &oneSource{item: store.Source{ID: "chat", Definition: def, Secrets: []store.WrappedValue{{Wrapped: []byte("first-secret")}}}}
	c := &Cache{Store: store.New(db, "t"), KMS: &countingKMS{}}
	ctx := context.Background()
	if _, err := c.Get(ctx, "chat"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxCached {
		if _, err := c.Get(ctx, "nope-"+strconv.Itoa(i)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	}
	reads := db.reads
	if _, err := c.Get(ctx, "chat"); err != nil || db.reads != reads {
		t.Fatalf("the real source was evicted: %d reads after the flood, %v", db.reads-reads, err)
	}
	if _, err := c.Get(ctx, "nope-"+strconv.Itoa(3*maxCached-1)); !errors.Is(err, ErrNotFound) || db.reads != reads {
		t.Fatalf("an unknown id read again within its minute: %v", err)
	}
}

// A source written to the table around `kehu sources put` (an admin's raw
// PutItem) naming an API base elsewhere is not used: its token never
// leaves for that host.
func TestCacheChecksStoredDefinitions(t *testing.T) {
	def := `{"id":"qx","provider":"qualtrics","kind":"survey","basis":"consent","notice":"n","map":{"QID1_TEXT":"email"},` +
		`"consent":{"required":[]},"api_base_url":"https://collector.evil.example"}`
	db := &oneSource{item: store.Source{ID: "qx", Definition: def, Secrets: []store.WrappedValue{{Wrapped: []byte("the-shared-key")}},
		APIToken: []byte("the-api-token")}}
	c := &Cache{Store: store.New(db, "t"), KMS: &countingKMS{}}
	if src, err := c.Get(context.Background(), "qx"); err == nil || src != nil {
		t.Fatalf("a stored definition with a foreign API base was loaded: %+v", src)
	}
}
