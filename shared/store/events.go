package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sync event statuses.
const (
	EventPending = "pending"
	EventSuccess = "success"
	EventFailed  = "failed"
)

// Sync event limits.
const (
	// MaxEventMetadataBytes caps an event's JSON-encoded Metadata. Larger
	// metadata is replaced by a marker object (see PutSyncEvents), not
	// refused: events are diagnostics and must not fail the work they record.
	MaxEventMetadataBytes = 4 * 1024
	// MaxEventErrorBytes caps an event's ErrorMessage (cut and marked).
	MaxEventErrorBytes = 2 * 1024
	// DefaultEventRetention is used when PutSyncEvents gets no retention.
	DefaultEventRetention = 30 * 24 * time.Hour
	// MaxEventBatch is DynamoDB's BatchWriteItem limit.
	MaxEventBatch = 25
)

// Metadata marker keys, present when metadata was over MaxEventMetadataBytes.
const (
	EventMetaTruncated     = "_truncated"      // true
	EventMetaOriginalBytes = "_original_bytes" // size of the JSON that was cut
	EventMetaPreview       = "_preview"        // the start of that JSON, as a string
)

// SyncEvent records one thing that happened to one item during a sync (a
// push, a failed pull, a conflict, a webhook). Events expire (ExpiresAt,
// the table's TTL attribute).
type SyncEvent struct {
	AccountID     string
	IntegrationID string
	ID            string
	// EventType: content_push, content_pull, webhook, conflict,
	// taxonomy_pull, …
	EventType string
	// Direction: igny8_to_wp or wp_to_igny8.
	Direction   string
	ContentType string
	ContentID   string
	ExternalID  int64
	// Status: EventPending, EventSuccess or EventFailed.
	Status       string
	ErrorMessage string
	// Metadata is small JSON-able context, stored JSON-encoded (numbers
	// read back as float64).
	Metadata  map[string]any
	RunID     string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// EventFilter narrows ListSyncEvents. Empty fields don't filter.
type EventFilter struct{ Status, EventType string }

// SyncEventStore is what the worker, the webhook function and the API need
// from the store for sync events.
type SyncEventStore interface {
	PutSyncEvents(ctx context.Context, events []SyncEvent, retention time.Duration) error
	ListSyncEvents(ctx context.Context, accountID, integrationID string, f EventFilter, p PageRequest) (Page[SyncEvent], error)
	CountFailedSyncEventsSince(ctx context.Context, accountID, integrationID string, since time.Time) (int, error)
}

var _ SyncEventStore = (*Store)(nil)

const (
	entitySyncEvent = "sync_event"
	// eventBatchAttempts bounds BatchWriteItem calls for one chunk while
	// DynamoDB leaves items unprocessed.
	eventBatchAttempts = 8
)

// syncEventItem is the stored shape of a SyncEvent (ExpiresAt is AttrTTL,
// written separately).
type syncEventItem struct {
	PK, SK         string
	GSI1PK, GSI1SK string
	GSI2PK, GSI2SK string
	Entity         string
	AccountID      string
	IntegrationID  string
	ID             string
	EventType      string
	Direction      string `dynamodbav:",omitempty"`
	ContentType    string `dynamodbav:",omitempty"`
	ContentID      string `dynamodbav:",omitempty"`
	ExternalID     int64  `dynamodbav:",omitempty"`
	Status         string
	ErrorMessage   string `dynamodbav:",omitempty"`
	MetadataJSON   string `dynamodbav:",omitempty"`
	RunID          string `dynamodbav:",omitempty"`
	CreatedAt      string
}

func validateSyncEvent(ev SyncEvent) error {
	switch {
	case ev.AccountID == "" || ev.IntegrationID == "":
		return fmt.Errorf("sync event: account and integration id are required: %w", ErrInvalid)
	case ev.EventType == "":
		return fmt.Errorf("sync event: event type is required: %w", ErrInvalid)
	case ev.Status == "":
		return fmt.Errorf("sync event: status is required: %w", ErrInvalid)
	}
	return nil
}

// eventMetadataJSON encodes metadata, replacing JSON over
// MaxEventMetadataBytes by a marker object carrying its size and a preview.
func eventMetadataJSON(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("sync event metadata: %v: %w", err, ErrInvalid)
	}
	if len(raw) <= MaxEventMetadataBytes {
		return string(raw), nil
	}
	n := MaxEventMetadataBytes - 96
	for {
		for n > 0 && !utf8.RuneStart(raw[n]) {
			n--
		}
		b, err := json.Marshal(map[string]any{
			EventMetaTruncated:     true,
			EventMetaOriginalBytes: len(raw),
			EventMetaPreview:       string(raw[:n]),
		})
		if err != nil {
			return "", fmt.Errorf("sync event metadata marker: %w", err)
		}
		if len(b) <= MaxEventMetadataBytes || n == 0 {
			return string(b), nil
		}
		// Escapes grew the preview: shrink by the excess and try again.
		n -= len(b) - MaxEventMetadataBytes
		if n < 0 {
			n = 0
		}
	}
}

