package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestIntegrationCRUD(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()

	in := integ("acct-1", "site-1", "wordpress", url(1))
	in.Config = map[string]any{"post_types": []any{"post", "page"}, "per_page": float64(100)}
	in.WebhookSecretName = "igny8/test/webhook"
	created, err := e.s.CreateIntegration(ctx, in)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.Version != 1 || created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("create set version %d, created %v, updated %v", created.Version, created.CreatedAt, created.UpdatedAt)
	}
	if id, err := uuid.Parse(created.ID); err != nil || id.Version() != 7 {
		t.Fatalf("generated ID %q is not a UUIDv7 (%v)", created.ID, err)
	}

	got, err := e.s.GetIntegration(ctx, "acct-1", created.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !reflect.DeepEqual(got, created) {
		t.Fatalf("get returned\n%+v\nwant\n%+v", got, created)
	}
	byID, err := e.s.GetIntegrationByID(ctx, created.ID)
	if err != nil || !reflect.DeepEqual(byID, created) {
		t.Fatalf("get by id: %+v, %v", byID, err)
	}

	upd := got
	last := time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)
	upd.LastSyncAt = &last
	upd.SyncStatus, upd.ConnectionStatus, upd.IsActive = "idle", "connected", false
	upd.Config = map[string]any{"post_types": []any{"post"}}
	updated, err := e.s.UpdateIntegration(ctx, upd)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.Version != 2 || !updated.UpdatedAt.After(updated.CreatedAt) || !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("update: version %d created %v updated %v", updated.Version, updated.CreatedAt, updated.UpdatedAt)
	}
	got, err = e.s.GetIntegration(ctx, "acct-1", created.ID)
	if err != nil || !reflect.DeepEqual(got, updated) {
		t.Fatalf("after update got\n%+v (%v)\nwant\n%+v", got, err, updated)
	}

	if err := e.s.DeleteIntegration(ctx, "acct-1", created.ID, updated.Version); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.s.GetIntegration(ctx, "acct-1", created.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := e.s.GetIntegrationByID(ctx, created.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get by id after delete: %v", err)
	}
	for _, k := range []Key{IntegrationSitePlatformGuardKey("acct-1", "site-1", "wordpress"), IntegrationURLGuardKey("acct-1", url(1))} {
		if item := e.rawItem(k); item != nil {
			t.Fatalf("guard %+v left behind: %v", k, item)
		}
	}
}

func TestIntegrationNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	missing := uuid.Must(uuid.NewV7()).String()
	cases := []struct {
		name string
		err  error
	}{
		{"get", func() error { _, err := e.s.GetIntegration(ctx, "acct-1", missing); return err }()},
		{"get empty id", func() error { _, err := e.s.GetIntegration(ctx, "acct-1", ""); return err }()},
		{"get by id", func() error { _, err := e.s.GetIntegrationByID(ctx, missing); return err }()},
		{"update", func() error {
			in := integ("acct-1", "s", "wordpress", url(1))
			in.ID = missing
			_, err := e.s.UpdateIntegration(ctx, in)
			return err
		}()},
		{"delete", e.s.DeleteIntegration(ctx, "acct-1", missing, 0)},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", c.name, c.err)
		}
	}
}

func TestIntegrationValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, mut := range []func(*Integration){
		func(i *Integration) { i.AccountID = "" },
		func(i *Integration) { i.SiteID = "" },
		func(i *Integration) { i.Platform = "" },
		func(i *Integration) { i.ExternalSiteURL = "" },
	} {
		in := integ("a", "s", "wordpress", url(1))
		mut(&in)
		if _, err := e.s.CreateIntegration(context.Background(), in); !errors.Is(err, ErrInvalid) {
			t.Errorf("create %+v: err = %v, want ErrInvalid", in, err)
		}
	}
}

func conflictReason(err error) ConflictReason {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ""
}

