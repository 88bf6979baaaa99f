// Package setup is the CloudFormation custom resource that prepares a
// deployed table before any function reads it: it creates the blind-index
// secret, the intake keys and the link secret, so deploying needs no manual step. The Lambda in functions/setup
// only wires it.
package setup

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/store"
)

// Env lists the environment variables the setup function reads; all are
// required. template.yaml sets exactly these (a test checks it).
var Env = []string{config.EnvTable, config.EnvBlindIndexKey}

// Config is the setup function's configuration.
type Config struct {
	Table         string
	BlindIndexKey string
}

// FromEnv reads the configuration; a missing variable is a
// *config.IncompleteError that names it.
func FromEnv(getenv func(string) string) (Config, error) {
	c, err := config.FromEnvFor(getenv, Env)
	return Config{Table: c.Table, BlindIndexKey: c.BlindIndexKey}, err
}

// Resource properties, as template.yaml sets them on Custom::BlindIndexSecret.
const (
	PropTable = "TableName"
	PropKey   = "KeyId"
)

// BlindIndexSecret handles the custom resource's events for one table.
type BlindIndexSecret struct {
	KMS   admin.SecretMaker
	Store *store.Store
	KeyID string
}

// PhysicalID names the resource: the same for every event on one table, so
// an update never looks like a replacement to CloudFormation.
func PhysicalID(table string) string { return table + "/blind-index-secret" }

// Handle is a cfn.CustomResourceFunction: Create and Update make sure the
// secret exists (admin.EnsureBlindIndexSecret never replaces one); Delete
// leaves it, as the table it lives in is retained.
func (b *BlindIndexSecret) Handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	if ev.RequestType == cfn.RequestDelete {
		// Also the answer to the Delete CloudFormation sends after a failed
		// Create, whose physical id is the request id.
		return ev.PhysicalResourceID, nil, nil
	}
	if ev.RequestType != cfn.RequestCreate && ev.RequestType != cfn.RequestUpdate {
		return ev.PhysicalResourceID, nil, fmt.Errorf("unknown request type %q", ev.RequestType)
	}
	// The properties exist so that CloudFormation sends an Update when the
	// table or key changes; they must name what this function is configured
	// (and permitted) to use.
	table := b.Store.Table()
	for prop, want := range map[string]string{PropTable: table, PropKey: b.KeyID} {
		if got, _ := ev.ResourceProperties[prop].(string); got != want {
			return fallbackID(ev, table), nil, fmt.Errorf("property %s is %q, but the setup function is configured for %q", prop, got, want)
		}
	}
	created, err := admin.EnsureBlindIndexSecret(ctx, b.KMS, b.Store, b.KeyID)
	if err != nil {
		return fallbackID(ev, table), nil, fmt.Errorf("blind index secret of %s: %w", table, err)
	}
	linkCreated, err := admin.EnsureLinkSecret(ctx, b.KMS, b.Store, b.KeyID)
	if err != nil {
		return fallbackID(ev, table), nil, fmt.Errorf("link secret of %s: %w", table, err)
	}
	created = created || linkCreated
	return PhysicalID(table), map[string]any{"Created": created}, nil
}

// Failing is the handler of a setup function that cannot start (its
// configuration is incomplete, say): Create and Update fail with err, so
// CloudFormation shows the cause at once instead of waiting for an answer
// that never comes; Delete succeeds, so a rollback or stack deletion is
// never stuck on it.
func Failing(err error) cfn.CustomResourceFunction {
	return func(_ context.Context, ev cfn.Event) (string, map[string]any, error) {
		id := ev.PhysicalResourceID
		if id == "" {
			id = ev.RequestID
		}
		if ev.RequestType == cfn.RequestDelete {
			return id, nil, nil
		}
		return id, nil, fmt.Errorf("setup cannot start: %w", err)
	}
}

// fallbackID is the physical id to answer a failed event with: on Update
// the existing one, so CloudFormation sees no replacement.
func fallbackID(ev cfn.Event, table string) string {
	if ev.RequestType == cfn.RequestUpdate && ev.PhysicalResourceID != "" {
		return ev.PhysicalResourceID
	}
	return PhysicalID(table)
}
