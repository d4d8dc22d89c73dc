package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// mergeItem is one test item of a merged listing.
type mergeItem struct {
	id    string
	shard int
	sk    string
	keep  bool
}

// mergeSeed writes items into the shard partitions of a test listing: on
// GSI1 (base PK per item) or, with baseTable, directly in the partitions.
func mergeSeed(t *testing.T, e *env, pks []string, items []mergeItem, baseTable bool) {
	t.Helper()
	for _, it := range items {
		av := map[string]types.AttributeValue{
			"ID":   &types.AttributeValueMemberS{Value: it.id},
			"Keep": &types.AttributeValueMemberBOOL{Value: it.keep},
		}
		if baseTable {
			av[AttrPK] = &types.AttributeValueMemberS{Value: pks[it.shard]}
			av[AttrSK] = &types.AttributeValueMemberS{Value: it.sk}
		} else {
			av[AttrPK] = &types.AttributeValueMemberS{Value: "MTI#" + it.id}
			av[AttrSK] = &types.AttributeValueMemberS{Value: "X"}
			av[AttrGSI1PK] = &types.AttributeValueMemberS{Value: pks[it.shard]}
			av[AttrGSI1SK] = &types.AttributeValueMemberS{Value: it.sk}
		}
		if _, err := e.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: av}); err != nil {
			t.Fatal(err)
		}
	}
}

// mergeListAll pages through q and returns the IDs; it checks page sizes,
// and that the last page carries no cursor.
func mergeListAll(t *testing.T, e *env, q mergedQuery, limit int) []string {
	t.Helper()
	var all []string
	cursor := ""
	for pages := 1; ; pages++ {
		e.calls.Reset()
		items, next, err := e.s.queryMerged(context.Background(), q, PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if q.filter == nil {
			if n := e.calls.Count("Query"); n > 2*len(q.pks) || n != e.calls.Total() {
				t.Fatalf("page %d: calls %v, want at most two rounds of Queries", pages, e.calls.Snapshot())
			}
			if next != "" && len(items) != limit {
				t.Fatalf("page %d: %d items and a cursor, want %d", pages, len(items), limit)
			}
			if next == "" && len(items) == 0 && pages > 1 {
				t.Fatalf("page %d: an empty last page (the previous page's cursor was spurious)", pages)
			}
		} else if n := e.calls.Count("Query"); n > mergedMaxRounds*len(q.pks) {
			t.Fatalf("page %d: %d Queries", pages, n)
		}
		if len(items) > limit {
			t.Fatalf("page %d: %d items, limit %d", pages, len(items), limit)
		}
		for _, it := range items {
			all = append(all, it["ID"].(*types.AttributeValueMemberS).Value)
		}
		if next == "" {
			return all
		}
		cursor = next
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
	}
}

func TestQueryMerged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	keepFilter := expression.Name("Keep").Equal(expression.Value(true))

	type scenario struct {
		name      string
		items     func(n int) []mergeItem
		baseTable bool
		filter    bool
		prefix    string
	}
	gen := func(count int, shard func(i int) int, keep func(i int) bool, prefix func(i int) string) func(int) []mergeItem {
		return func(int) []mergeItem {
			out := make([]mergeItem, count)
			perm := rng.Perm(count) // sort order independent of shard choice
			for i := range out {
				out[i] = mergeItem{id: fmt.Sprintf("i%03d", i), shard: shard(i), keep: keep(i), sk: fmt.Sprintf("%s%05d#i%03d", prefix(i), perm[i], i)}
			}
			return out
		}
	}
	all := func(int) bool { return true }
	none := func(int) string { return "" }
	random := func(int) int { return rng.IntN(ListShards) }
	scenarios := []scenario{
		{name: "uniform", items: gen(60, random, all, none)},
		{name: "all in one shard", items: gen(40, func(int) int { return 5 }, all, none)},
		{name: "two shards", items: gen(33, func(i int) int { return i % 2 * 7 }, all, none)},
		{name: "one item", items: gen(1, func(int) int { return 3 }, all, none)},
		{name: "empty", items: gen(0, random, all, none)},
		{name: "skewed 90/10", items: gen(50, func(i int) int {
			if i%10 == 0 {
				return i % ListShards
			}
			return 2
		}, all, none)},
		{name: "base table", items: gen(30, random, all, none), baseTable: true},
		{name: "filter", items: gen(40, random, func(i int) bool { return i%3 == 0 }, none), filter: true},
		{name: "sparse filter in one shard", items: gen(150, func(int) int { return 1 }, func(i int) bool { return i == 17 || i == 140 }, none), filter: true},
		{name: "filter matching nothing", items: gen(30, random, func(int) bool { return false }, none), filter: true},
		{name: "prefix", items: gen(50, random, all, func(i int) string { return []string{"a#", "ab#", "b#"}[i%3] }), prefix: "a#"},
	}
	for n, sc := range scenarios {
		pks := make([]string, ListShards)
		for i := range pks {
			pks[i] = fmt.Sprintf("MT#%d#%d", n, i)
		}
		items := sc.items(n)
		mergeSeed(t, e, pks, items, sc.baseTable)
		for _, forward := range []bool{false, true} {
			q := mergedQuery{entity: "test", index: IndexGSI1, pks: pks, forward: forward, skPrefix: sc.prefix}
			if sc.baseTable {
				q.index, q.consistent = "", true
			}
			if sc.filter {
				q.filter, q.scope = &keepFilter, "keep"
			}
			var want []mergeItem
			for _, it := range items {
				if (!sc.filter || it.keep) && len(it.sk) >= len(sc.prefix) && it.sk[:len(sc.prefix)] == sc.prefix {
					want = append(want, it)
				}
			}
			sort.Slice(want, func(i, j int) bool {
				if forward {
					return want[i].sk < want[j].sk
				}
				return want[i].sk > want[j].sk
			})
			var wantIDs []string
			for _, it := range want {
				wantIDs = append(wantIDs, it.id)
			}
			for _, limit := range []int{1, 3, 10, 100} {
				if limit == 1 && len(items) > 40 {
					continue // slow; covered by the small scenarios
				}
				got := mergeListAll(t, e, q, limit)
				if !reflect.DeepEqual(got, wantIDs) {
					t.Errorf("%s forward=%v limit %d:\n got %v\nwant %v", sc.name, forward, limit, got, wantIDs)
				}
			}
		}
	}
}

