package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// newEventEnv is newEnv with the clock near the real time: the table's TTL
// sweeper would delete events whose ExpiresAt has passed.
func newEventEnv(t *testing.T, opts ...Option) (*env, time.Time) {
	t.Helper()
	e := newEnv(t, opts...)
	now := time.Now().UTC().Truncate(time.Second)
	e.clock.mu.Lock()
	e.clock.t = now
	e.clock.mu.Unlock()
	return e, now
}

var (
	eventStatuses = []string{EventSuccess, EventFailed, EventPending}
	eventTypes    = []string{"content_push", "content_pull", "webhook", "conflict"}
)

// seedEvents puts n events for (account, integration) created base+i
// seconds, status eventStatuses[i%3], type eventTypes[i%4], ContentID
// "<prefix>NN", and returns them in insertion order.
func (e *env) seedEvents(account, integrationID, prefix string, n int, base time.Time) []SyncEvent {
	e.t.Helper()
	evs := make([]SyncEvent, n)
	for i := range evs {
		evs[i] = SyncEvent{
			AccountID: account, IntegrationID: integrationID,
			EventType: eventTypes[i%4], Status: eventStatuses[i%3],
			Direction: "wp_to_igny8", ContentType: "post", ContentID: fmt.Sprintf("%s%02d", prefix, i), ExternalID: int64(1000 + i),
			CreatedAt: base.Add(time.Duration(i) * time.Second),
		}
	}
	if err := e.s.PutSyncEvents(context.Background(), evs, 24*time.Hour); err != nil {
		e.t.Fatalf("put events: %v", err)
	}
	return evs
}

// newestFirst returns the ContentIDs of evs that pass keep, newest first.
func newestFirst(evs []SyncEvent, keep func(SyncEvent) bool) []string {
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		if keep(evs[i]) {
			out = append(out, evs[i].ContentID)
		}
	}
	return out
}

// openShards counts the shards a merged cursor still has to read.
func openShards(t *testing.T, cursor string) int {
	t.Helper()
	if cursor == "" {
		return ListShards
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		t.Fatal(err)
	}
	var p eventCursorPayload
	if err := json.Unmarshal(raw[:len(raw)-cursorMACLen], &p); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sp := range p.Shards {
		if !sp.Done {
			n++
		}
	}
	return n
}

// listAll pages through a listing, checking each page's calls, and returns
// the ContentIDs in order and the page sizes.
func (e *env) listAll(account, integrationID string, f EventFilter, limit int) ([]string, []int) {
	e.t.Helper()
	var ids []string
	var sizes []int
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			e.t.Fatalf("listing %+v does not end", f)
		}
		want := openShards(e.t, cursor)
		e.calls.Reset()
		p, err := e.s.ListSyncEvents(context.Background(), account, integrationID, f, PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			e.t.Fatalf("list %+v page %d: %v", f, page, err)
		}
		if q := e.calls.Count("Query"); q != want || e.calls.Total() != q || q > ListShards {
			e.t.Fatalf("list %+v page %d: calls %v, want %d Queries (one per open shard)", f, page, e.calls.Snapshot(), want)
		}
		if len(p.Items) > limit {
			e.t.Fatalf("page of %d items, limit %d", len(p.Items), limit)
		}
		for _, ev := range p.Items {
			if seen[ev.ID] {
				e.t.Fatalf("list %+v: event %s (%s) repeated", f, ev.ID, ev.ContentID)
			}
			seen[ev.ID] = true
			if ev.AccountID != account || ev.IntegrationID != integrationID {
				e.t.Fatalf("list %s/%s returned %s/%s's event", account, integrationID, ev.AccountID, ev.IntegrationID)
			}
			ids = append(ids, ev.ContentID)
		}
		sizes = append(sizes, len(p.Items))
		if p.NextCursor == "" {
			return ids, sizes
		}
		cursor = p.NextCursor
	}
}