func TestIntegrationUniqueness(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	first := e.mustCreate(integ("acct-1", "site-1", "wordpress", url(1)))

	cases := []struct {
		name string
		in   Integration
		want ConflictReason
	}{
		{"same site and platform", integ("acct-1", "site-1", "wordpress", url(2)), ConflictSitePlatform},
		{"same url", integ("acct-1", "site-2", "wordpress", url(1)), ConflictURL},
		{"same id", func() Integration { i := integ("acct-1", "site-9", "wordpress", url(9)); i.ID = first.ID; return i }(), ConflictExists},
		{"other platform, same site, other url: allowed", integ("acct-1", "site-1", "shopify", url(3)), ""},
		{"other account, same site and url: allowed", integ("acct-2", "site-1", "wordpress", url(1)), ""},
	}
	for _, c := range cases {
		_, err := e.s.CreateIntegration(ctx, c.in)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrConflict) || conflictReason(err) != c.want {
			t.Errorf("%s: err = %v, want conflict %s", c.name, err, c.want)
		}
	}
	// A refused create wrote nothing: its other guard is still free.
	if _, err := e.s.CreateIntegration(ctx, integ("acct-1", "site-2", "wordpress", url(2))); err != nil {
		t.Fatalf("guards of refused creates were not rolled back: %v", err)
	}

	// Moving site and URL frees the old values and takes the new ones.
	moved := first
	moved.SiteID, moved.ExternalSiteURL = "site-5", url(5)
	if _, err := e.s.UpdateIntegration(ctx, moved); err != nil {
		t.Fatalf("move: %v", err)
	}
	if _, err := e.s.CreateIntegration(ctx, integ("acct-1", "site-1", "wordpress", url(1))); err != nil {
		t.Fatalf("old site/url not freed by update: %v", err)
	}
	if _, err := e.s.CreateIntegration(ctx, integ("acct-1", "site-5", "wordpress", url(6))); conflictReason(err) != ConflictSitePlatform {
		t.Fatalf("new site not taken by update: %v", err)
	}
	if _, err := e.s.CreateIntegration(ctx, integ("acct-1", "site-6", "wordpress", url(5))); conflictReason(err) != ConflictURL {
		t.Fatalf("new url not taken by update: %v", err)
	}

	// Moving onto a taken value is a conflict and changes nothing.
	cur, _ := e.s.GetIntegration(ctx, "acct-1", first.ID)
	clash := cur
	clash.SiteID = "site-2"
	if _, err := e.s.UpdateIntegration(ctx, clash); conflictReason(err) != ConflictSitePlatform {
		t.Fatalf("update onto a taken site: %v", err)
	}
	if after, _ := e.s.GetIntegration(ctx, "acct-1", first.ID); !reflect.DeepEqual(after, cur) {
		t.Fatalf("refused update changed the item: %+v", after)
	}

	// Deleting frees both.
	if err := e.s.DeleteIntegration(ctx, "acct-1", first.ID, 0); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := e.s.CreateIntegration(ctx, integ("acct-1", "site-5", "wordpress", url(5))); err != nil {
		t.Fatalf("delete did not free the guards: %v", err)
	}
}

func TestIntegrationOptimisticLocking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	v1 := e.seed(integ("acct-1", "site-1", "wordpress", url(1)))
	v2 := v1
	v2.SyncStatus = "syncing"
	v2, err := e.s.UpdateIntegration(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}

	stale := v1
	stale.SyncStatus = "error"
	if _, err := e.s.UpdateIntegration(ctx, stale); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale update: err = %v", err)
	}
	staleMove := v1
	staleMove.SiteID = "site-2"
	if _, err := e.s.UpdateIntegration(ctx, staleMove); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale update with guard move: err = %v", err)
	}
	if err := e.s.DeleteIntegration(ctx, "acct-1", v1.ID, v1.Version); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale delete: err = %v", err)
	}
	if got, _ := e.s.GetIntegration(ctx, "acct-1", v1.ID); got.Version != 2 || got.SyncStatus != "syncing" {
		t.Fatalf("stale writes changed the item: %+v", got)
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
			w.SyncError = fmt.Sprintf("writer %d", i)
			_, errs[i] = e.s.UpdateIntegration(ctx, w)
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
	if got, _ := e.s.GetIntegration(ctx, "acct-1", v1.ID); got.Version != 3 {
		t.Fatalf("version after the race = %d, want 3", got.Version)
	}
}

func TestIntegrationTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.seed(integ("acct-A", "site-1", "wordpress", url(1)))

	if _, err := e.s.GetIntegration(ctx, "acct-B", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B get A's: %v", err)
	}
	steal := a
	steal.AccountID, steal.IsActive = "acct-B", false
	if _, err := e.s.UpdateIntegration(ctx, steal); !errors.Is(err, ErrNotFound) {
		t.Errorf("B update A's: %v", err)
	}
	if err := e.s.DeleteIntegration(ctx, "acct-B", a.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("B delete A's: %v", err)
	}
	for _, f := range []IntegrationFilter{{}, {SiteID: "site-1"}, {Platform: "wordpress"}, {SiteID: "site-1", Platform: "wordpress"}} {
		page, err := e.s.ListIntegrations(ctx, "acct-B", f, PageRequest{})
		if err != nil || len(page.Items) != 0 || page.NextCursor != "" {
			t.Errorf("B list %+v: %d items, cursor %q, err %v", f, len(page.Items), page.NextCursor, err)
		}
	}
	if got, err := e.s.GetIntegration(ctx, "acct-A", a.ID); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("A's integration changed: %+v %v", got, err)
	}
	// Account IDs that would collide with A's keys if '#' were not escaped.
	for _, evil := range []string{"acct-A#INT#" + a.ID, "acct-A#", "acct-A%"} {
		if _, err := e.s.GetIntegration(ctx, evil, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("account %q reads A's integration: %v", evil, err)
		}
	}
}

