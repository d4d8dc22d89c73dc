package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/igny8/integrations/shared/testutil"
)

func contentFixture(account, site string, n int) Content {
	return Content{
		AccountID: account, SiteID: site, IntegrationID: "int-1",
		ContentType: "post", Status: ContentDraft,
		Title: fmt.Sprintf("Post %d", n), Slug: fmt.Sprintf("post-%d", n), Excerpt: "An excerpt.",
	}
}

// contentHTML returns about size bytes of varied, compressible HTML.
func contentHTML(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "<p>Paragraph %d: the quick brown fox jumps over the lazy dog, number %d of many.</p>\n", i, i*7919%1000)
	}
	return b.String()
}

func (e *env) mustCreateContent(c Content) Content {
	e.t.Helper()
	out, err := e.s.CreateContent(context.Background(), c)
	if err != nil {
		e.t.Fatalf("create content %+v: %v", c.Title, err)
	}
	return out
}

func TestContentCRUD(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()

	approved := time.Date(2025, 6, 1, 8, 0, 0, 123456789, time.FixedZone("X", 3600))
	in := contentFixture("acct-1", "site-1", 1)
	in.Body = contentHTML(200 * 1024)
	in.WordPressID, in.WordPressLink, in.WordPressStatus = 42, "https://example.com/?p=42", "publish"
	in.WPModifiedGMT = time.Date(2025, 5, 30, 10, 11, 12, 0, time.UTC)
	in.Terms = []TermRef{{Taxonomy: "category", ID: "t1"}, {Taxonomy: "post_tag", ID: "t2"}, {Taxonomy: "genre", ID: "t3"}}
	in.FeaturedImageID, in.SyncedHash, in.SyncedVersion, in.PushIntent = "img-1", "abc123", 1, "push-1"
	in.ApprovedAt = &approved
	in.Status = ""

	e.calls.Reset()
	created, err := e.s.CreateContent(ctx, in)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"TransactWriteItems": 1}) {
		t.Errorf("create calls %v, want one TransactWriteItems", got)
	}
	if created.Version != 1 || created.ID == "" || created.Status != ContentDraft || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("create: %+v", created)
	}

	// The body is stored compressed, binary, well under the limit.
	raw := e.rawItem(ContentBodyKey("acct-1", created.ID))
	if _, ok := raw["BodyGz"].(*types.AttributeValueMemberB); !ok {
		t.Fatalf("body not stored as compressed binary; attributes %v", keysOf(raw))
	}
	if _, ok := raw["Body"]; ok {
		t.Fatal("body stored twice")
	}
	if n := ItemSize(raw); n > MaxItemSize || n > len(in.Body)/4 {
		t.Fatalf("body item is %d bytes for a %d byte body", n, len(in.Body))
	}
	// Metadata stays small and carries no body.
	meta := e.rawItem(ContentKey("acct-1", created.ID))
	if _, ok := meta["Body"]; ok || ItemSize(meta) > 2048 {
		t.Fatalf("metadata item is %d bytes with attributes %v", ItemSize(meta), keysOf(meta))
	}

	e.calls.Reset()
	got, err := e.s.GetContent(ctx, "acct-1", created.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if c := e.calls.Snapshot(); !reflect.DeepEqual(c, map[string]int{"Query": 1}) {
		t.Errorf("get calls %v, want one Query", c)
	}
	if !reflect.DeepEqual(got, created) {
		t.Fatalf("get returned\n%+v\nwant\n%+v", got, created)
	}
	if got.Body != in.Body || !got.ApprovedAt.Equal(approved) {
		t.Fatal("body or approved_at did not round-trip")
	}

	// Update with a new, small body: stored uncompressed.
	upd := got
	upd.Title, upd.Status, upd.Body = "New title", ContentReview, "<p>short</p>"
	upd.Terms = nil
	updated, err := e.s.UpdateContent(ctx, upd, true)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Version != 2 || !updated.CreatedAt.Equal(created.CreatedAt) || !updated.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("update: %+v", updated)
	}
	if raw := e.rawItem(ContentBodyKey("acct-1", created.ID)); raw["Body"] == nil || raw["BodyGz"] != nil {
		t.Fatalf("small body not stored as plain text: %v", keysOf(raw))
	}
	got, err = e.s.GetContent(ctx, "acct-1", created.ID)
	if err != nil || !reflect.DeepEqual(got, updated) {
		t.Fatalf("after update got\n%+v (%v)\nwant\n%+v", got, err, updated)
	}

	// Clearing the body deletes the body item.
	upd = got
	upd.Body = ""
	if updated, err = e.s.UpdateContent(ctx, upd, true); err != nil {
		t.Fatalf("clear body: %v", err)
	}
	if raw := e.rawItem(ContentBodyKey("acct-1", created.ID)); raw != nil {
		t.Fatal("empty body left a body item")
	}
	if got, _ = e.s.GetContent(ctx, "acct-1", created.ID); got.Body != "" || got.Version != 3 {
		t.Fatalf("after clearing: %+v", got)
	}

	if err := e.s.DeleteContent(ctx, "acct-1", created.ID, updated.Version); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.s.GetContent(ctx, "acct-1", created.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	for _, k := range []Key{ContentKey("acct-1", created.ID), ContentBodyKey("acct-1", created.ID), ContentWordPressKey("acct-1", "int-1", 42)} {
		if item := e.rawItem(k); item != nil {
			t.Fatalf("%+v left behind", k)
		}
	}
	if _, err := e.s.CreateContent(ctx, in); err != nil {
		t.Fatalf("wordpress id not freed by delete: %v", err)
	}
}

