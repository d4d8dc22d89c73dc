package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// meter is an SDK HTTP client that counts AWS calls by service and
// operation and estimates DynamoDB on-demand request units from the items
// in the requests (writes) and responses (reads). The emulator reports no
// ConsumedCapacity, so the units are estimates (see estimateNote).
type meter struct {
	next *awshttp.BuildableClient

	mu     sync.Mutex
	calls  map[string]int // "DynamoDB PutItem", "SQS SendMessageBatch"
	wru    float64
	rru    float64
	writes map[string]int // "UpdateItem RUN#" → items written
}

func newMeter() *meter {
	m := &meter{next: awshttp.NewBuildableClient()}
	m.reset()
	return m
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.writes, m.wru, m.rru = map[string]int{}, map[string]int{}, 0, 0
}

type meterSnapshot struct {
	Calls    map[string]int
	Writes   map[string]int
	WRU, RRU float64
}

func (m *meter) snapshot() meterSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := meterSnapshot{Calls: map[string]int{}, Writes: map[string]int{}, WRU: m.wru, RRU: m.rru}
	for k, v := range m.calls {
		s.Calls[k] = v
	}
	for k, v := range m.writes {
		s.Writes[k] = v
	}
	return s
}

func (s meterSnapshot) total(service string) int {
	n := 0
	for k, v := range s.Calls {
		if strings.HasPrefix(k, service+" ") {
			n += v
		}
	}
	return n
}

// list renders "Op ×n, Op ×n" for one service, largest first.
func list(m map[string]int, prefix string) string {
	type kv struct {
		k string
		v int
	}
	var kvs []kv
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			kvs = append(kvs, kv{strings.TrimPrefix(k, prefix), v})
		}
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].v != kvs[j].v {
			return kvs[i].v > kvs[j].v
		}
		return kvs[i].k < kvs[j].k
	})
	var parts []string
	for _, x := range kvs {
		parts = append(parts, x.k+" ×"+itoa(x.v))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (m *meter) Do(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	svc, op := "other", target
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		svc, op = target[:i], target[i+1:]
	}
	switch {
	case strings.HasPrefix(svc, "DynamoDB"):
		svc = "DynamoDB"
	case strings.HasPrefix(svc, "AmazonSQS"):
		svc = "SQS"
	case strings.HasPrefix(svc, "secretsmanager"):
		svc = "SecretsManager"
	}
	m.mu.Lock()
	m.calls[svc+" "+op]++
	m.mu.Unlock()
	if svc != "DynamoDB" || r.Body == nil {
		return m.next.Do(r)
	}
	reqBody, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp, err := m.next.Do(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		// Failed conditional writes still consume write units.
		if err == nil && resp.StatusCode == http.StatusBadRequest {
			m.account(op, reqBody, nil)
		}
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	plain := respBody
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		if zr, err := gzip.NewReader(bytes.NewReader(respBody)); err == nil {
			plain, _ = io.ReadAll(zr)
		}
	}
	m.account(op, reqBody, plain)
	return resp, nil
}

type item = map[string]json.RawMessage