func TestSyncEventsListing(t *testing.T) {
	t.Parallel()
	e, now := newEventEnv(t)
	base := now.Add(-time.Hour)
	evs := e.seedEvents("acct-A", "int-1", "a", 60, base)
	e.seedEvents("acct-A", "int-2", "x", 10, base)  // another integration
	e.seedEvents("acct-B", "int-1", "b", 12, base)  // another account, same integration ID
	e.seedEvents("acct-A", "int-10", "y", 5, base)  // an integration ID that extends int-1
	e.seedEvents("acct-A#I", "int-1", "z", 5, base) // an account ID with a separator

	all := func(SyncEvent) bool { return true }
	ids, sizes := e.listAll("acct-A", "int-1", EventFilter{}, 25)
	if want := newestFirst(evs, all); !reflect.DeepEqual(ids, want) {
		t.Fatalf("all events:\n%v\nwant\n%v", ids, want)
	}
	if !reflect.DeepEqual(sizes, []int{25, 25, 10}) {
		t.Fatalf("page sizes %v, want [25 25 10]", sizes)
	}

	cases := []struct {
		f     EventFilter
		limit int
		keep  func(SyncEvent) bool
	}{
		{EventFilter{Status: EventFailed}, 7, func(ev SyncEvent) bool { return ev.Status == EventFailed }},
		{EventFilter{Status: EventSuccess}, 100, func(ev SyncEvent) bool { return ev.Status == EventSuccess }},
		{EventFilter{EventType: "webhook"}, 4, func(ev SyncEvent) bool { return ev.EventType == "webhook" }},
		{EventFilter{Status: EventFailed, EventType: "content_pull"}, 2, func(ev SyncEvent) bool {
			return ev.Status == EventFailed && ev.EventType == "content_pull"
		}},
		{EventFilter{Status: EventPending, EventType: "conflict"}, 1, func(ev SyncEvent) bool {
			return ev.Status == EventPending && ev.EventType == "conflict"
		}},
		{EventFilter{Status: "no-such-status"}, 10, func(SyncEvent) bool { return false }},
		{EventFilter{}, 1, all},
	}
	for _, c := range cases {
		got, _ := e.listAll("acct-A", "int-1", c.f, c.limit)
		if want := newestFirst(evs, c.keep); !reflect.DeepEqual(got, want) {
			t.Errorf("filter %+v limit %d:\n%v\nwant\n%v", c.f, c.limit, got, want)
		}
	}

	// Other tenants see only their own events.
	if got, _ := e.listAll("acct-B", "int-1", EventFilter{}, 50); len(got) != 12 || !strings.HasPrefix(got[0], "b") {
		t.Errorf("acct-B's listing: %v", got)
	}
	if got, _ := e.listAll("acct-A#I", "int-1", EventFilter{}, 50); len(got) != 5 || !strings.HasPrefix(got[0], "z") {
		t.Errorf("acct-A#I's listing: %v", got)
	}
	if got, _ := e.listAll("acct-A", "int-10", EventFilter{Status: EventSuccess}, 50); len(got) != 2 {
		t.Errorf("int-10's listing: %v", got)
	}
}

func TestSyncEventsRead(t *testing.T) {
	t.Parallel()
	e, now := newEventEnv(t)
	meta := map[string]any{"page": float64(3), "title": "Hello <world> & co", "tags": []any{"a", "b"}, "nested": map[string]any{"ok": true}}
	ev := SyncEvent{
		AccountID: "acct-1", IntegrationID: "int-1", EventType: "content_push", Direction: "igny8_to_wp",
		ContentType: "post", ContentID: "c-1", ExternalID: 42, Status: EventFailed,
		ErrorMessage: "rest_cannot_create", Metadata: meta, RunID: "run-1",
	}
	if err := e.s.PutSyncEvents(context.Background(), []SyncEvent{ev}, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
	page, err := e.s.ListSyncEvents(context.Background(), "acct-1", "int-1", EventFilter{}, PageRequest{})
	if err != nil || len(page.Items) != 1 || page.NextCursor != "" {
		t.Fatalf("list: %+v %v", page, err)
	}
	got := page.Items[0]
	if id, err := uuid.Parse(got.ID); err != nil || id.Version() != 7 {
		t.Fatalf("generated ID %q: %v", got.ID, err)
	}
	if got.CreatedAt.Before(now) || got.CreatedAt.After(now.Add(time.Second)) {
		t.Fatalf("CreatedAt %v, want the store's clock (%v)", got.CreatedAt, now)
	}
	if want := got.CreatedAt.Add(72 * time.Hour).Truncate(time.Second); !got.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt %v, want CreatedAt + 72h = %v", got.ExpiresAt, want)
	}
	want := ev
	want.ID, want.CreatedAt, want.ExpiresAt = got.ID, got.CreatedAt, got.ExpiresAt
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got, want)
	}
	raw := e.rawItem(SyncEventKey("acct-1", "int-1", got.ID, got.CreatedAt))
	ttl, ok := raw[AttrTTL].(*types.AttributeValueMemberN)
	if !ok || ttl.Value != fmt.Sprint(want.ExpiresAt.Unix()) {
		t.Fatalf("TTL attribute %s = %#v", AttrTTL, raw[AttrTTL])
	}
	for _, a := range []string{AttrGSI1PK, AttrGSI1SK, AttrGSI2PK, AttrGSI2SK} {
		if _, ok := raw[a]; !ok {
			t.Fatalf("index attribute %s missing", a)
		}
	}
}

