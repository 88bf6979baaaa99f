package metrics

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type line struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	Function    string  `json:"function"`
	Outcome     string  `json:"outcome"`
	Reason      string  `json:"reason"`
	Submissions float64 `json:"Submissions"`
	Duration    float64 `json:"Duration"`
}

func TestEmitEMF(t *testing.T) {
	var b bytes.Buffer
	e := New(&b, "form-intake")
	e.now = func() time.Time { return time.UnixMilli(1795428930000) }
	e.Emit(map[string]string{"outcome": "rejected", "reason": "validation"}, Count{Name: "Submissions", Value: 1}, Count{Name: "Duration", Value: 2.5, Unit: "Milliseconds"})
	var doc line
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != 1795428930000 || len(m) != 1 || m[0].Namespace != "kehu" || len(m[0].Metrics) != 2 {
		t.Fatalf("EMF %s", b.String())
	}
	if doc.Function != "form-intake" || doc.Outcome != "rejected" || doc.Reason != "validation" || doc.Submissions != 1 || doc.Duration != 2.5 || m[0].Metrics[1].Unit != "Milliseconds" {
		t.Fatalf("values %+v", doc)
	}
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Fatal("not one line per event")
	}
}

// CloudWatch matches a metric's exact dimension set: a line with a reason
// must also be published under {function, outcome}, or an alarm on that
// set never sees it.
func TestEmitDimensionSets(t *testing.T) {
	cases := []struct {
		name string
		dims map[string]string
		want [][]string
	}{
		{"outcome and reason: the rollup and the full set", map[string]string{"outcome": "error", "reason": "dependency"},
			[][]string{{"function", "outcome"}, {"function", "outcome", "reason"}}},
		{"outcome only: one set", map[string]string{"outcome": "accepted"}, [][]string{{"function", "outcome"}}},
		{"no outcome: the full set only", map[string]string{"source": "crm"}, [][]string{{"function", "source"}}},
		{"no dimensions: function", nil, [][]string{{"function"}}},
		{"a function dimension cannot rename the emitter", map[string]string{"function": "other", "outcome": "error"}, [][]string{{"function", "outcome"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			New(&b, "form-intake").Emit(tc.dims, Count{Name: "Submissions", Value: 1})
			var doc line
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if got := doc.AWS.CloudWatchMetrics[0].Dimensions; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("dimension sets %v, want %v", got, tc.want)
			}
			if doc.Function != "form-intake" {
				t.Fatalf("function %q", doc.Function)
			}
		})
	}
}

func TestEmitNothing(t *testing.T) {
	var b bytes.Buffer
	New(&b, "f").Emit(map[string]string{"outcome": "x"})
	var nilEmitter *Emitter
	nilEmitter.Emit(nil, Count{Name: "Submissions", Value: 1})
	if b.Len() != 0 {
		t.Fatalf("wrote %q with no counts", b.String())
	}
}
