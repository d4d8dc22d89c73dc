// Package metrics writes CloudWatch metrics as Embedded Metric Format (EMF)
// log lines: in Lambda, CloudWatch Logs turns each such line into metrics
// with no API call and no added latency. Locally the lines are just JSON.
//
// Keep dimensions low-cardinality: every distinct combination is a billed
// custom metric. Put high-cardinality values (integration IDs, run IDs) in
// properties, which are searchable in Logs Insights but are not dimensions.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Unit is a CloudWatch unit.
type Unit string

// Units used by the service.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
	None         Unit = "None"
)

// Metric is one value.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// EMF limits (CloudWatch rejects lines that exceed them).
const (
	maxDimensions = 30
	maxMetrics    = 100
)

// Emitter writes EMF lines to one writer (stdout in Lambda).
type Emitter struct {
	w         io.Writer
	namespace string
	now       func() time.Time
	mu        sync.Mutex
}

// New returns an emitter for namespace.
func New(w io.Writer, namespace string) *Emitter {
	return &Emitter{w: w, namespace: namespace, now: time.Now}
}

// Emit writes one EMF line with the given dimensions, extra properties and
// metrics. Metric names must not collide with dimension or property names.
func (e *Emitter) Emit(dims map[string]string, props map[string]any, ms ...Metric) error {
	if len(ms) == 0 {
		return nil
	}
	if len(ms) > maxMetrics || len(dims) > maxDimensions {
		return fmt.Errorf("emf: %d metrics and %d dimensions exceed the limits of %d and %d", len(ms), len(dims), maxMetrics, maxDimensions)
	}
	doc := make(map[string]any, len(dims)+len(props)+len(ms)+1)
	for k, v := range props {
		doc[k] = v
	}
	dimNames := make([]string, 0, len(dims))
	for k, v := range dims {
		doc[k] = v
		dimNames = append(dimNames, k)
	}
	sort.Strings(dimNames)
	defs := make([]map[string]string, 0, len(ms))
	for _, m := range ms {
		if _, clash := doc[m.Name]; clash {
			return fmt.Errorf("emf: metric %q collides with a dimension or property", m.Name)
		}
		unit := m.Unit
		if unit == "" {
			unit = None
		}
		defs = append(defs, map[string]string{"Name": m.Name, "Unit": string(unit)})
		doc[m.Name] = m.Value
	}
	doc["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  e.namespace,
			"Dimensions": [][]string{dimNames},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("emf: encode: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(append(line, '\n'))
	return err
}
