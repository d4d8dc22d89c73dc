package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Merged listings read a sharded listing (keys.go's …Partitions: one
// partition key value per shard) as one ordered listing: one Query per shard,
// merged by sort key, with a cursor that records the position in every shard.
//
// The merge only emits an item when no shard can still hold an earlier one:
// a shard whose fetched items are used up and which is not exhausted blocks
// every item after its last evaluated key until it is read further. So the
// per-shard Limit is only a guess that keeps reads small (about twice the
// shard's expected share of the page); a skewed distribution costs another
// round of Queries on the shards that ran dry, never a wrong order, a gap or
// a duplicate. Without a filter a page takes one round of ListShards Queries
// (rarely a second, on the shards that ran dry); with a filter it takes more
// rounds while matches are sparse, up to mergedMaxRounds, after which the page
// may be short and still carry a cursor.

// mergedMaxRounds bounds the Query rounds of one page.
const mergedMaxRounds = 8

// maxMergedCursorLen bounds what we try to decode as a merged cursor (one
// position per shard).
const maxMergedCursorLen = 16384

// mergedQuery describes a listing merged across the shard partitions of one
// index (or of the base table).
type mergedQuery struct {
	entity   string   // for messages and the cursor scope
	index    string   // "" = base table
	pks      []string // partition key values, one per shard, in shard order
	skPrefix string   // "" = whole partitions
	forward  bool     // ascending sort key order
	// filter is an optional filter expression. scope must then describe
	// the filter's values, so a cursor cannot cross filters.
	filter *expression.ConditionBuilder
	scope  string
	// consistent asks for strongly consistent Queries (base table only).
	consistent bool
}

// mergedShardPos is one shard's position in a merged cursor: done, or the
// key of the last item returned from it (values of the index's key
// attributes after the partition key, in keyAttrs order), or neither (not
// started).
type mergedShardPos struct {
	Done bool     `json:"d,omitempty"`
	Key  []string `json:"k,omitempty"`
}

type mergedCursorPayload struct {
	V      int              `json:"v"`
	Scope  string           `json:"s"`
	Shards []mergedShardPos `json:"p"`
}

// mergedScope is a digest of everything that defines the listing: a cursor
// is only accepted by the listing it came from.
func mergedScope(q mergedQuery) string {
	parts := []string{"merged", q.entity, q.index, q.skPrefix, fmt.Sprint(q.forward), q.scope}
	parts = append(parts, q.pks...)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (s *Store) encodeMergedCursor(q mergedQuery, pos []mergedShardPos) (string, error) {
	payload, err := json.Marshal(mergedCursorPayload{V: cursorVersion, Scope: mergedScope(q), Shards: pos})
	if err != nil {
		return "", fmt.Errorf("encode %s cursor: %w", q.entity, err)
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, s.mac(payload)...)), nil
}

func (s *Store) decodeMergedCursor(c string, q mergedQuery, attrs []string) ([]mergedShardPos, error) {
	bad := func(why string) error { return fmt.Errorf("%s cursor: %s: %w", q.entity, why, ErrInvalidCursor) }
	if len(c) > maxMergedCursorLen {
		return nil, bad("too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) <= cursorMACLen {
		return nil, bad("not a cursor")
	}
	payload, sum := raw[:len(raw)-cursorMACLen], raw[len(raw)-cursorMACLen:]
	if !hmac.Equal(sum, s.mac(payload)) {
		return nil, bad("signature mismatch")
	}
	var p mergedCursorPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, bad("malformed")
	}
	if p.V != cursorVersion {
		return nil, bad("unknown version")
	}
	if p.Scope != mergedScope(q) {
		return nil, bad("belongs to another listing")
	}
	if len(p.Shards) != len(q.pks) {
		return nil, bad("wrong shard count")
	}
	open := false
	for _, sp := range p.Shards {
		switch {
		case sp.Done && sp.Key != nil:
			return nil, bad("wrong key shape")
		case sp.Done:
			continue
		case sp.Key != nil:
			if len(sp.Key) != len(attrs)-1 {
				return nil, bad("wrong key shape")
			}
			for _, v := range sp.Key {
				if v == "" {
					return nil, bad("wrong key shape")
				}
			}
			if !strings.HasPrefix(sp.Key[0], q.skPrefix) {
				return nil, bad("outside the listing")
			}
		}
		open = true
	}
	if !open {
		return nil, bad("exhausted")
	}
	return p.Shards, nil
}

// mergedShard is one shard's state while a page is merged.
type mergedShard struct {
	buf       []map[string]types.AttributeValue // fetched, matching, not yet emitted
	frontier  map[string]types.AttributeValue   // LastEvaluatedKey of the last fetch
	exhausted bool                              // the partition has nothing after frontier
	fetched   bool
	start     map[string]types.AttributeValue // where the next fetch starts
}

// mergedTuple is an item's position in the merged order: the index sort
// key, then the base table key (unique, so ties across shards are ordered).
func mergedTuple(attrs []string, item map[string]types.AttributeValue) [3]string {
	str := func(a string) string {
		if v, ok := item[a].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return [3]string{str(attrs[1]), str(AttrPK), str(AttrSK)}
}

// queryMerged returns one page of the merged listing q and the cursor of the
// next page ("" on the last page: it looks one item ahead). A cursor is
// checked (signature, listing, shard count, key shape, sort prefix) before
// any DynamoDB call. Items come in sort key order (descending unless
// q.forward), ties broken by base table key.
func (s *Store) queryMerged(ctx context.Context, q mergedQuery, p PageRequest) ([]map[string]types.AttributeValue, string, error) {
	attrs, err := keyAttrs(q.index)
	if err != nil {
		return nil, "", err
	}
	if len(q.pks) == 0 {
		return nil, "", fmt.Errorf("%s listing: no partitions", q.entity)
	}
	if q.filter != nil && q.scope == "" {
		return nil, "", fmt.Errorf("%s listing: a filter needs a cursor scope", q.entity)
	}
	if q.consistent && q.index != "" {
		return nil, "", fmt.Errorf("%s listing: consistent reads on an index", q.entity)
	}
	limit := p.limit()
	n := len(q.pks)
	pos := make([]mergedShardPos, n)
	if p.Cursor != "" {
		if pos, err = s.decodeMergedCursor(p.Cursor, q, attrs); err != nil {
			return nil, "", err
		}
	}
	exprs := make([]expression.Expression, n)
	for i, pk := range q.pks {
		kc := expression.Key(attrs[0]).Equal(expression.Value(pk))
		if q.skPrefix != "" {
			kc = kc.And(expression.Key(attrs[1]).BeginsWith(q.skPrefix))
		}
		b := expression.NewBuilder().WithKeyCondition(kc)
		if q.filter != nil {
			b = b.WithFilter(*q.filter)
		}
		if exprs[i], err = b.Build(); err != nil {
			return nil, "", fmt.Errorf("build %s query: %w", q.entity, err)
		}
	}

	less := func(a, b [3]string) bool {
		if q.forward {
			return a[0] < b[0] || a[0] == b[0] && (a[1] < b[1] || a[1] == b[1] && a[2] < b[2])
		}
		return a[0] > b[0] || a[0] == b[0] && (a[1] > b[1] || a[1] == b[1] && a[2] > b[2])
	}

	shards := make([]*mergedShard, n)
	for i := range shards {
		sh := &mergedShard{exhausted: pos[i].Done}
		if pos[i].Key != nil {
			sh.start = map[string]types.AttributeValue{attrs[0]: &types.AttributeValueMemberS{Value: q.pks[i]}}
			for j, a := range attrs[1:] {
				sh.start[a] = &types.AttributeValueMemberS{Value: pos[i].Key[j]}
			}
		}
		shards[i] = sh
	}

	fetch := func(which []int, perShard int) error {
		var wg sync.WaitGroup
		errs := make([]error, len(which))
		for w, i := range which {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sh := shards[i]
				in := &dynamodb.QueryInput{
					TableName:                 aws.String(s.table),
					KeyConditionExpression:    keyCondition(exprs[i].KeyCondition()),
					FilterExpression:          exprs[i].Filter(),
					ExpressionAttributeNames:  exprs[i].Names(),
					ExpressionAttributeValues: exprs[i].Values(),
					ExclusiveStartKey:         sh.start,
					Limit:                     aws.Int32(int32(perShard)),
					ScanIndexForward:          aws.Bool(q.forward),
				}
				if q.index != "" {
					in.IndexName = aws.String(q.index)
				}
				if q.consistent {
					in.ConsistentRead = aws.Bool(true)
				}
				out, err := s.ddb.Query(ctx, in)
				if err != nil {
					errs[w] = fmt.Errorf("query %s shard %d: %w", q.entity, i, err)
					return
				}
				sh.fetched = true
				sh.buf = append(sh.buf, out.Items...)
				if len(out.LastEvaluatedKey) == 0 {
					sh.exhausted, sh.frontier, sh.start = true, nil, nil
					return
				}
				sh.start = out.LastEvaluatedKey
				frontier, err := s.mergedFrontier(ctx, attrs, out.LastEvaluatedKey, out.Items)
				if err != nil {
					errs[w] = fmt.Errorf("query %s shard %d: %w", q.entity, i, err)
					return
				}
				if frontier != nil {
					sh.frontier = frontier // else keep the older, conservative one
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}

	type emittedItem struct {
		item  map[string]types.AttributeValue
		shard int
	}
	var emitted []emittedItem
	want := limit + 1 // one ahead: the last page carries no cursor

	// First round: every open shard, about twice its share of the page.
	perShard := want
	if q.filter == nil {
		perShard = min(want, 2*((want+n-1)/n)+2)
	}
	var open []int
	for i, sh := range shards {
		if !sh.exhausted {
			open = append(open, i)
		}
	}
	if err := fetch(open, perShard); err != nil {
		return nil, "", err
	}
	for round := 1; ; round++ {
		// Emit while the smallest buffered head is safe: it precedes the
		// frontier of every shard that ran dry but is not exhausted.
		var blocking []int
		for len(emitted) < want {
			best := -1
			var bestT [3]string
			for i, sh := range shards {
				if len(sh.buf) == 0 {
					continue
				}
				if t := mergedTuple(attrs, sh.buf[0]); best < 0 || less(t, bestT) {
					best, bestT = i, t
				}
			}
			blocking = blocking[:0]
			for i, sh := range shards {
				if len(sh.buf) == 0 && !sh.exhausted && (best < 0 || sh.frontier == nil || !less(bestT, mergedTuple(attrs, sh.frontier))) {
					blocking = append(blocking, i)
				}
			}
			if best < 0 || len(blocking) > 0 {
				break
			}
			emitted = append(emitted, emittedItem{item: shards[best].buf[0], shard: best})
			shards[best].buf = shards[best].buf[1:]
		}
		if len(emitted) >= want || len(blocking) == 0 || round >= mergedMaxRounds {
			break
		}
		next := max(want-len(emitted), 1)
		if q.filter != nil {
			next = want
		}
		if err := fetch(blocking, next); err != nil {
			return nil, "", err
		}
	}

	page := emitted
	if len(page) > limit {
		page = page[:limit]
	}
	// Positions: after the last item of this page from each shard; a shard
	// with nothing left unreturned moves to its frontier or is done.
	held := make([]bool, n)
	for i, sh := range shards {
		held[i] = len(sh.buf) > 0
	}
	for _, e := range emitted[len(page):] {
		held[e.shard] = true
	}
	last := make([]map[string]types.AttributeValue, n)
	for _, e := range page {
		last[e.shard] = e.item
	}
	more := false
	for i, sh := range shards {
		switch {
		case pos[i].Done:
			continue
		case !held[i] && sh.exhausted:
			pos[i] = mergedShardPos{Done: true}
			continue
		case !held[i] && sh.fetched && sh.frontier != nil:
			pos[i] = mergedShardPos{Key: mergedKeyValues(attrs, sh.frontier)}
		case last[i] != nil:
			pos[i] = mergedShardPos{Key: mergedKeyValues(attrs, last[i])}
		}
		if pos[i].Key == nil && !pos[i].Done && last[i] != nil {
			return nil, "", fmt.Errorf("encode %s cursor: key attributes missing", q.entity)
		}
		more = true
	}
	items := make([]map[string]types.AttributeValue, len(page))
	for i, e := range page {
		items[i] = e.item
	}
	if !more {
		return items, "", nil
	}
	next, err := s.encodeMergedCursor(q, pos)
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// mergedFrontier returns the full key (index and base attributes) of the
// last item a Query evaluated, from its LastEvaluatedKey. DynamoDB's
// LastEvaluatedKey of an index Query holds both; an emulator that returns
// only the base key (kumo) gets it completed from the last returned item
// or, when a filter dropped that item, from one GetItem. nil when it can't
// be known (the item vanished): the shard then blocks the merge until read
// further and keeps its old cursor position.
func (s *Store) mergedFrontier(ctx context.Context, attrs []string, lek map[string]types.AttributeValue, items []map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if mergedKeyValues(attrs, lek) != nil {
		return lek, nil
	}
	base := func(m map[string]types.AttributeValue) (Key, bool) {
		pk, ok1 := m[AttrPK].(*types.AttributeValueMemberS)
		sk, ok2 := m[AttrSK].(*types.AttributeValueMemberS)
		if !ok1 || !ok2 {
			return Key{}, false
		}
		return Key{PK: pk.Value, SK: sk.Value}, true
	}
	k, ok := base(lek)
	if !ok {
		return nil, fmt.Errorf("last evaluated key without the table key")
	}
	if n := len(items); n > 0 {
		if last, ok := base(items[n-1]); ok && last == k && mergedKeyValues(attrs, items[n-1]) != nil {
			return items[n-1], nil
		}
	}
	item, err := s.getItem(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("complete last evaluated key: %w", err)
	}
	if item == nil || mergedKeyValues(attrs, item) == nil {
		if n := len(items); n > 0 {
			return items[n-1], nil // conservative: re-reads what the filter dropped
		}
		return nil, nil
	}
	return item, nil
}

// mergedKeyValues returns key's values for the key attributes after the
// partition key; nil when one is missing or not a non-empty string.
func mergedKeyValues(attrs []string, key map[string]types.AttributeValue) []string {
	out := make([]string, 0, len(attrs)-1)
	for _, a := range attrs[1:] {
		v, ok := key[a].(*types.AttributeValueMemberS)
		if !ok || v.Value == "" {
			return nil
		}
		out = append(out, v.Value)
	}
	return out
}