// TestQueryMergedReadsLittle checks that an unfiltered page reads about
// twice each shard's share, not a whole page per shard.
func TestQueryMergedReadsLittle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pks := make([]string, ListShards)
	for i := range pks {
		pks[i] = fmt.Sprintf("RL#%d", i)
	}
	var items []mergeItem
	for i := range 400 {
		items = append(items, mergeItem{id: fmt.Sprintf("r%03d", i), shard: i % ListShards, sk: fmt.Sprintf("%05d", i), keep: true})
	}
	mergeSeed(t, e, pks, items, false)
	counter := &mergeQueryCounter{DynamoDB: e.ddb}
	s := New(counter, e.table)
	got, next, err := s.queryMerged(context.Background(), mergedQuery{entity: "test", index: IndexGSI1, pks: pks}, PageRequest{Limit: 50})
	if err != nil || len(got) != 50 || next == "" {
		t.Fatalf("page: %d items, cursor %q, %v", len(got), next, err)
	}
	if counter.queries != ListShards || counter.items > 2*51+4*ListShards {
		t.Fatalf("%d Queries read %d items for a page of 50", counter.queries, counter.items)
	}
}

type mergeQueryCounter struct {
	DynamoDB
	mu             sync.Mutex
	queries, items int
}

func (c *mergeQueryCounter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.DynamoDB.Query(ctx, in, opts...)
	if err == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.queries++
		c.items += len(out.Items)
	}
	return out, err
}

func TestMergedCursorRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pks := []string{"CR#0", "CR#1", "CR#2"}
	q := mergedQuery{entity: "test", index: IndexGSI1, pks: pks, skPrefix: "p#"}
	sign := func(p mergedCursorPayload) string {
		raw, _ := json.Marshal(p)
		return base64.RawURLEncoding.EncodeToString(append(raw, e.s.mac(raw)...))
	}
	scope := mergedScope(q)
	key := []string{"p#1", "MTI#x", "X"}
	cases := []struct {
		name   string
		cursor string
	}{
		{"wrong shard count", sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Key: key}}})},
		{"done with a key", sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Done: true, Key: key}, {}, {}}})},
		{"short key", sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Key: key[:2]}, {}, {}}})},
		{"empty key value", sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Key: []string{"p#1", "", "X"}}, {}, {}}})},
		{"outside the prefix", sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Key: []string{"q#1", "MTI#x", "X"}}, {}, {}}})},
		{"all done", sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Done: true}, {Done: true}, {Done: true}}})},
		{"other scope", sign(mergedCursorPayload{V: cursorVersion, Scope: "x", Shards: []mergedShardPos{{}, {}, {}}})},
		{"other version", sign(mergedCursorPayload{V: 9, Scope: scope, Shards: []mergedShardPos{{}, {}, {}}})},
		{"single-partition cursor", func() string {
			raw, _ := json.Marshal(cursorPayload{V: cursorVersion, Scope: scope, Key: map[string]string{AttrGSI1PK: "CR#0", AttrGSI1SK: "p#1", AttrPK: "MTI#x", AttrSK: "X"}})
			return base64.RawURLEncoding.EncodeToString(append(raw, e.s.mac(raw)...))
		}()},
	}
	for _, c := range cases {
		e.calls.Reset()
		if _, _, err := e.s.queryMerged(context.Background(), q, PageRequest{Cursor: c.cursor}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: err = %v, want ErrInvalidCursor", c.name, err)
		}
		if n := e.calls.Total(); n != 0 {
			t.Errorf("%s: %d calls", c.name, n)
		}
	}
	// A well-formed one is accepted.
	ok := sign(mergedCursorPayload{V: cursorVersion, Scope: scope, Shards: []mergedShardPos{{Key: key}, {Done: true}, {}}})
	if _, _, err := e.s.queryMerged(context.Background(), q, PageRequest{Cursor: ok}); err != nil {
		t.Fatalf("well-formed cursor: %v", err)
	}
}