func TestSyncEventsLimits(t *testing.T) {
	t.Parallel()
	e, _ := newEventEnv(t)
	ctx := context.Background()
	big := map[string]any{}
	for i := range 400 {
		big[fmt.Sprintf("k%03d", i)] = strings.Repeat("<&>", 5) // escapes grow when re-encoded
	}
	long := strings.Repeat("é", 3000) // 6,000 bytes
	evs := []SyncEvent{
		{AccountID: "a", IntegrationID: "i", EventType: "content_pull", Status: EventFailed, ContentID: "big", Metadata: big, ErrorMessage: long},
		{AccountID: "a", IntegrationID: "i", EventType: "content_pull", Status: EventFailed, ContentID: "small", Metadata: map[string]any{"n": float64(1)}},
	}
	if err := e.s.PutSyncEvents(ctx, evs, 0); err != nil {
		t.Fatalf("oversized metadata must not be an error: %v", err)
	}
	page, err := e.s.ListSyncEvents(ctx, "a", "i", EventFilter{}, PageRequest{})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("list: %+v %v", page, err)
	}
	byID := map[string]SyncEvent{}
	for _, ev := range page.Items {
		byID[ev.ContentID] = ev
	}
	m := byID["big"].Metadata
	if m[EventMetaTruncated] != true || m[EventMetaOriginalBytes].(float64) <= MaxEventMetadataBytes {
		t.Fatalf("truncation marker: %v", keysOf(m))
	}
	if p, _ := m[EventMetaPreview].(string); !strings.HasPrefix(p, `{"k000":"`) {
		t.Fatalf("preview %.40q", p)
	}
	stored := e.rawItem(SyncEventKey("a", "i", byID["big"].ID, byID["big"].CreatedAt))
	if js := stored["MetadataJSON"].(*types.AttributeValueMemberS).Value; len(js) > MaxEventMetadataBytes {
		t.Fatalf("stored metadata is %d bytes, cap %d", len(js), MaxEventMetadataBytes)
	}
	if msg := byID["big"].ErrorMessage; len(msg) > MaxEventErrorBytes || !strings.HasSuffix(msg, "[truncated]") || !strings.HasPrefix(msg, "éé") {
		t.Fatalf("error message: %d bytes, ends %q", len(msg), msg[len(msg)-20:])
	}
	if !reflect.DeepEqual(byID["small"].Metadata, map[string]any{"n": float64(1)}) {
		t.Fatalf("small metadata: %v", byID["small"].Metadata)
	}
	if ev := byID["small"]; !ev.ExpiresAt.Equal(ev.CreatedAt.Add(DefaultEventRetention).Truncate(time.Second)) {
		t.Fatalf("default retention: created %v expires %v", ev.CreatedAt, ev.ExpiresAt)
	}

	// Invalid events are refused before anything is written.
	for _, bad := range []SyncEvent{
		{IntegrationID: "i", EventType: "t", Status: EventFailed},
		{AccountID: "a", EventType: "t", Status: EventFailed},
		{AccountID: "a", IntegrationID: "i", Status: EventFailed},
		{AccountID: "a", IntegrationID: "i", EventType: "t"},
		{AccountID: "a", IntegrationID: "i", EventType: "t", Status: EventFailed, Metadata: map[string]any{"f": func() {}}},
	} {
		e.calls.Reset()
		err := e.s.PutSyncEvents(ctx, []SyncEvent{{AccountID: "a", IntegrationID: "i", EventType: "t", Status: EventSuccess}, bad}, time.Hour)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("put %+v: err = %v, want ErrInvalid", bad, err)
		}
		if n := e.calls.Total(); n != 0 {
			t.Errorf("put %+v: %d calls made", bad, n)
		}
	}
}