// listAll pages through a listing, checking page sizes and cursors.
func listAll(t *testing.T, e *env, account string, f IntegrationFilter, limit int) ([]Integration, int) {
	t.Helper()
	var all []Integration
	cursor, pages := "", 0
	for {
		e.calls.Reset()
		page, err := e.s.ListIntegrations(context.Background(), account, f, PageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("list page %d: %v", pages+1, err)
		}
		if q, total := e.calls.Count("Query"), e.calls.Total(); q != 1 || total != 1 {
			t.Fatalf("list page made %d Queries and %d calls in all (%v), want exactly one Query", q, total, e.calls.Snapshot())
		}
		pages++
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, pages
		}
		if len(page.Items) != limit {
			t.Fatalf("page %d has %d items and a cursor, want %d", pages, len(page.Items), limit)
		}
		cursor = page.NextCursor
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
}

func ids(in []Integration) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.ID
	}
	return out
}

func TestListIntegrationsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var want []string
	for i := range 7 {
		want = append(want, e.seed(integ("acct-1", fmt.Sprintf("site-%d", i), "wordpress", url(i))).ID)
	}
	e.seed(integ("acct-2", "site-0", "wordpress", url(0))) // another tenant's, never listed

	cases := []struct {
		limit, pages int
	}{
		{3, 3}, // 3+3+1
		{7, 1}, // exactly one full page: no cursor
		{1, 7},
		{0, 1},   // default size
		{500, 1}, // clamped
	}
	for _, c := range cases {
		got, pages := listAll(t, e, "acct-1", IntegrationFilter{}, c.limit)
		if !reflect.DeepEqual(ids(got), want) {
			t.Errorf("limit %d: ids %v, want %v (no duplicates, no gaps, creation order)", c.limit, ids(got), want)
		}
		if pages != c.pages {
			t.Errorf("limit %d: %d pages, want %d", c.limit, pages, c.pages)
		}
	}
	// An exact multiple of the page size ends without a cursor on the last page.
	e.seed(integ("acct-3", "s1", "wordpress", url(1)))
	e.seed(integ("acct-3", "s2", "wordpress", url(2)))
	if got, pages := listAll(t, e, "acct-3", IntegrationFilter{}, 1); len(got) != 2 || pages != 2 {
		t.Errorf("2 items at limit 1: %d items in %d pages", len(got), pages)
	}
}

func TestListIntegrationsFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s1wp := e.seed(integ("acct-1", "s1", "wordpress", url(1)))
	s1sh := e.seed(integ("acct-1", "s1", "shopify", url(2)))
	s2wp := e.seed(integ("acct-1", "s2", "wordpress", url(3)))
	s10wp := e.seed(integ("acct-1", "s10", "wordpress", url(4)))
	hash := e.seed(integ("acct-1", "s1#P#wordpress", "wordpress", url(5)))
	e.seed(integ("acct-2", "s1", "wordpress", url(1)))

	cases := []struct {
		f    IntegrationFilter
		want []Integration
	}{
		{IntegrationFilter{SiteID: "s1"}, []Integration{s1sh, s1wp}}, // by platform, then ID
		{IntegrationFilter{SiteID: "s1", Platform: "wordpress"}, []Integration{s1wp}},
		{IntegrationFilter{SiteID: "s1", Platform: "word"}, nil},
		{IntegrationFilter{Platform: "wordpress"}, []Integration{s1wp, s2wp, s10wp, hash}},
		{IntegrationFilter{Platform: "shopify"}, []Integration{s1sh}},
		{IntegrationFilter{SiteID: "s10"}, []Integration{s10wp}},
		{IntegrationFilter{SiteID: "s1#P#wordpress"}, []Integration{hash}},
		{IntegrationFilter{SiteID: "nope"}, nil},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 50} {
			got, _ := listAll(t, e, "acct-1", c.f, limit)
			if !reflect.DeepEqual(ids(got), ids(c.want)) {
				t.Errorf("filter %+v limit %d: %v, want %v", c.f, limit, ids(got), ids(c.want))
			}
		}
	}
}

func TestListIntegrationsCursorRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := range 3 {
		e.seed(integ("acct-A", fmt.Sprintf("s%d", i), "wordpress", url(i)))
		e.seed(integ("acct-B", fmt.Sprintf("s%d", i), "wordpress", url(i)))
	}
	pageA, err := e.s.ListIntegrations(ctx, "acct-A", IntegrationFilter{}, PageRequest{Limit: 1})
	if err != nil || pageA.NextCursor == "" {
		t.Fatalf("first page: %+v %v", pageA, err)
	}
	pageASite, err := e.s.ListIntegrations(ctx, "acct-A", IntegrationFilter{Platform: "wordpress"}, PageRequest{Limit: 1})
	if err != nil || pageASite.NextCursor == "" {
		t.Fatalf("first filtered page: %+v %v", pageASite, err)
	}
	good := pageA.NextCursor
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	flip := append([]byte(nil), raw...)
	flip[len(flip)/3] ^= 0x01
	// Rewriting the payload to point at B's partition, with the MAC kept.
	forged := strings.Replace(string(raw), "A#acct-A", "A#acct-B", -1)
	junk := make([]byte, 40)
	_, _ = rand.Read(junk)
	other := New(e.ddb, e.table, WithCursorKey([]byte("another key")))

	cases := []struct {
		name    string
		st      *Store
		account string
		f       IntegrationFilter
		cursor  string
	}{
		{"other account", e.s, "acct-B", IntegrationFilter{}, good},
		{"other filter", e.s, "acct-A", IntegrationFilter{SiteID: "s1"}, good},
		{"other index", e.s, "acct-A", IntegrationFilter{}, pageASite.NextCursor},
		{"bit flipped", e.s, "acct-A", IntegrationFilter{}, base64.RawURLEncoding.EncodeToString(flip)},
		{"forged partition", e.s, "acct-B", IntegrationFilter{}, base64.RawURLEncoding.EncodeToString([]byte(forged))},
		{"truncated", e.s, "acct-A", IntegrationFilter{}, good[:len(good)-4]},
		{"not base64", e.s, "acct-A", IntegrationFilter{}, "%%%not-a-cursor%%%"},
		{"random bytes", e.s, "acct-A", IntegrationFilter{}, base64.RawURLEncoding.EncodeToString(junk)},
		{"other signing key", other, "acct-A", IntegrationFilter{}, good},
		{"huge", e.s, "acct-A", IntegrationFilter{}, strings.Repeat("A", 10000)},
	}
	for _, c := range cases {
		e.calls.Reset()
		_, err := c.st.ListIntegrations(ctx, c.account, c.f, PageRequest{Limit: 1, Cursor: c.cursor})
		if !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: err = %v, want ErrInvalidCursor", c.name, err)
		}
		if n := e.calls.Total(); n != 0 {
			t.Errorf("%s: %d DynamoDB calls made with a rejected cursor", c.name, n)
		}
	}
	// The genuine cursor still works for its own listing.
	if _, err := e.s.ListIntegrations(ctx, "acct-A", IntegrationFilter{}, PageRequest{Limit: 1, Cursor: good}); err != nil {
		t.Fatalf("genuine cursor: %v", err)
	}
}

func TestIntegrationItemSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// Incompressible config over 400 KB: refused before any call.
	noise := make([]byte, 450*1024)
	_, _ = rand.Read(noise)
	in := integ("acct-1", "site-1", "wordpress", url(1))
	in.Config = map[string]any{"blob": base64.StdEncoding.EncodeToString(noise)}
	e.calls.Reset()
	_, err := e.s.CreateIntegration(ctx, in)
	var tl *ItemTooLargeError
	if !errors.Is(err, ErrItemTooLarge) || !errors.As(err, &tl) || tl.Size <= MaxItemSize {
		t.Fatalf("oversized create: err = %v", err)
	}
	if n := e.calls.Total(); n != 0 {
		t.Fatalf("oversized create made %d calls", n)
	}

	// A large but compressible config is stored compressed and reads back.
	structure := make([]any, 0, 400)
	for i := range 400 {
		structure = append(structure, map[string]any{"slug": fmt.Sprintf("type-%d", i), "rest_base": fmt.Sprintf("types-%d", i), "show_in_rest": true})
	}
	in.Config = map[string]any{"structure": structure}
	created := e.seed(in)
	raw := e.rawItem(IntegrationKey("acct-1", created.ID))
	if _, ok := raw["ConfigGz"]; !ok {
		t.Fatalf("large config not compressed; attributes: %v", keysOf(raw))
	}
	if n := ItemSize(raw); n > 8*1024 {
		t.Fatalf("stored item is %d bytes; compression should keep it small", n)
	}
	got, err := e.s.GetIntegration(ctx, "acct-1", created.ID)
	if err != nil || !reflect.DeepEqual(got.Config, in.Config) {
		t.Fatalf("config round trip: %v", err)
	}

	// Updating into an oversized item is refused and changes nothing.
	big := got
	big.Config = map[string]any{"blob": base64.StdEncoding.EncodeToString(noise)}
	if _, err := e.s.UpdateIntegration(ctx, big); !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("oversized update: %v", err)
	}
	if after, _ := e.s.GetIntegration(ctx, "acct-1", created.ID); after.Version != got.Version {
		t.Fatalf("refused update changed the version")
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestIntegrationCallCounts pins the DynamoDB calls of each operation.
func TestIntegrationCallCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var in Integration
	if !supportsTransactions() {
		in = e.seed(integ("a", "s", "wordpress", url(1)))
	}
	steps := []struct {
		name string
		tx   bool // needs TransactWriteItems
		run  func() error
		want map[string]int
	}{
		{"create", true, func() (err error) { in, err = e.s.CreateIntegration(ctx, integ("a", "s", "wordpress", url(1))); return }, map[string]int{"TransactWriteItems": 1}},
		{"get", false, func() error { _, err := e.s.GetIntegration(ctx, "a", in.ID); return err }, map[string]int{"GetItem": 1}},
		{"get by id", false, func() error { _, err := e.s.GetIntegrationByID(ctx, in.ID); return err }, getByIDCalls()},
		{"list", false, func() error { _, err := e.s.ListIntegrations(ctx, "a", IntegrationFilter{}, PageRequest{}); return err }, map[string]int{"Query": 1}},
		{"list by site", false, func() error {
			_, err := e.s.ListIntegrations(ctx, "a", IntegrationFilter{SiteID: "s"}, PageRequest{})
			return err
		}, map[string]int{"Query": 1}},
		{"list by platform", false, func() error {
			_, err := e.s.ListIntegrations(ctx, "a", IntegrationFilter{Platform: "wordpress"}, PageRequest{})
			return err
		}, map[string]int{"Query": 1}},
		{"update in place", false, func() (err error) { in.SyncStatus = "idle"; in, err = e.s.UpdateIntegration(ctx, in); return }, map[string]int{"GetItem": 1, "PutItem": 1}},
		{"update moving guards", true, func() (err error) { in.SiteID = "s2"; in, err = e.s.UpdateIntegration(ctx, in); return }, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
		{"delete", true, func() error { return e.s.DeleteIntegration(ctx, "a", in.ID, in.Version) }, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.tx {
				skipWithoutTransactions(t)
			}
			e.calls.Reset()
			if err := s.run(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := e.calls.Snapshot(); !reflect.DeepEqual(got, s.want) {
				t.Errorf("%s: calls %v, want %v", s.name, got, s.want)
			}
		})
	}
}

// getByIDCalls is the cost of GetIntegrationByID: the ID lookup item and the
// integration; without transactions the test seeds no lookup item, and the
// GSI is read instead.
func getByIDCalls() map[string]int {
	if supportsTransactions() {
		return map[string]int{"GetItem": 2}
	}
	return map[string]int{"GetItem": 1, "Query": 1}
}

func TestIntegrationConfigValue(t *testing.T) {
	in := Integration{Config: map[string]any{
		"connection":      map[string]any{"site": map[string]any{"gmt_offset": 2.0}, "plugin": "not an object"},
		"conflict_policy": "manual",
	}}
	tests := []struct {
		path []string
		want any
	}{
		{[]string{"connection", "site", "gmt_offset"}, 2.0},
		{[]string{"conflict_policy"}, "manual"},
		{[]string{"connection", "plugin", "configured"}, nil},
		{[]string{"connection", "missing", "x"}, nil},
		{[]string{"conflict_policy", "x"}, nil},
	}
	for _, tt := range tests {
		if got := in.ConfigValue(tt.path...); got != tt.want {
			t.Errorf("ConfigValue(%v) = %v, want %v", tt.path, got, tt.want)
		}
	}
	if got := (Integration{}).ConfigValue("connection"); got != nil {
		t.Errorf("nil config: %v", got)
	}
}
