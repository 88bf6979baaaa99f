// Package stacktest gives integration tests the local stack that
// `make test` starts (cmd/devstack -exec): a fresh table per test, set up
// the way `kehu setup` sets one up, and SDK clients per local principal.
// Tests skip with a clear message when the stack's endpoints are not set.
package stacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/internal/localkms"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

// Stack is the local stack as one test sees it.
type Stack struct {
	Table      string
	GatewayURL string
	DB         *dynamodb.Client // admin credentials
	Store      *store.Store
	Config     config.Config
	kms        localkms.Config
}

// Available reports whether the local stack's endpoints are set.
func Available() bool {
	return os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" && os.Getenv("AWS_ENDPOINT_URL_KMS") != "" && os.Getenv("KEHU_KMS_CONFIG") != ""
}

// New returns the stack with a fresh table, or skips the test.
func New(t testing.TB) *Stack { return newStack(t, false) }

// NewStreamed is New with the table's stream on, as in AWS (for the
// segmenter's end-to-end tests; DynamoDB Local slows with many streams).
func NewStreamed(t testing.TB) *Stack { return newStack(t, true) }

func newStack(t testing.TB, stream bool) *Stack {
	t.Helper()
	if !Available() {
		t.Skip("integration test: needs the local stack; run `make test` (it sets AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, KEHU_KMS_CONFIG)")
	}
	kcfg, err := localkms.LoadConfig(os.Getenv("KEHU_KMS_CONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{Table: "kehu-test-" + uuid.NewString()[:8], GatewayURL: os.Getenv("KEHU_GATEWAY_URL"), kms: kcfg}
	s.Config = localkms.FunctionConfig(s.Table)
	// DynamoDB Local on a shared two-core machine is far slower than
	// DynamoDB; the fault tests set their own, short, bounds.
	s.Config.CallTimeout, s.Config.Budget = 20*time.Second, time.Minute
	ctx := context.Background()
	adminCfg := s.AWS(t, "kehu-admin")
	s.DB = config.DynamoDB(adminCfg)
	def := store.TableDefinition(s.Table)
	if !stream {
		def.StreamSpecification = nil // DynamoDB Local slows with many stream tables; the shared one has it
	}
	if _, err := s.DB.CreateTable(ctx, def); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = s.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(s.Table)})
	})
	if err := store.EnsureTable(ctx, s.DB, s.Table); err != nil {
		t.Fatal(err)
	}
	s.Store = store.New(s.DB, s.Table)
	if _, err := admin.EnsureBlindIndexSecret(ctx, config.KMS(adminCfg), s.Store, s.Config.BlindIndexKey); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.EnsureLinkSecret(ctx, config.KMS(adminCfg), s.Store, s.Config.BlindIndexKey); err != nil {
		t.Fatal(err)
	}
	surveys, _ := filepath.Glob(filepath.Join(os.Getenv("KEHU_SURVEYS"), "*.json"))
	for _, f := range surveys {
		if _, err := admin.PutSurveyFile(ctx, s.Store, f); err != nil {
			t.Fatal(err)
		}
	}
	forms, _ := filepath.Glob(filepath.Join(os.Getenv("KEHU_FORMS"), "*.json"))
	for _, f := range forms {
		if _, err := admin.PutFormFile(ctx, s.Store, f); err != nil {
			t.Fatal(err)
		}
	}
	if dir := os.Getenv("KEHU_SOURCES"); dir != "" {
		if _, err := admin.PutSourceFiles(ctx, s.Store, config.KMS(adminCfg), SecretsKey, dir); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// SecretsKey is the local alias of the key that wraps sources' secrets.
const SecretsKey = localkms.SecretsAlias

// AWS returns an SDK configuration signed as a principal of local/kms.json
// (kehu-intake, kehu-setup, kehu-admin, kehu-sales, kehu-compliance, kehu-analyst).
func (s *Stack) AWS(t testing.TB, principal string) aws.Config {
	t.Helper()
	cfg, err := s.kms.AWS(context.Background(), principal)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Principal returns a credential of local/kms.json.
func (s *Stack) Principal(t testing.TB, name string) localkms.Principal {
	t.Helper()
	p, err := s.kms.Principal(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Region is the local stack's region.
func (s *Stack) Region() string { return s.kms.Region }

// Intake wires the pipeline as the form-intake function does, with the
// intake credentials.
func (s *Stack) Intake(t testing.TB) (*intake.Service, *envelope.Sealer) {
	t.Helper()
	svc, sealer, err := intake.Wire(context.Background(), s.Config, s.AWS(t, "kehu-intake"))
	if err != nil {
		t.Fatal(err)
	}
	return svc, sealer
}

// Scan returns every item of the test's table.
func (s *Stack) Scan(t testing.TB) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(s.DB, &dynamodb.ScanInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// Count returns how many items of each entity the table holds.
func (s *Stack) Count(t testing.TB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, it := range s.Scan(t) {
		e, _ := it["entity"].(*types.AttributeValueMemberS)
		if e != nil {
			out[e.Value]++
		} else {
			out["?"]++
		}
	}
	return out
}

// Unique returns a value unique to this run, for emails and names.
func Unique(prefix string) string { return fmt.Sprintf("%s-%s", prefix, uuid.NewString()[:12]) }

// PutRaw writes a stream image as an item of the test's table (to give
// the segmenter's sweep the profile a fixture's record describes).
func (s *Stack) PutRaw(ctx context.Context, image map[string]events.DynamoDBAttributeValue) error {
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: store.FromStreamImage(image)})
	return err
}

// Reader reads customers as a principal of local/kms.json would, its
// reads audited under that name.
func (s *Stack) Reader(t testing.TB, principal string) *record.Reader {
	t.Helper()
	return &record.Reader{Store: s.Store, Opener: envelope.NewOpener(config.KMS(s.AWS(t, principal))), Actor: "local:" + principal, Purpose: "test"}
}