func marshalSyncEvent(ev SyncEvent) (map[string]types.AttributeValue, error) {
	key := SyncEventKey(ev.AccountID, ev.IntegrationID, ev.ID, ev.CreatedAt)
	byStatus := SyncEventByStatusIndex(ev.AccountID, ev.IntegrationID, ev.Status, ev.ID, ev.CreatedAt)
	byType := SyncEventByTypeIndex(ev.AccountID, ev.IntegrationID, ev.EventType, ev.ID, ev.CreatedAt)
	meta, err := eventMetadataJSON(ev.Metadata)
	if err != nil {
		return nil, err
	}
	item, err := attributevalue.MarshalMap(syncEventItem{
		PK: key.PK, SK: key.SK,
		GSI1PK: byStatus.PK, GSI1SK: byStatus.SK,
		GSI2PK: byType.PK, GSI2SK: byType.SK,
		Entity:        entitySyncEvent,
		AccountID:     ev.AccountID,
		IntegrationID: ev.IntegrationID,
		ID:            ev.ID,
		EventType:     ev.EventType,
		Direction:     ev.Direction,
		ContentType:   ev.ContentType,
		ContentID:     ev.ContentID,
		ExternalID:    ev.ExternalID,
		Status:        ev.Status,
		ErrorMessage:  syncCap(ev.ErrorMessage, MaxEventErrorBytes),
		MetadataJSON:  meta,
		RunID:         ev.RunID,
		CreatedAt:     syncTime(ev.CreatedAt),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal sync event: %w", err)
	}
	item[AttrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(ev.ExpiresAt.Unix(), 10)}
	return item, nil
}

func unmarshalSyncEvent(item map[string]types.AttributeValue) (SyncEvent, error) {
	var it syncEventItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return SyncEvent{}, fmt.Errorf("unmarshal sync event: %w", err)
	}
	ev := SyncEvent{
		AccountID:     it.AccountID,
		IntegrationID: it.IntegrationID,
		ID:            it.ID,
		EventType:     it.EventType,
		Direction:     it.Direction,
		ContentType:   it.ContentType,
		ContentID:     it.ContentID,
		ExternalID:    it.ExternalID,
		Status:        it.Status,
		ErrorMessage:  it.ErrorMessage,
		RunID:         it.RunID,
	}
	var err error
	if ev.CreatedAt, err = syncParseTime("sync event "+it.ID+" created_at", it.CreatedAt); err != nil {
		return SyncEvent{}, err
	}
	if n, ok := item[AttrTTL].(*types.AttributeValueMemberN); ok {
		secs, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return SyncEvent{}, fmt.Errorf("sync event %s expires_at: %w", it.ID, err)
		}
		ev.ExpiresAt = time.Unix(secs, 0).UTC()
	}
	if it.MetadataJSON != "" {
		if err := json.Unmarshal([]byte(it.MetadataJSON), &ev.Metadata); err != nil {
			return SyncEvent{}, fmt.Errorf("sync event %s metadata: %w", it.ID, err)
		}
	}
	return ev, nil
}