func TestContentItemTooLarge(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	noise := make([]byte, 1536*1024)
	_, _ = rand.Read(noise)
	big := base64.StdEncoding.EncodeToString(noise) // 2 MB that gzip can't shrink below 400 KB

	in := contentFixture("acct-1", "site-1", 1)
	in.Body = big
	e.calls.Reset()
	_, err := e.s.CreateContent(ctx, in)
	var tl *ItemTooLargeError
	if !errors.Is(err, ErrItemTooLarge) || !errors.As(err, &tl) || tl.Size <= MaxItemSize || tl.Entity != entityContentBody {
		t.Fatalf("oversized create: err = %v", err)
	}
	if n := e.calls.Total(); n != 0 {
		t.Fatalf("oversized create made %d calls", n)
	}

	in.Body = "<p>fine</p>"
	c := e.mustCreateContent(in)
	c.Body = big
	if _, err := e.s.UpdateContent(ctx, c, true); !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("oversized update: %v", err)
	}
	if got, _ := e.s.GetContent(ctx, "acct-1", c.ID); got.Version != 1 || got.Body != "<p>fine</p>" {
		t.Fatalf("refused update changed the content: version %d", got.Version)
	}
}

func TestContentValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name string
		mut  func(*Content)
		ok   bool
	}{
		{"no account", func(c *Content) { c.AccountID = "" }, false},
		{"no site", func(c *Content) { c.SiteID = "" }, false},
		{"no type", func(c *Content) { c.ContentType = "" }, false},
		{"unknown status", func(c *Content) { c.Status = "publishing" }, false},
		{"title 1001 chars", func(c *Content) { c.Title = strings.Repeat("é", 1001) }, false},
		{"title 1000 chars", func(c *Content) { c.Title = strings.Repeat("é", 1000) }, true},
		{"slug 201 chars", func(c *Content) { c.Slug = strings.Repeat("s", 201) }, false},
		{"excerpt over 10 KB", func(c *Content) { c.Excerpt = strings.Repeat("x", 10*1024+1) }, false},
		{"excerpt 10 KB", func(c *Content) { c.Excerpt = strings.Repeat("x", 10*1024) }, true},
		{"wordpress id without integration", func(c *Content) { c.IntegrationID, c.WordPressID = "", 5 }, false},
		{"negative wordpress id", func(c *Content) { c.WordPressID = -1 }, false},
		{"term without taxonomy", func(c *Content) { c.Terms = []TermRef{{ID: "x"}} }, false},
		{"long id", func(c *Content) { c.ID = strings.Repeat("i", 129) }, false},
		{"long link", func(c *Content) { c.WordPressLink = strings.Repeat("l", MaxURLBytes+1) }, false},
	}
	for _, c := range cases {
		in := contentFixture("acct-1", "site-1", 1)
		c.mut(&in)
		e.calls.Reset()
		_, err := e.s.CreateContent(ctx, in)
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", c.name, err)
		}
		if n := e.calls.Total(); n != 0 {
			t.Errorf("%s: %d calls for invalid input", c.name, n)
		}
	}
}

