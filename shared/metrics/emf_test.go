package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEmitWritesOneEMFLine(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "IGNY8/Integrations")
	e.now = func() time.Time { return time.UnixMilli(1_700_000_000_000) }

	err := e.Emit(map[string]string{"Stage": "dev", "JobType": "sync.page"}, map[string]any{"integration_id": "int-1"},
		Metric{Name: "PagesPulled", Unit: Count, Value: 3},
		Metric{Name: "Duration", Unit: Milliseconds, Value: 12.5},
	)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage         string
		JobType       string
		IntegrationID string `json:"integration_id"`
		PagesPulled   float64
		Duration      float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not one JSON document: %v: %s", err, buf.String())
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("want exactly one line, got %q", buf.String())
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if doc.AWS.Timestamp != 1_700_000_000_000 || d.Namespace != "IGNY8/Integrations" {
		t.Fatalf("bad metadata: %+v", doc.AWS)
	}
	if len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 2 || d.Dimensions[0][0] != "JobType" || d.Dimensions[0][1] != "Stage" {
		t.Fatalf("dimensions = %v, want [[JobType Stage]]", d.Dimensions)
	}
	if len(d.Metrics) != 2 || d.Metrics[0].Name != "PagesPulled" || d.Metrics[0].Unit != "Count" {
		t.Fatalf("metrics = %+v", d.Metrics)
	}
	if doc.PagesPulled != 3 || doc.Duration != 12.5 || doc.Stage != "dev" || doc.IntegrationID != "int-1" {
		t.Fatalf("values not at the top level: %s", buf.String())
	}
}

func TestEmitRejectsCollisionsAndLimits(t *testing.T) {
	e := New(&bytes.Buffer{}, "ns")
	if err := e.Emit(map[string]string{"Stage": "dev"}, nil, Metric{Name: "Stage", Value: 1}); err == nil {
		t.Fatal("a metric named like a dimension was accepted")
	}
	many := make([]Metric, maxMetrics+1)
	for i := range many {
		many[i] = Metric{Name: string(rune('a'+i%26)) + string(rune('a'+i/26)), Value: 1}
	}
	if err := e.Emit(nil, nil, many...); err == nil {
		t.Fatal("more than 100 metrics in one line were accepted")
	}
}