// PutSyncEvents stores events: IDs are generated when empty, CreatedAt is
// now when zero, ExpiresAt is CreatedAt + retention (≤ 0:
// DefaultEventRetention); the by-status (GSI1) and by-type (GSI2) keys are
// set. ErrorMessage is capped at MaxEventErrorBytes and Metadata at
// MaxEventMetadataBytes of JSON (replaced by {"_truncated": true,
// "_original_bytes": n, "_preview": "<start of the JSON>"}). Every event is
// validated before anything is written. Writes are BatchWriteItem calls of
// up to 25 (ceil(n/25) calls), unprocessed items retried with backoff;
// puts are unconditional, so re-putting an event (same ID and CreatedAt)
// after a redelivery overwrites it.
func (s *Store) PutSyncEvents(ctx context.Context, events []SyncEvent, retention time.Duration) error {
	if len(events) == 0 {
		return nil
	}
	if retention <= 0 {
		retention = DefaultEventRetention
	}
	var (
		reqs []types.WriteRequest
		at   = map[Key]int{}
		now  = s.clock()
	)
	for _, ev := range events {
		if err := validateSyncEvent(ev); err != nil {
			return fmt.Errorf("put sync events: %w", err)
		}
		if ev.ID == "" {
			ev.ID = s.newID()
		}
		if ev.CreatedAt.IsZero() {
			ev.CreatedAt = now
		}
		ev.CreatedAt = ev.CreatedAt.UTC()
		ev.ExpiresAt = ev.CreatedAt.Add(retention)
		item, err := marshalSyncEvent(ev)
		if err != nil {
			return fmt.Errorf("put sync events: %w", err)
		}
		if err := checkSize(entitySyncEvent, item); err != nil {
			return fmt.Errorf("put sync events: %w", err)
		}
		req := types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
		// A batch must not name one key twice: the later event wins.
		key := SyncEventKey(ev.AccountID, ev.IntegrationID, ev.ID, ev.CreatedAt)
		if i, dup := at[key]; dup {
			reqs[i] = req
			continue
		}
		at[key] = len(reqs)
		reqs = append(reqs, req)
	}
	for start := 0; start < len(reqs); start += MaxEventBatch {
		end := min(start+MaxEventBatch, len(reqs))
		if err := s.eventBatchWrite(ctx, reqs[start:end]); err != nil {
			return fmt.Errorf("put sync events: %w", err)
		}
	}
	return nil
}

// eventBatchWrite writes up to 25 puts, retrying unprocessed items with
// exponential backoff and jitter.
func (s *Store) eventBatchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	pending := reqs
	for attempt := 0; ; attempt++ {
		out, err := s.ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: pending},
		})
		if err != nil {
			return fmt.Errorf("batch write sync events: %w", err)
		}
		pending = out.UnprocessedItems[s.table]
		if len(pending) == 0 {
			return nil
		}
		if attempt+1 >= eventBatchAttempts {
			return fmt.Errorf("batch write sync events: %d of %d items still unprocessed after %d attempts", len(pending), len(reqs), eventBatchAttempts)
		}
		backoff := min(time.Duration(25<<attempt)*time.Millisecond, time.Second)
		backoff += time.Duration(rand.Int64N(int64(backoff)/2 + 1))
		select {
		case <-ctx.Done():
			return fmt.Errorf("batch write sync events: %w", ctx.Err())
		case <-time.After(backoff):
		}
	}
}

