package segmenter

import (
	"fmt"
	"strings"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/segment"
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