func TestSyncEventsCursorRejected(t *testing.T) {
	t.Parallel()
	e, now := newEventEnv(t)
	ctx := context.Background()
	for _, it := range []struct{ acct, integ string }{{"acct-A", "int-1"}, {"acct-A", "int-2"}, {"acct-B", "int-1"}} {
		e.seedEvents(it.acct, it.integ, "e", 30, now.Add(-time.Minute))
	}
	first := func(f EventFilter) string {
		p, err := e.s.ListSyncEvents(ctx, "acct-A", "int-1", f, PageRequest{Limit: 5})
		if err != nil || p.NextCursor == "" {
			t.Fatalf("first page %+v: %+v %v", f, p, err)
		}
		return p.NextCursor
	}
	good := first(EventFilter{})
	failed := first(EventFilter{Status: EventFailed})
	typed := first(EventFilter{EventType: "content_push"})
	runs := func() string { // a single-listing cursor of the same integration
		c, err := e.s.encodeCursor(listQuery{entity: "sync runs", pk: SyncStateKey("acct-A", "int-1").PK, skPrefix: SyncRunListPrefix()},
			[]string{AttrPK, AttrSK}, keyAV(SyncRunKey("acct-A", "int-1", "r")))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}()
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := append([]byte(nil), raw...)
	flip[len(flip)/2] ^= 0x01
	other := New(e.ddb, e.table, WithCursorKey([]byte("another key")))

	cases := []struct {
		name          string
		st            *Store
		account, intg string
		f             EventFilter
		cursor        string
	}{
		{"other integration", e.s, "acct-A", "int-2", EventFilter{}, good},
		{"other account", e.s, "acct-B", "int-1", EventFilter{}, good},
		{"other filter", e.s, "acct-A", "int-1", EventFilter{Status: EventFailed}, good},
		{"other status", e.s, "acct-A", "int-1", EventFilter{Status: EventSuccess}, failed},
		{"status cursor on type listing", e.s, "acct-A", "int-1", EventFilter{EventType: "content_push"}, failed},
		{"type cursor with a status added", e.s, "acct-A", "int-1", EventFilter{EventType: "content_push", Status: EventFailed}, typed},
		{"single-listing cursor", e.s, "acct-A", "int-1", EventFilter{}, runs},
		{"bit flipped", e.s, "acct-A", "int-1", EventFilter{}, base64.RawURLEncoding.EncodeToString(flip)},
		{"truncated", e.s, "acct-A", "int-1", EventFilter{}, good[:len(good)-3]},
		{"not base64", e.s, "acct-A", "int-1", EventFilter{}, "%%%"},
		{"other signing key", other, "acct-A", "int-1", EventFilter{}, good},
		{"huge", e.s, "acct-A", "int-1", EventFilter{}, strings.Repeat("A", 10000)},
	}
	for _, c := range cases {
		e.calls.Reset()
		_, err := c.st.ListSyncEvents(ctx, c.account, c.intg, c.f, PageRequest{Limit: 5, Cursor: c.cursor})
		if !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: err = %v, want ErrInvalidCursor", c.name, err)
		}
		if n := e.calls.Total(); n != 0 {
			t.Errorf("%s: %d calls made with a rejected cursor", c.name, n)
		}
	}
	// Signed but reshaped payloads are refused too.
	for name, pos := range map[string][]eventShardPos{
		"base partition out of range":   append(make([]eventShardPos, ListShards-1), eventShardPos{S: "x", B: ListShards}),
		"base number on the base table": append(make([]eventShardPos, ListShards-1), eventShardPos{S: "x", B: 1}),
		"too few shards":                make([]eventShardPos, ListShards-1),
		"every shard done": func() []eventShardPos {
			p := make([]eventShardPos, ListShards)
			for i := range p {
				p[i].Done = true
			}
			return p
		}(),
	} {
		q := eventMerge{entity: "sync events", pks: SyncEventPartitions("acct-A", "int-1"), bases: SyncEventPartitions("acct-A", "int-1")}
		c, err := e.s.encodeEventCursor(q, pos)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ListSyncEvents(ctx, "acct-A", "int-1", EventFilter{}, PageRequest{Cursor: c}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// The genuine cursors still work for their own listings.
	if _, err := e.s.ListSyncEvents(ctx, "acct-A", "int-1", EventFilter{}, PageRequest{Limit: 5, Cursor: good}); err != nil {
		t.Errorf("genuine cursor: %v", err)
	}
	if _, err := e.s.ListSyncEvents(ctx, "acct-A", "int-1", EventFilter{Status: EventFailed}, PageRequest{Limit: 5, Cursor: failed}); err != nil {
		t.Errorf("genuine status cursor: %v", err)
	}
}

func TestCountFailedSyncEventsSince(t *testing.T) {
	t.Parallel()
	e, now := newEventEnv(t)
	ctx := context.Background()
	base := now.Add(-time.Hour)
	e.seedEvents("acct-A", "int-1", "a", 60, base) // failed: i%3 == 1
	e.seedEvents("acct-A", "int-2", "x", 30, base)
	e.seedEvents("acct-B", "int-1", "b", 30, base)
	cases := []struct {
		since time.Time
		want  int
	}{
		{base.Add(-time.Hour), 20},
		{base, 20},
		{base.Add(30 * time.Second), 10}, // i = 31, 34, … 58
		{base.Add(31 * time.Second), 10}, // inclusive
		{base.Add(32 * time.Second), 9},
		{base.Add(time.Hour), 0},
	}
	for _, c := range cases {
		e.calls.Reset()
		n, err := e.s.CountFailedSyncEventsSince(ctx, "acct-A", "int-1", c.since)
		if err != nil || n != c.want {
			t.Errorf("since %v: %d (%v), want %d", c.since.Sub(base), n, err, c.want)
		}
		if q := e.calls.Count("Query"); q != ListShards || e.calls.Total() != q {
			t.Errorf("count calls %v, want %d Queries", e.calls.Snapshot(), ListShards)
		}
	}
	if n, err := e.s.CountFailedSyncEventsSince(ctx, "acct-C", "int-1", base); err != nil || n != 0 {
		t.Errorf("another account: %d %v", n, err)
	}
}

// flakyBatch returns some items of a BatchWriteItem as unprocessed.
type flakyBatch struct {
	*dynamodb.Client
	calls       atomic.Int32
	unprocessed func(call int32, n int) int // how many of n items to leave
}

func (f *flakyBatch) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	call := f.calls.Add(1)
	for table, reqs := range in.RequestItems {
		left := f.unprocessed(call, len(reqs))
		out := &dynamodb.BatchWriteItemOutput{}
		if left < len(reqs) {
			// DynamoDB refuses an empty batch, so only send what is written.
			var err error
			out, err = f.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[left:]}}, opts...)
			if err != nil {
				return nil, err
			}
		}
		if left > 0 {
			out.UnprocessedItems = map[string][]types.WriteRequest{table: reqs[:left]}
		}
		return out, nil
	}
	return f.Client.BatchWriteItem(ctx, in, opts...)
}