// ListSyncEvents returns one page of the integration's events, newest
// first, merged across the ListShards partitions of the listing: the base
// table without a filter, GSI1 for a status, GSI2 for an event type, and
// GSI2 with a filter on Status for both (so that page may be short, even
// empty, and still carry a cursor). A page costs one Query per shard that
// still has items after the cursor: ListShards for the first page, never
// more. The cursor is signed, bound to this listing (account, integration,
// index, filter) and holds the position in every shard.
func (s *Store) ListSyncEvents(ctx context.Context, accountID, integrationID string, f EventFilter, p PageRequest) (Page[SyncEvent], error) {
	if accountID == "" || integrationID == "" {
		return Page[SyncEvent]{}, fmt.Errorf("list sync events: account and integration id are required: %w", ErrInvalid)
	}
	q := eventMerge{entity: "sync events", bases: SyncEventPartitions(accountID, integrationID)}
	switch {
	case f.EventType != "":
		q.index, q.pks = IndexGSI2, SyncEventTypePartitions(accountID, integrationID, f.EventType)
		if f.Status != "" {
			c := expression.Name("Status").Equal(expression.Value(f.Status))
			q.filter, q.filterScope = &c, "status="+f.Status
		}
	case f.Status != "":
		q.index, q.pks = IndexGSI1, SyncEventStatusPartitions(accountID, integrationID, f.Status)
	default:
		q.pks = q.bases
	}
	items, next, err := s.eventMergeQuery(ctx, q, p)
	if err != nil {
		return Page[SyncEvent]{}, fmt.Errorf("list sync events: %w", err)
	}
	page := Page[SyncEvent]{Items: make([]SyncEvent, 0, len(items)), NextCursor: next}
	for _, item := range items {
		ev, err := unmarshalSyncEvent(item)
		if err != nil {
			return Page[SyncEvent]{}, fmt.Errorf("list sync events: %w", err)
		}
		page.Items = append(page.Items, ev)
	}
	return page, nil
}

// CountFailedSyncEventsSince counts the integration's failed events created
// at or after since: one Select=COUNT Query per GSI1 shard of status
// "failed" (more when a shard's count crosses DynamoDB's 1 MB page).
func (s *Store) CountFailedSyncEventsSince(ctx context.Context, accountID, integrationID string, since time.Time) (int, error) {
	if accountID == "" || integrationID == "" {
		return 0, fmt.Errorf("count failed sync events: account and integration id are required: %w", ErrInvalid)
	}
	parts := SyncEventStatusPartitions(accountID, integrationID, EventFailed)
	counts := make([]int, len(parts))
	err := syncFanOut(ctx, len(parts), func(ctx context.Context, i int) error {
		expr, err := expression.NewBuilder().WithKeyCondition(
			expression.Key(AttrGSI1PK).Equal(expression.Value(parts[i])).
				And(expression.Key(AttrGSI1SK).GreaterThanEqual(expression.Value(SyncEventTimeBound(since)))),
		).Build()
		if err != nil {
			return fmt.Errorf("build failed events count: %w", err)
		}
		var start map[string]types.AttributeValue
		for {
			out, err := s.ddb.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(s.table),
				IndexName:                 aws.String(IndexGSI1),
				KeyConditionExpression:    keyCondition(expr.KeyCondition()),
				ExpressionAttributeNames:  expr.Names(),
				ExpressionAttributeValues: expr.Values(),
				Select:                    types.SelectCount,
				ExclusiveStartKey:         start,
			})
			if err != nil {
				return fmt.Errorf("count failed sync events shard %d: %w", i, err)
			}
			counts[i] += int(out.Count)
			if len(out.LastEvaluatedKey) == 0 {
				return nil
			}
			start = out.LastEvaluatedKey
		}
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	return total, nil
}

// ------------------------------------------------------------ merged listing

// eventMerge is an event listing merged across its shard partitions.
//
// Event keys make two facts available that a generic merge lacks: every
// event index's sort key equals the base table's SK ("<t>#<eventID>", see
// keys.go), and an event's base partition is one of bases. So a shard
// position is just that SK plus, on an index, the number of the event's
// base partition, and a position can be rebuilt from a LastEvaluatedKey
// that lacks the index keys (the embedded emulator returns only PK and SK
// for index queries).
type eventMerge struct {
	entity      string
	index       string   // "" = base table
	pks         []string // partitions queried, one per shard
	bases       []string // the base-table partitions of the events
	filter      *expression.ConditionBuilder
	filterScope string // describes filter, for the cursor scope
}

// eventShardPos is one shard's place in a merged cursor: done, after the
// event with sort key S (base partition number B on an index), or not
// started (zero).
type eventShardPos struct {
	Done bool   `json:"d,omitempty"`
	S    string `json:"s,omitempty"`
	B    int    `json:"b,omitempty"`
}

