package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEmitEMF(t *testing.T) {
	var b bytes.Buffer
	e := New(&b, "form-intake")
	e.now = func() time.Time { return time.UnixMilli(1795428930000) }
	e.Emit(map[string]string{"outcome": "rejected", "reason": "validation"}, Count{Name: "Submissions", Value: 1}, Count{Name: "Duration", Value: 2.5, Unit: "Milliseconds"})
	var doc struct {
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
		Submissions float64 `json:"Submissions"`
		Duration    float64 `json:"Duration"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != 1795428930000 || len(m) != 1 || m[0].Namespace != "kehu" || len(m[0].Metrics) != 2 {
		t.Fatalf("EMF %s", b.String())
	}
	if got := m[0].Dimensions[0]; len(got) != 3 || got[0] != "function" || got[1] != "outcome" || got[2] != "reason" {
		t.Fatalf("dimensions %v", got)
	}
	if doc.Function != "form-intake" || doc.Outcome != "rejected" || doc.Submissions != 1 || doc.Duration != 2.5 || m[0].Metrics[1].Unit != "Milliseconds" {
		t.Fatalf("values %+v", doc)
	}
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Fatal("not one line per event")
	}
}
