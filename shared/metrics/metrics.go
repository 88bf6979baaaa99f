// Package metrics writes CloudWatch Embedded Metric Format lines: one JSON
// object per event on stdout, which CloudWatch Logs turns into metrics with
// no API call. Dimensions are low-cardinality words, never personal data.
package metrics

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of kehu's metrics.
const Namespace = "kehu"

// Emitter writes EMF lines to w.
type Emitter struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// New returns an emitter for a function.
func New(w io.Writer, function string) *Emitter {
	return &Emitter{w: w, function: function, now: time.Now}
}

// Count is one metric value.
type Count struct {
	Name  string
	Value float64
	Unit  string // "Count" when empty
}

// Emit writes one EMF line with the given dimensions (function is always one).
func (e *Emitter) Emit(dims map[string]string, counts ...Count) {
	if e == nil || len(counts) == 0 {
		return
	}
	doc := map[string]any{"function": e.function}
	keys := []string{"function"}
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		doc[k] = dims[k]
		keys = append(keys, k)
	}
	defs := make([]map[string]string, 0, len(counts))
	for _, c := range counts {
		unit := c.Unit
		if unit == "" {
			unit = "Count"
		}
		defs = append(defs, map[string]string{"Name": c.Name, "Unit": unit})
		doc[c.Name] = c.Value
	}
	doc["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": Namespace, "Dimensions": [][]string{keys}, "Metrics": defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(line, '\n'))
}