func TestContentWordPressUniqueness(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	withWP := func(n int, integration string, wp int64) Content {
		c := contentFixture("acct-1", "site-1", n)
		c.IntegrationID, c.WordPressID = integration, wp
		return c
	}
	first := e.mustCreateContent(withWP(1, "int-1", 42))

	dup := withWP(2, "int-1", 42)
	dup.ID = "fixed-id"
	_, err := e.s.CreateContent(ctx, dup)
	if !errors.Is(err, ErrConflict) || conflictReason(err) != ConflictExists || !strings.Contains(err.Error(), "42") {
		t.Fatalf("duplicate wordpress id: err = %v", err)
	}
	if _, err := e.s.GetContent(ctx, "acct-1", "fixed-id"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused create wrote its metadata: %v", err)
	}
	e.mustCreateContent(withWP(3, "int-2", 42))                // another integration: allowed
	e.mustCreateContent(contentFixture("acct-2", "site-1", 1)) // another account
	other := withWP(4, "int-1", 43)
	other.AccountID = "acct-2"
	e.mustCreateContent(other)

	ids, err := e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", []int64{42, 43})
	if err != nil || !reflect.DeepEqual(ids, map[int64]string{42: first.ID}) {
		t.Fatalf("lookup: %v %v", ids, err)
	}

	// Moving a content item onto a taken WordPress ID is a conflict.
	second := e.mustCreateContent(withWP(5, "int-1", 7))
	clash := second
	clash.WordPressID = 42
	if _, err := e.s.UpdateContent(ctx, clash, false); conflictReason(err) != ConflictExists {
		t.Fatalf("update onto taken wordpress id: %v", err)
	}
	// Moving to a free one moves the lookup.
	move := second
	move.WordPressID = 8
	moved, err := e.s.UpdateContent(ctx, move, false)
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	ids, _ = e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", []int64{7, 8})
	if !reflect.DeepEqual(ids, map[int64]string{8: second.ID}) {
		t.Fatalf("after move: %v", ids)
	}
	// Unlinking removes it.
	moved.WordPressID = 0
	if _, err := e.s.UpdateContent(ctx, moved, false); err != nil {
		t.Fatalf("unlink: %v", err)
	}
	if ids, _ = e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", []int64{8}); len(ids) != 0 {
		t.Fatalf("after unlink: %v", ids)
	}
	// A local item linked later (push) gets its lookup.
	local := e.mustCreateContent(contentFixture("acct-1", "site-1", 6))
	local.IntegrationID, local.WordPressID = "int-1", 99
	if _, err := e.s.UpdateContent(ctx, local, false); err != nil {
		t.Fatalf("link: %v", err)
	}
	if ids, _ = e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", []int64{99}); ids[99] != local.ID {
		t.Fatalf("after link: %v", ids)
	}
}

