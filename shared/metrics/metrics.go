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

// Rollup is the dimension set every line that has an outcome is also
// published under, whatever other dimensions it carries: CloudWatch matches
// a metric's exact dimension set, so an alarm on {function, outcome} sees a
// line only if the line names that set.
var Rollup = []string{"function", "outcome"}

// Emit writes one EMF line with the given dimensions (function is always
// one). The line's metrics are published under the full set of dimensions
// and, when that has more than function and outcome, under Rollup as well.
func (e *Emitter) Emit(dims map[string]string, counts ...Count) {
	if e == nil || len(counts) == 0 {
		return
	}
	doc := map[string]any{"function": e.function}
	keys := []string{"function"}
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		if k == "function" {
			continue // the emitter's own function name wins
		}
		doc[k] = dims[k]
		keys = append(keys, k)
	}
	sets := [][]string{keys}
	if _, ok := dims["outcome"]; ok && len(keys) > len(Rollup) {
		sets = [][]string{slices.Clone(Rollup), keys}
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
			"Namespace": Namespace, "Dimensions": sets, "Metrics": defs,
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