func TestPutSyncEventsBatches(t *testing.T) {
	t.Parallel()
	e, now := newEventEnv(t)
	ctx := context.Background()
	mk := func(n int, prefix string) []SyncEvent {
		out := make([]SyncEvent, n)
		for i := range out {
			out[i] = SyncEvent{AccountID: "a", IntegrationID: prefix, EventType: "content_pull", Status: EventFailed,
				ContentID: fmt.Sprint(i), CreatedAt: now.Add(time.Duration(i) * time.Millisecond)}
		}
		return out
	}
	count := func(integ string) int {
		n, err := e.s.CountFailedSyncEventsSince(ctx, "a", integ, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// 60 events: three BatchWriteItem calls of at most 25.
	e.calls.Reset()
	if err := e.s.PutSyncEvents(ctx, mk(60, "plain"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchWriteItem": 3}) {
		t.Fatalf("put 60 calls %v", got)
	}
	if n := count("plain"); n != 60 {
		t.Fatalf("stored %d of 60", n)
	}

	// Unprocessed items are retried until written.
	flaky := &flakyBatch{Client: e.ddb, unprocessed: func(call int32, n int) int {
		if call <= 2 {
			return n / 2
		}
		return 0
	}}
	fs := New(flaky, e.table, WithClock(e.clock.Now))
	if err := fs.PutSyncEvents(ctx, mk(30, "flaky"), time.Hour); err != nil {
		t.Fatalf("put with unprocessed items: %v", err)
	}
	if n := count("flaky"); n != 30 {
		t.Fatalf("stored %d of 30 after retries", n)
	}
	if c := flaky.calls.Load(); c < 4 {
		t.Fatalf("%d BatchWriteItem calls; unprocessed items were not retried", c)
	}

	// Items that stay unprocessed end in an error (here: the deadline).
	stuck := &flakyBatch{Client: e.ddb, unprocessed: func(_ int32, n int) int { return n }}
	dl, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if err := New(stuck, e.table).PutSyncEvents(dl, mk(3, "stuck"), time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stuck batch: %v", err)
	}

	// One key twice in a call: one item, the later event wins.
	dup := SyncEvent{AccountID: "a", IntegrationID: "dup", ID: "ev-1", EventType: "webhook", Status: EventPending, CreatedAt: now}
	dup2 := dup
	dup2.ErrorMessage = "second"
	if err := e.s.PutSyncEvents(ctx, []SyncEvent{dup, dup2}, time.Hour); err != nil {
		t.Fatal(err)
	}
	page, err := e.s.ListSyncEvents(ctx, "a", "dup", EventFilter{}, PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ErrorMessage != "second" || page.Items[0].ID != "ev-1" {
		t.Fatalf("duplicate key: %+v %v", page, err)
	}
	// Re-putting it (a redelivered job) overwrites, never duplicates.
	if err := e.s.PutSyncEvents(ctx, []SyncEvent{dup}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if page, _ := e.s.ListSyncEvents(ctx, "a", "dup", EventFilter{}, PageRequest{}); len(page.Items) != 1 || page.Items[0].ErrorMessage != "" {
		t.Fatalf("re-put: %+v", page)
	}
}

// idsInShard returns n event IDs that land in listing shard sh.
func idsInShard(prefix string, sh, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if id := fmt.Sprintf("%s-%d", prefix, i); shardOf(id, ListShards) == sh {
			out = append(out, id)
		}
	}
	return out
}

// TestSyncEventsFilteredOrder: with a filter, a shard can use up its Query
// Limit on non-matching events and stop above a match that is newer than
// another shard's match; the merge must not emit the older match first.
func TestSyncEventsFilteredOrder(t *testing.T) {
	t.Parallel()
	e, now := newEventEnv(t)
	ctx := context.Background()
	ev := func(id, status string, age int) SyncEvent {
		return SyncEvent{AccountID: "a", IntegrationID: "i", ID: id, EventType: "content_pull", Status: status,
			ContentID: fmt.Sprintf("age-%02d", age), CreatedAt: now.Add(-time.Duration(age) * time.Second)}
	}
	s0, s1 := idsInShard("s0", 0, 8), idsInShard("s1", 1, 2)
	var evs []SyncEvent
	for j := range 6 { // shard 0: six newer non-matching events, then a match
		evs = append(evs, ev(s0[j], EventSuccess, 10+j))
	}
	evs = append(evs, ev(s0[6], EventFailed, 20), ev(s1[0], EventFailed, 30), ev(s0[7], EventFailed, 40), ev(s1[1], EventSuccess, 5))
	if err := e.s.PutSyncEvents(ctx, evs, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 3, 50} {
		got, sizes := e.listAll("a", "i", EventFilter{Status: EventFailed, EventType: "content_pull"}, limit)
		if want := []string{"age-20", "age-30", "age-40"}; !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: %v (pages %v), want %v", limit, got, sizes, want)
		}
	}
	got, _ := e.listAll("a", "i", EventFilter{}, 4)
	if want := []string{"age-05", "age-10", "age-11", "age-12", "age-13", "age-14", "age-15", "age-20", "age-30", "age-40"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unfiltered: %v, want %v", got, want)
	}
}
