// Package config reads a function's configuration from its environment and
// builds the AWS SDK clients, once, at cold start.
package config

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Environment variable names. template.yaml sets every one of Required for
// each function that reads Config; a test checks it.
const (
	EnvTable           = "TABLE_NAME"
	EnvConfidentialKey = "KMS_KEY_CONFIDENTIAL"
	EnvRestrictedKey   = "KMS_KEY_RESTRICTED"
	EnvBlindIndexKey   = "KMS_KEY_BLIND_INDEX"
	EnvMaxBodyBytes    = "MAX_BODY_BYTES"
	EnvDataKeyMaxAge   = "DATA_KEY_MAX_AGE"
	EnvDataKeyMaxUses  = "DATA_KEY_MAX_USES"
	EnvCallTimeout     = "DEPENDENCY_TIMEOUT"
	EnvBudget          = "SUBMISSION_TIMEOUT"
	EnvSecretsKey      = "KMS_KEY_SECRETS"        // webhook sources' secrets
	EnvWebhookMaxBody  = "WEBHOOK_MAX_BODY_BYTES" // default 1 MiB
	EnvBaseCurrency    = "BASE_CURRENCY"          // orders' currency, default CNY
	EnvThresholds      = "SEGMENT_THRESHOLDS"     // segment thresholds (JSON); defaults in shared/segment
)

// SegmenterRequired and SegmenterOptional are the segmenter's and the
// sweep's variables: the table, and the thresholds.
var (
	SegmenterRequired = []string{EnvTable}
	SegmenterOptional = []string{EnvThresholds}
)

// Required lists the variables every intake function must have.
var Required = []string{EnvTable, EnvConfidentialKey, EnvRestrictedKey, EnvBlindIndexKey}

// Optional lists variables with defaults.
var Optional = []string{EnvMaxBodyBytes, EnvDataKeyMaxAge, EnvDataKeyMaxUses, EnvCallTimeout, EnvBudget}

// WebhookRequired lists the variables the webhook function must have: an
// intake function's, and the key its sources' secrets are wrapped under.
var WebhookRequired = append(append([]string{}, Required...), EnvSecretsKey)

// WebhookOptional lists the webhook function's own optional variables.
var WebhookOptional = []string{EnvWebhookMaxBody, EnvBaseCurrency}

// Config is what an intake function needs to know.
type Config struct {
	Table           string
	ConfidentialKey string
	RestrictedKey   string
	BlindIndexKey   string
	MaxBodyBytes    int
	DataKeyMaxAge   time.Duration
	DataKeyMaxUses  int
	// CallTimeout bounds one DynamoDB or KMS call with its retries; Budget
	// a whole submission. Both stay inside the function's own timeout, so
	// a stalled dependency is answered 503 + Retry-After.
	CallTimeout time.Duration
	Budget      time.Duration
	// WebhookMaxBodyBytes bounds a webhook's body (1 MiB by default). The
	// webhook function only.
	WebhookMaxBodyBytes int
	BaseCurrency        string // ISO 4217; an order in another currency is quarantined, never converted
}

// New returns a configuration with the defaults of the optional settings:
// 64 KiB bodies, data keys cached for 5 minutes or 2^20 uses, 3 s per
// dependency call and 8 s per submission (the template's function timeout
// is 10 s).
func New(table, confidentialKey, restrictedKey, blindIndexKey string) Config {
	return Config{Table: table, ConfidentialKey: confidentialKey, RestrictedKey: restrictedKey, BlindIndexKey: blindIndexKey,
		MaxBodyBytes: 64 << 10, DataKeyMaxAge: 5 * time.Minute, DataKeyMaxUses: 1 << 20,
		CallTimeout: 3 * time.Second, Budget: 8 * time.Second, WebhookMaxBodyBytes: 1 << 20, BaseCurrency: "CNY"}
}

// IncompleteError names the settings a function lacks. The names are
// environment variable names or the name of a thing to create: never a
// value.
type IncompleteError struct {
	Missing []string
}

func (e *IncompleteError) Error() string {
	return "configuration incomplete: missing " + strings.Join(e.Missing, ", ")
}

// FromEnv reads an intake function's configuration (Required); a missing
// variable is an *IncompleteError that names it, a malformed one an error
// that names it.
func FromEnv(getenv func(string) string) (Config, error) { return FromEnvFor(getenv, Required) }

// FromEnvFor is FromEnv for a function that requires the variables
// required (WebhookRequired, …).
func FromEnvFor(getenv func(string) string, required []string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	var missing []string
	for _, name := range required {
		if get(name) == "" {
			missing = append(missing, name)
		}
	}
	c := New(get(EnvTable), get(EnvConfidentialKey), get(EnvRestrictedKey), get(EnvBlindIndexKey))
	if len(missing) > 0 {
		return c, &IncompleteError{Missing: missing}
	}
	if v := getenv(EnvMaxBodyBytes); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1024 || n > 6<<20 {
			return c, fmt.Errorf("%s must be a byte count from 1024 to 6291456", EnvMaxBodyBytes)
		}
		c.MaxBodyBytes = n
	}
	if v := getenv(EnvDataKeyMaxAge); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			return c, fmt.Errorf("%s must be a duration up to 1h, such as 5m", EnvDataKeyMaxAge)
		}
		c.DataKeyMaxAge = d
	}
	for _, d := range []struct {
		name string
		into *time.Duration
	}{{EnvCallTimeout, &c.CallTimeout}, {EnvBudget, &c.Budget}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < 100*time.Millisecond || t > 15*time.Minute {
				return c, fmt.Errorf("%s must be a duration from 100ms to 15m, such as 3s", d.name)
			}
			*d.into = t
		}
	}
	if v := getenv(EnvBaseCurrency); v != "" {
		if len(v) != 3 || strings.ToUpper(v) != v {
			return c, fmt.Errorf("%s must be an ISO 4217 code such as CNY", EnvBaseCurrency)
		}
		c.BaseCurrency = v
	}
	if v := getenv(EnvWebhookMaxBody); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1024 || n > 6<<20 {
			return c, fmt.Errorf("%s must be a byte count from 1024 to 6291456", EnvWebhookMaxBody)
		}
		c.WebhookMaxBodyBytes = n
	}
	if v := getenv(EnvDataKeyMaxUses); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<30 {
			return c, fmt.Errorf("%s must be a whole number from 1 to 2^30", EnvDataKeyMaxUses)
		}
		c.DataKeyMaxUses = n
	}
	return c, nil
}

// AWS loads the SDK configuration the usual way (environment, shared
// config, the Lambda role), with bounded retries: three attempts with
// jittered backoff, then the caller answers 503.
func AWS(ctx context.Context, optFns ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	opts := append([]func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 2 * time.Second
			})
		}),
	}, optFns...)
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// Local reports whether a service's endpoint is overridden, as it is on the
// local stack (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS).
func Local(service string) bool {
	return os.Getenv("AWS_ENDPOINT_URL_"+strings.ToUpper(service)) != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
}

// DynamoDB builds the DynamoDB client. Against a local endpoint it skips
// response checksum validation, which DynamoDB Local's error bodies trip.
func DynamoDB(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if Local("dynamodb") {
			o.DisableValidateResponseChecksum = true
		}
	})
}

// KMS builds the KMS client.
func KMS(cfg aws.Config) *kms.Client { return kms.NewFromConfig(cfg) }