type eventCursorPayload struct {
	V      int             `json:"v"`
	Scope  string          `json:"e"`
	Shards []eventShardPos `json:"p"`
}

// eventMaxCursorLen bounds what we try to decode (8 positions of ~80 bytes).
const eventMaxCursorLen = 4096

func (q eventMerge) scope() string {
	parts := append([]string{"events-merged", q.entity, q.index, q.filterScope}, q.pks...)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (s *Store) encodeEventCursor(q eventMerge, pos []eventShardPos) (string, error) {
	payload, err := json.Marshal(eventCursorPayload{V: cursorVersion, Scope: q.scope(), Shards: pos})
	if err != nil {
		return "", fmt.Errorf("encode %s cursor: %w", q.entity, err)
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, s.mac(payload)...)), nil
}

func (s *Store) decodeEventCursor(c string, q eventMerge) ([]eventShardPos, error) {
	bad := func(why string) error { return fmt.Errorf("%s cursor: %s: %w", q.entity, why, ErrInvalidCursor) }
	if len(c) > eventMaxCursorLen {
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
	var p eventCursorPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, bad("malformed")
	}
	if p.V != cursorVersion {
		return nil, bad("unknown version")
	}
	if p.Scope != q.scope() {
		return nil, bad("belongs to another listing")
	}
	if len(p.Shards) != len(q.pks) {
		return nil, bad("wrong shard count")
	}
	open := false
	for _, sp := range p.Shards {
		switch {
		case sp.Done && (sp.S != "" || sp.B != 0):
			return nil, bad("wrong position shape")
		case sp.B < 0 || sp.B >= len(q.bases) || (q.index == "" && sp.B != 0):
			return nil, bad("wrong base partition")
		case len(sp.S) > 1024:
			return nil, bad("wrong position shape")
		}
		open = open || !sp.Done
	}
	if !open {
		return nil, bad("exhausted")
	}
	return p.Shards, nil
}