// account estimates the request units of one DynamoDB call: writes 1 WRU
// per KB of item (twice in a transaction, once more per GSI the item
// carries a key of — every GSI projects ALL), reads 1 RRU per 4 KB read
// (half when eventually consistent, twice in a transaction).
func (m *meter) account(op string, req, resp []byte) {
	var in struct {
		Item                      item
		Key                       item
		ExpressionAttributeValues item
		ConsistentRead            bool
		RequestItems              map[string]json.RawMessage
		TransactItems             []map[string]struct {
			Item                      item
			Key                       item
			ExpressionAttributeValues item
		}
	}
	_ = json.Unmarshal(req, &in)
	var out struct {
		Item      item
		Items     []item
		Responses json.RawMessage
	}
	if resp != nil {
		_ = json.Unmarshal(resp, &out)
	}
	var wru, rru float64
	var writes []string
	readFactor := 0.5
	if in.ConsistentRead {
		readFactor = 1
	}
	switch op {
	case "PutItem":
		wru += writeUnits(in.Item, 1)
		writes = append(writes, op+" "+kind(in.Item))
	case "UpdateItem":
		wru += updateUnits(in.Key, in.ExpressionAttributeValues, 1)
		writes = append(writes, op+" "+kind(in.Key))
	case "DeleteItem":
		wru++
		writes = append(writes, op+" "+kind(in.Key))
	case "BatchWriteItem":
		for _, raw := range in.RequestItems {
			var reqs []struct {
				PutRequest    *struct{ Item item }
				DeleteRequest *struct{ Key item }
			}
			_ = json.Unmarshal(raw, &reqs)
			for _, w := range reqs {
				if w.PutRequest != nil {
					wru += writeUnits(w.PutRequest.Item, 1)
					writes = append(writes, op+" "+kind(w.PutRequest.Item))
				} else if w.DeleteRequest != nil {
					wru++
					writes = append(writes, op+" "+kind(w.DeleteRequest.Key))
				}
			}
		}
	case "TransactWriteItems":
		for _, ti := range in.TransactItems {
			for action, x := range ti {
				switch action {
				case "Put":
					wru += writeUnits(x.Item, 2)
					writes = append(writes, op+"/"+action+" "+kind(x.Item))
				case "Update":
					wru += updateUnits(x.Key, x.ExpressionAttributeValues, 2)
					writes = append(writes, op+"/"+action+" "+kind(x.Key))
				default: // Delete, ConditionCheck
					wru += 2
					if action == "Delete" {
						writes = append(writes, op+"/"+action+" "+kind(x.Key))
					}
				}
			}
		}
	case "GetItem":
		rru += readUnits(itemSize(out.Item), readFactor)
	case "Query", "Scan":
		total := 0
		for _, it := range out.Items {
			total += itemSize(it)
		}
		rru += readUnits(total, readFactor)
	case "BatchGetItem":
		var byTable map[string][]item
		_ = json.Unmarshal(out.Responses, &byTable)
		factor := 0.5
		if strings.Contains(string(req), `"ConsistentRead":true`) {
			factor = 1
		}
		for _, items := range byTable {
			for _, it := range items {
				rru += readUnits(itemSize(it), factor)
			}
		}
	case "TransactGetItems":
		var rs []struct{ Item item }
		_ = json.Unmarshal(out.Responses, &rs)
		for _, x := range rs {
			rru += readUnits(itemSize(x.Item), 2)
		}
	}
	m.mu.Lock()
	m.wru += wru
	m.rru += rru
	for _, w := range writes {
		m.writes[w]++
	}
	m.mu.Unlock()
}

func writeUnits(it item, factor float64) float64 {
	kb := math.Max(1, math.Ceil(float64(itemSize(it))/1024))
	copies := 1.0
	for _, gsi := range []string{"GSI1PK", "GSI2PK", "GSI3PK"} {
		if _, ok := it[gsi]; ok {
			copies++
		}
	}
	return kb * factor * copies
}

// updateUnits: the real charge is the larger of the item's size before and
// after the update, which the request does not show; the key plus the new
// values is a lower bound.
func updateUnits(key, values item, factor float64) float64 {
	n := itemSize(key) + itemSize(values)
	return math.Max(1, math.Ceil(float64(n)/1024)) * factor
}

func readUnits(size int, factor float64) float64 {
	return math.Max(1, math.Ceil(float64(size)/4096)) * factor
}

// kind names the entity an item is: the SK up to its first data component.
func kind(it item) string {
	var sk struct{ S string }
	_ = json.Unmarshal(it["SK"], &sk)
	if i := strings.IndexByte(sk.S, '#'); i >= 0 {
		return sk.S[:i+1]
	}
	if sk.S == "" {
		return "?"
	}
	return sk.S
}

// itemSize is DynamoDB's item size: attribute names plus values.
func itemSize(it item) int {
	n := 0
	for k, v := range it {
		n += len(k) + avSize(v)
	}
	return n
}

func avSize(raw json.RawMessage) int {
	var v map[string]json.RawMessage
	if json.Unmarshal(raw, &v) != nil {
		return 0
	}
	n := 0
	for t, x := range v {
		switch t {
		case "S":
			var s string
			_ = json.Unmarshal(x, &s)
			n += len(s)
		case "N":
			var s string
			_ = json.Unmarshal(x, &s)
			n += numSize(s)
		case "B":
			var s string
			_ = json.Unmarshal(x, &s)
			n += base64.StdEncoding.DecodedLen(len(s))
		case "BOOL", "NULL":
			n++
		case "SS", "NS", "BS":
			var ss []string
			_ = json.Unmarshal(x, &ss)
			for _, s := range ss {
				switch t {
				case "SS":
					n += len(s)
				case "NS":
					n += numSize(s)
				default:
					n += base64.StdEncoding.DecodedLen(len(s))
				}
			}
		case "M":
			var m item
			_ = json.Unmarshal(x, &m)
			n += 3
			for k, e := range m {
				n += len(k) + avSize(e) + 1
			}
		case "L":
			var l []json.RawMessage
			_ = json.Unmarshal(x, &l)
			n += 3
			for _, e := range l {
				n += avSize(e) + 1
			}
		}
	}
	return n
}

func numSize(s string) int {
	digits := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	return (digits+1)/2 + 1
}