func TestCreateContentsBatchesAndReportsEachItem(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	pulled := func(n int) Content {
		c := contentFixture("acct-1", "site-1", n)
		c.WordPressID, c.Body = int64(1000+n), fmt.Sprintf("<p>Body %d</p>", n)
		return c
	}
	// 100 pulled posts are 300 items: 4 transactions (99 + 99 + 99 + 3).
	var batch []Content
	for n := range 100 {
		batch = append(batch, pulled(n))
	}
	e.calls.Reset()
	created, errs := e.s.CreateContents(ctx, batch)
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"TransactWriteItems": 4}) {
		t.Fatalf("100 creates made calls %v, want 4 TransactWriteItems", got)
	}
	for i, err := range errs {
		if err != nil || created[i].ID == "" || created[i].Version != 1 {
			t.Fatalf("item %d: %+v, %v", i, created[i], err)
		}
	}
	got, err := e.s.GetContent(ctx, "acct-1", created[57].ID)
	if err != nil || got.Body != "<p>Body 57</p>" || got.WordPressID != 1057 {
		t.Fatalf("stored item 57: %+v, %v", got, err)
	}

	// A redelivered page: post 1003 exists, the rest are new or invalid.
	again := []Content{pulled(200), pulled(3), pulled(201), {AccountID: "acct-1"}}
	created, errs = e.s.CreateContents(ctx, again)
	if errs[0] != nil || errs[2] != nil || created[0].ID == "" || created[2].ID == "" {
		t.Fatalf("new items next to an existing one were not created: %v", errs)
	}
	if !errors.Is(errs[1], ErrConflict) || conflictReason(errs[1]) != ConflictExists || created[1].ID != "" {
		t.Fatalf("existing WordPress post: %+v, %v; want a conflict", created[1], errs[1])
	}
	if !errors.Is(errs[3], ErrInvalid) {
		t.Fatalf("invalid item: %v, want ErrInvalid", errs[3])
	}
	ids, err := e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", []int64{1003, 1200, 1201})
	if err != nil || len(ids) != 3 || ids[1200] != created[0].ID || ids[1201] != created[2].ID {
		t.Fatalf("lookups after the mixed batch: %v, %v", ids, err)
	}
}

func TestContentIDsByWordPressIDBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// Lookup items written directly: 250 of them, plus another integration's.
	want := map[int64]string{}
	for wp := int64(1); wp <= 250; wp++ {
		if wp%5 == 0 {
			continue // missing ones are absent from the result
		}
		id := fmt.Sprintf("c-%d", wp)
		item, err := contentLookupAV("acct-1", "int-1", wp, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
			t.Fatal(err)
		}
		want[wp] = id
	}
	item, _ := contentLookupAV("acct-1", "int-2", 1, "other")
	if _, err := e.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
		t.Fatal(err)
	}
	var wpIDs []int64
	for wp := int64(1); wp <= 250; wp++ {
		wpIDs = append(wpIDs, wp)
	}
	wpIDs = append(wpIDs, 1, 2, 3) // duplicates are asked once

	e.calls.Reset()
	got, err := e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", wpIDs)
	if err != nil {
		t.Fatal(err)
	}
	if calls := e.calls.Snapshot(); !reflect.DeepEqual(calls, map[string]int{"BatchGetItem": 3}) {
		t.Fatalf("calls %v, want exactly 3 BatchGetItem", calls)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d ids, want %d", len(got), len(want))
	}
	e.calls.Reset()
	if got, err := e.s.ContentIDsByWordPressID(ctx, "acct-1", "int-1", nil); err != nil || len(got) != 0 || e.calls.Total() != 0 {
		t.Fatalf("no ids: %v %v, %d calls", got, err, e.calls.Total())
	}
}

// contentFlakyBatch returns every other key of each BatchGetItem as
// unprocessed the first time it is seen.
type contentFlakyBatch struct {
	*dynamodb.Client
	mu    sync.Mutex
	seen  map[string]bool
	calls atomic.Int32
}

func (f *contentFlakyBatch) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	pass := map[string]types.KeysAndAttributes{}
	held := map[string]types.KeysAndAttributes{}
	for table, ka := range in.RequestItems {
		p, h := ka, ka
		p.Keys, h.Keys = nil, nil
		for i, k := range ka.Keys {
			pk := k[AttrPK].(*types.AttributeValueMemberS).Value
			if i%2 == 1 && !f.seen[pk] {
				f.seen[pk] = true
				h.Keys = append(h.Keys, k)
				continue
			}
			p.Keys = append(p.Keys, k)
		}
		pass[table] = p
		if len(h.Keys) > 0 {
			held[table] = h
		}
	}
	f.mu.Unlock()
	out, err := f.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pass}, opts...)
	if err != nil {
		return nil, err
	}
	out.UnprocessedKeys = held
	return out, nil
}

func TestContentBatchGetRetriesUnprocessedKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		ids = append(ids, e.mustCreateContent(contentFixture("acct-1", "site-1", i)).ID)
	}
	flaky := &contentFlakyBatch{Client: e.ddb, seen: map[string]bool{}}
	s := New(flaky, e.table)
	got, err := s.GetContentMetas(ctx, "acct-1", append(ids, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("got %d metas, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		if got[id].ID != id || got[id].Body != "" || got[id].Title == "" {
			t.Fatalf("meta %s: %+v", id, got[id])
		}
	}
	if n := flaky.calls.Load(); n != 2 {
		t.Fatalf("%d BatchGetItem calls, want 2 (one retry of the unprocessed keys)", n)
	}
}

// The sync states a pull compares are the items' own values, read without
// the rest of the metadata, and the account scopes them.
func TestGetContentSyncStates(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t) // an item with a WordPress ID is created with its lookup
	e := newEnv(t)
	ctx := context.Background()
	modified := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	c := contentFixture("acct-1", "site-1", 1)
	c.WordPressID, c.WordPressStatus, c.WPModifiedGMT, c.SyncedHash, c.SyncedVersion = 42, "publish", modified, "h1", 1
	created := e.mustCreateContent(c)
	other := e.mustCreateContent(contentFixture("acct-2", "site-1", 2))

	e.calls.Reset()
	got, err := e.s.GetContentSyncStates(ctx, "acct-1", []string{created.ID, other.ID, "missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := ContentSyncState{ID: created.ID, Version: created.Version, SyncedVersion: 1, WPModifiedGMT: modified, WordPressStatus: "publish", SyncedHash: "h1"}
	if len(got) != 1 || got[created.ID] != want {
		t.Fatalf("sync states %+v, want only %+v (another account's item must not be read)", got, want)
	}
	if got[created.ID] != created.SyncState() {
		t.Fatalf("read %+v, the item says %+v", got[created.ID], created.SyncState())
	}
	if n := e.calls.Count("BatchGetItem"); n != 1 {
		t.Fatalf("%d BatchGetItem calls for 3 ids, want 1", n)
	}
}

// TestContentCallCounts pins the DynamoDB calls of each operation.
func TestContentCallCounts(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	var c Content
	var bodyBefore map[string]types.AttributeValue
	steps := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"create meta only", func() error { _, err := e.s.CreateContent(ctx, contentFixture("a", "s", 0)); return err }, map[string]int{"PutItem": 1}},
		{"create with body and wordpress id", func() (err error) {
			in := contentFixture("a", "s", 1)
			in.Body, in.WordPressID = contentHTML(10000), 5
			c, err = e.s.CreateContent(ctx, in)
			return
		}, map[string]int{"TransactWriteItems": 1}},
		{"get", func() error { _, err := e.s.GetContent(ctx, "a", c.ID); return err }, map[string]int{"Query": 1}},
		{"update meta only", func() (err error) {
			c.Title, c.Status = "retitled", ContentApproved
			c, err = e.s.UpdateContent(ctx, c, false)
			return
		}, map[string]int{"GetItem": 1, "PutItem": 1}},
		{"update body", func() (err error) { c.Body = "<p>new</p>"; c, err = e.s.UpdateContent(ctx, c, true); return }, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
		{"update what was just read: no read of its own", func() (err error) {
			old := c
			old.Body = ""
			next := old
			next.Title = "retitled again"
			c, err = e.s.UpdateReadContent(ctx, old, next, false)
			return
		}, map[string]int{"PutItem": 1}},
		{"metas", func() error { _, err := e.s.GetContentMetas(ctx, "a", []string{c.ID, "x"}); return err }, map[string]int{"BatchGetItem": 1}},
		{"lookups", func() error { _, err := e.s.ContentIDsByWordPressID(ctx, "a", "int-1", []int64{5, 6}); return err }, map[string]int{"BatchGetItem": 1}},
		{"list", func() error {
			_, err := e.s.ListContent(ctx, "a", ContentFilter{SiteID: "s"}, PageRequest{})
			return err
		}, map[string]int{"Query": ListShards}},
		{"delete", func() error { return e.s.DeleteContent(ctx, "a", c.ID, c.Version) }, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
	}
	for _, s := range steps {
		e.calls.Reset()
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := e.calls.Snapshot(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: calls %v, want %v", s.name, got, s.want)
		}
		if s.name == "create with body and wordpress id" {
			bodyBefore = e.rawItem(ContentBodyKey("a", c.ID))
		}
		if s.name == "update meta only" {
			if after := e.rawItem(ContentBodyKey("a", c.ID)); !reflect.DeepEqual(after, bodyBefore) {
				t.Error("a metadata-only update rewrote the body")
			}
			if got, _ := e.s.GetContent(ctx, "a", c.ID); got.Title != "retitled" || got.Body != contentHTML(10000) {
				t.Errorf("after metadata-only update: title %q, body kept %v", got.Title, got.Body == contentHTML(10000))
			}
		}
	}
}

func TestContentOptimisticLocking(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := contentFixture("acct-1", "site-1", 1)
	in.Body = "<p>v1</p>"
	v1 := e.mustCreateContent(in)
	v2 := v1
	v2.Title = "v2"
	v2, err := e.s.UpdateContent(ctx, v2, false)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
	}{
		{"stale meta update", func() error { s := v1; s.Title = "stale"; _, err := e.s.UpdateContent(ctx, s, false); return err }()},
		{"stale body update", func() error { s := v1; s.Body = "stale"; _, err := e.s.UpdateContent(ctx, s, true); return err }()},
		{"stale delete", e.s.DeleteContent(ctx, "acct-1", v1.ID, v1.Version)},
		{"update from a stale read", func() error {
			s := v1
			s.Title = "stale"
			_, err := e.s.UpdateReadContent(ctx, v1, s, true)
			return err
		}()},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrPreconditionFailed) {
			t.Errorf("%s: err = %v, want ErrPreconditionFailed", c.name, c.err)
		}
	}
	if got, _ := e.s.GetContent(ctx, "acct-1", v1.ID); got.Version != 2 || got.Title != "v2" || got.Body != "<p>v1</p>" {
		t.Fatalf("stale writes changed the content: %+v", got)
	}

	other := v2
	other.ID = "other"
	if _, err := e.s.UpdateReadContent(ctx, v2, other, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("update of one content from a read of another: err = %v, want ErrInvalid", err)
	}

	// Concurrent writers holding the same version: exactly one wins.
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := v2
			w.Title = fmt.Sprintf("writer %d", i)
			w.Body = w.Title
			_, errs[i] = e.s.UpdateContent(ctx, w, i%2 == 0)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, ErrPreconditionFailed):
		default:
			t.Errorf("concurrent update: unexpected %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent updates of version %d succeeded, want 1", wins, v2.Version)
	}
	// Version 0 means "any": it succeeds on top of whatever is stored.
	anyV := v2
	anyV.Version, anyV.Title = 0, "any"
	if got, err := e.s.UpdateContent(ctx, anyV, false); err != nil || got.Version != 4 {
		t.Fatalf("any-version update: %+v %v", got, err)
	}
}

func TestContentTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.mustCreateContent(contentFixture("acct-A", "site-1", 1))

	if _, err := e.s.GetContent(ctx, "acct-B", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B get A's: %v", err)
	}
	steal := a
	steal.AccountID = "acct-B"
	if _, err := e.s.UpdateContent(ctx, steal, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("B update A's: %v", err)
	}
	if err := e.s.DeleteContent(ctx, "acct-B", a.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("B delete A's: %v", err)
	}
	if got, err := e.s.GetContentMetas(ctx, "acct-B", []string{a.ID}); err != nil || len(got) != 0 {
		t.Errorf("B metas of A's: %v %v", got, err)
	}
	page, err := e.s.ListContent(ctx, "acct-B", ContentFilter{SiteID: "site-1"}, PageRequest{})
	if err != nil || len(page.Items) != 0 || page.NextCursor != "" {
		t.Errorf("B list: %+v %v", page, err)
	}
	for _, evil := range []string{"acct-A#C#" + a.ID, "acct-A#", "acct-A%"} {
		if _, err := e.s.GetContent(ctx, evil, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("account %q reads A's content: %v", evil, err)
		}
	}
	if got, err := e.s.GetContent(ctx, "acct-A", a.ID); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("A's content changed: %+v %v", got, err)
	}
}