// startKey is the ExclusiveStartKey of shard i at pos.
func (q eventMerge) startKey(i int, pos eventShardPos) map[string]types.AttributeValue {
	if pos.S == "" {
		return nil
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	if q.index == "" {
		return map[string]types.AttributeValue{AttrPK: str(q.pks[i]), AttrSK: str(pos.S)}
	}
	attrs, _ := keyAttrs(q.index)
	return map[string]types.AttributeValue{
		attrs[0]: str(q.pks[i]), attrs[1]: str(pos.S),
		AttrPK: str(q.bases[pos.B]), AttrSK: str(pos.S),
	}
}

// position is the shard position after key (an item or a LastEvaluatedKey).
func (q eventMerge) position(key map[string]types.AttributeValue) (eventShardPos, error) {
	get := func(a string) string {
		if v, ok := key[a].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	sk := get(AttrSK)
	if sk == "" {
		return eventShardPos{}, fmt.Errorf("%s cursor: key without SK", q.entity)
	}
	if q.index == "" {
		return eventShardPos{S: sk}, nil
	}
	attrs, _ := keyAttrs(q.index)
	if isk := get(attrs[1]); isk != "" && isk != sk {
		return eventShardPos{}, fmt.Errorf("%s cursor: index sort key differs from SK", q.entity)
	}
	pk := get(AttrPK)
	for b, base := range q.bases {
		if base == pk {
			return eventShardPos{S: sk, B: b}, nil
		}
	}
	return eventShardPos{}, fmt.Errorf("%s cursor: event outside the integration's partitions", q.entity)
}

// eventShardResult is what one shard's Query returned.
type eventShardResult struct {
	queried bool
	items   []map[string]types.AttributeValue
	lek     map[string]types.AttributeValue // nil: the shard has nothing more
}

// eventMergeQuery returns one page of q, newest first, and the next cursor
// ("" when every shard is exhausted). Each shard not yet exhausted gets
// exactly one Query (Limit = page size + 1, descending, from its position);
// the page is the newest items that are certainly in order: an item is
// emitted only if it is not older than the last evaluated key of every
// shard that has more, so nothing is skipped, repeated or misordered.
// Without a filter every page but the last is full and the last carries no
// cursor; with a filter a page may be short (even empty) with a cursor.
func (s *Store) eventMergeQuery(ctx context.Context, q eventMerge, p PageRequest) ([]map[string]types.AttributeValue, string, error) {
	attrs, err := keyAttrs(q.index)
	if err != nil {
		return nil, "", err
	}
	if len(q.pks) == 0 || len(q.pks) != len(q.bases) {
		return nil, "", fmt.Errorf("%s listing: %d partitions, %d base partitions", q.entity, len(q.pks), len(q.bases))
	}
	limit := p.limit()
	pos := make([]eventShardPos, len(q.pks))
	if p.Cursor != "" {
		if pos, err = s.decodeEventCursor(p.Cursor, q); err != nil {
			return nil, "", err
		}
	}
	res := make([]eventShardResult, len(q.pks))
	err = syncFanOut(ctx, len(q.pks), func(ctx context.Context, i int) error {
		if pos[i].Done {
			return nil
		}
		b := expression.NewBuilder().WithKeyCondition(expression.Key(attrs[0]).Equal(expression.Value(q.pks[i])))
		if q.filter != nil {
			b = b.WithFilter(*q.filter)
		}
		expr, err := b.Build()
		if err != nil {
			return fmt.Errorf("build %s query: %w", q.entity, err)
		}
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    keyCondition(syncExprString(expr.KeyCondition())),
			FilterExpression:          syncExprString(expr.Filter()),
			ExpressionAttributeNames:  syncExprNames(expr.Names()),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         q.startKey(i, pos[i]),
			Limit:                     aws.Int32(int32(limit + 1)),
			ScanIndexForward:          aws.Bool(false),
		}
		if q.index != "" {
			in.IndexName = aws.String(q.index)
		}
		out, err := s.ddb.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s shard %d: %w", q.entity, i, err)
		}
		res[i] = eventShardResult{queried: true, items: out.Items, lek: out.LastEvaluatedKey}
		if len(res[i].lek) == 0 {
			res[i].lek = nil
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}

	sortKey := func(item map[string]types.AttributeValue) string {
		if v, ok := item[attrs[1]].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		if v, ok := item[AttrSK].(*types.AttributeValueMemberS); ok {
			return v.Value // index SK equals SK for events
		}
		return ""
	}
	// floor: the oldest sort key every shard with more has evaluated down
	// to; older items may still hide behind it in those shards.
	floor := ""
	for _, r := range res {
		if r.lek != nil {
			if k := sortKey(r.lek); k > floor {
				floor = k
			}
		}
	}
	type cand struct {
		item  map[string]types.AttributeValue
		sk    string
		shard int
	}
	var cands []cand
	for i, r := range res {
		for _, item := range r.items {
			if sk := sortKey(item); sk >= floor {
				cands = append(cands, cand{item: item, sk: sk, shard: i})
			}
		}
	}
	sort.Slice(cands, func(a, b int) bool { return cands[a].sk > cands[b].sk })
	if len(cands) > limit {
		cands = cands[:limit]
	}
	emitted := make([]int, len(q.pks))
	last := make([]map[string]types.AttributeValue, len(q.pks))
	items := make([]map[string]types.AttributeValue, len(cands))
	for j, c := range cands {
		items[j] = c.item
		emitted[c.shard]++
		last[c.shard] = c.item
	}
	more := false
	for i, r := range res {
		if !r.queried {
			continue // done before this page
		}
		switch {
		case emitted[i] == len(r.items) && r.lek == nil:
			pos[i] = eventShardPos{Done: true}
		case emitted[i] == len(r.items):
			if pos[i], err = q.position(r.lek); err != nil {
				return nil, "", err
			}
		case emitted[i] > 0:
			if pos[i], err = q.position(last[i]); err != nil {
				return nil, "", err
			}
		}
		more = more || !pos[i].Done
	}
	if !more {
		return items, "", nil
	}
	next, err := s.encodeEventCursor(q, pos)
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}
