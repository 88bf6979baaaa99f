package segmenter

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/store"
)

// Config is the segmenter's and the sweep's configuration.
type Config struct {
	Table      string
	Thresholds segment.Thresholds
}

// ConfigFromEnv reads TABLE_NAME and, optionally, SEGMENT_THRESHOLDS (a
// JSON document; missing members keep their defaults).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Table: strings.TrimSpace(getenv(config.EnvTable)), Thresholds: segment.Defaults()}
	if c.Table == "" {
		return c, &config.IncompleteError{Missing: []string{config.EnvTable}}
	}
	if doc := getenv(config.EnvThresholds); doc != "" {
		t, err := segment.ParseThresholds([]byte(doc))
		if err != nil {
			return c, fmt.Errorf("%s: %w", config.EnvThresholds, err)
		}
		c.Thresholds = t
	}
	return c, nil
}

// New builds the handler from the environment, once per cold start, as
// both the segmenter and the sweep functions do.
func New(ctx context.Context, getenv func(string) string, log *slog.Logger, function string) (*Handler, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return &Handler{Store: store.New(config.DynamoDB(awsCfg), cfg.Table), Thresholds: cfg.Thresholds, Log: log,
		Metrics: metrics.New(os.Stdout, function)}, nil
}