// contentListAll pages through a content listing and returns the IDs.
func contentListAll(t *testing.T, e *env, account string, f ContentFilter, limit int) ([]string, []int) {
	t.Helper()
	var all []string
	var sizes []int
	cursor := ""
	for {
		e.calls.Reset()
		page, err := e.s.ListContent(context.Background(), account, f, PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("list %+v page %d: %v", f, len(sizes)+1, err)
		}
		q, total := e.calls.Count("Query"), e.calls.Total()
		filtered := f.Status != "" && f.ContentType != ""
		switch {
		case !filtered && (q < 1 || q > 2*ListShards || q != total):
			t.Fatalf("list page made %d Queries, %d calls (%v), want one or two rounds of Queries", q, total, e.calls.Snapshot())
		case filtered && q > mergedMaxRounds*ListShards:
			t.Fatalf("filtered list page made %d Queries", q)
		case filtered && q != total && testutil.DynamoDBFlavor() != "kumo":
			// kumo's LastEvaluatedKey of an index Query lacks the index
			// keys; the store completes it with a GetItem.
			t.Fatalf("filtered list page made %d calls (%v)", total, e.calls.Snapshot())
		}
		sizes = append(sizes, len(page.Items))
		for _, c := range page.Items {
			if c.Body != "" {
				t.Fatal("listing returned a body")
			}
			all = append(all, c.ID)
		}
		if page.NextCursor == "" {
			return all, sizes
		}
		if len(page.Items) != limit {
			t.Fatalf("page %d has %d items and a cursor, want %d", len(sizes), len(page.Items), limit)
		}
		cursor = page.NextCursor
		if len(sizes) > 100 {
			t.Fatal("pagination does not end")
		}
	}
}

func TestListContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	statuses := []string{ContentDraft, ContentReview, ContentPublished}
	types := []string{"post", "page", "product"}
	var all []Content
	for i := range 25 {
		c := contentFixture("acct-1", "site-1", i)
		c.Status, c.ContentType = statuses[i%3], types[i%5%3]
		all = append(all, e.mustCreateContent(c))
	}
	// Noise: another site (and a prefix of this one's ID), another account.
	e.mustCreateContent(contentFixture("acct-1", "site-10", 1))
	e.mustCreateContent(contentFixture("acct-1", "site", 1))
	e.mustCreateContent(contentFixture("acct-2", "site-1", 1))

	newestFirst := func(keep func(Content) bool) []string {
		var out []Content
		for _, c := range all {
			if keep(c) {
				out = append(out, c)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
		var ids []string
		for _, c := range out {
			ids = append(ids, c.ID)
		}
		return ids
	}
	check := func(f ContentFilter, keep func(Content) bool) {
		t.Helper()
		want := newestFirst(keep)
		for _, limit := range []int{10, 1, 3, 100} {
			got, sizes := contentListAll(t, e, "acct-1", f, limit)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("filter %+v limit %d: got %d ids %v, want %d %v", f, limit, len(got), got, len(want), want)
			}
			if limit == 10 && f == (ContentFilter{SiteID: "site-1"}) && !reflect.DeepEqual(sizes, []int{10, 10, 5}) {
				t.Errorf("page sizes %v, want [10 10 5]", sizes)
			}
		}
	}
	check(ContentFilter{SiteID: "site-1"}, func(Content) bool { return true })
	check(ContentFilter{SiteID: "site-1", Status: ContentReview}, func(c Content) bool { return c.Status == ContentReview })
	check(ContentFilter{SiteID: "site-1", ContentType: "page"}, func(c Content) bool { return c.ContentType == "page" })
	check(ContentFilter{SiteID: "site-1", Status: ContentDraft, ContentType: "post"}, func(c Content) bool {
		return c.Status == ContentDraft && c.ContentType == "post"
	})
	check(ContentFilter{SiteID: "site-1", Status: ContentTrashed}, func(Content) bool { return false })

	// An update moves the item to the top of every listing it is in, and
	// out of its old status listing.
	moved := all[3]
	moved.Status = ContentApproved
	moved, err := e.s.UpdateContent(ctx, moved, false)
	if err != nil {
		t.Fatal(err)
	}
	all[3] = moved
	check(ContentFilter{SiteID: "site-1"}, func(Content) bool { return true })
	check(ContentFilter{SiteID: "site-1", Status: statuses[0]}, func(c Content) bool { return c.Status == statuses[0] })
	check(ContentFilter{SiteID: "site-1", Status: ContentApproved}, func(c Content) bool { return c.Status == ContentApproved })

	if _, err := e.s.ListContent(ctx, "acct-1", ContentFilter{}, PageRequest{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("list without a site: %v", err)
	}
}

func TestListContentCursorRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := range 6 {
		e.mustCreateContent(contentFixture("acct-A", "site-1", i))
		e.mustCreateContent(contentFixture("acct-B", "site-1", i))
	}
	first := func(f ContentFilter) string {
		page, err := e.s.ListContent(ctx, "acct-A", f, PageRequest{Limit: 2})
		if err != nil || page.NextCursor == "" {
			t.Fatalf("first page of %+v: %+v %v", f, page, err)
		}
		return page.NextCursor
	}
	site := ContentFilter{SiteID: "site-1"}
	good := first(site)
	byStatus := first(ContentFilter{SiteID: "site-1", Status: ContentDraft})
	byBoth := first(ContentFilter{SiteID: "site-1", Status: ContentDraft, ContentType: "post"})
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := append([]byte(nil), raw...)
	flip[len(flip)/3] ^= 0x01
	other := New(e.ddb, e.table, WithCursorKey([]byte("another key")))

	cases := []struct {
		name    string
		st      *Store
		account string
		f       ContentFilter
		cursor  string
	}{
		{"other account", e.s, "acct-B", site, good},
		{"other site", e.s, "acct-A", ContentFilter{SiteID: "site-2"}, good},
		{"other index", e.s, "acct-A", site, byStatus},
		{"other status", e.s, "acct-A", ContentFilter{SiteID: "site-1", Status: ContentReview}, byStatus},
		{"status cursor with a type filter", e.s, "acct-A", ContentFilter{SiteID: "site-1", Status: ContentDraft, ContentType: "post"}, byStatus},
		{"other type filter", e.s, "acct-A", ContentFilter{SiteID: "site-1", Status: ContentDraft, ContentType: "page"}, byBoth},
		{"bit flipped", e.s, "acct-A", site, base64.RawURLEncoding.EncodeToString(flip)},
		{"truncated", e.s, "acct-A", site, good[:len(good)-4]},
		{"not base64", e.s, "acct-A", site, "%%%"},
		{"other signing key", other, "acct-A", site, good},
		{"huge", e.s, "acct-A", site, strings.Repeat("A", 20000)},
	}
	for _, c := range cases {
		e.calls.Reset()
		_, err := c.st.ListContent(ctx, c.account, c.f, PageRequest{Limit: 2, Cursor: c.cursor})
		if !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: err = %v, want ErrInvalidCursor", c.name, err)
		}
		if n := e.calls.Total(); n != 0 {
			t.Errorf("%s: %d DynamoDB calls made with a rejected cursor", c.name, n)
		}
	}
	if _, err := e.s.ListContent(ctx, "acct-A", site, PageRequest{Limit: 2, Cursor: good}); err != nil {
		t.Fatalf("genuine cursor: %v", err)
	}
}
