package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/kehu-dev/kehu/shared/config"
)

// A cold start without configuration fails with an error naming what is
// missing, before any AWS call.
func TestRunNamesMissingConfiguration(t *testing.T) {
	for _, v := range config.Required {
		t.Setenv(v, "")
	}
	err := run(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("run started without configuration")
	}
	for _, v := range config.Required {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error %q does not name %s", err, v)
		}
	}
}
