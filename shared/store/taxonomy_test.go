package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func termPulled(taxonomy string, wp int64, name string, parentWP int64) Term {
	return Term{Taxonomy: taxonomy, WordPressID: wp, Name: name, Slug: strings.ToLower(strings.ReplaceAll(name, " ", "-")), ParentWordPressID: parentWP}
}

// termWrites counts the write calls since the last reset.
func termWrites(e *env) int {
	return e.calls.Count("PutItem") + e.calls.Count("TransactWriteItems") + e.calls.Count("UpdateItem") +
		e.calls.Count("DeleteItem") + e.calls.Count("BatchWriteItem")
}

// termByWP returns the stored terms of the site keyed by (taxonomy, wp id).
func termByWP(t *testing.T, e *env, account, site string) map[termRef]Term {
	t.Helper()
	out := map[termRef]Term{}
	cursor := ""
	for {
		page, err := e.s.ListTerms(context.Background(), account, site, "", PageRequest{Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, term := range page.Items {
			r := termRef{term.Taxonomy, term.WordPressID}
			if _, dup := out[r]; dup {
				t.Fatalf("two terms for WordPress %s %d", r.taxonomy, r.wpID)
			}
			out[r] = term
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func TestUpsertTermsFromWordPress(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()

	// A previous page holds a category that this page's child names as parent.
	if c, u, n, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", []Term{termPulled("category", 1, "News", 0)}); err != nil || c != 1 || u != 0 || n != 0 {
		t.Fatalf("first page: %d %d %d %v", c, u, n, err)
	}
	page := []Term{
		termPulled("category", 11, "Local", 10), // child before its parent in the page
		termPulled("category", 10, "World", 1),  // parent stored earlier
		termPulled("category", 12, "Orphan", 99),
		termPulled("post_tag", 10, "Go", 0), // same WordPress ID, other taxonomy
		termPulled("post_tag", 20, "AWS", 0),
		termPulled("genre", 10, "Jazz", 0),
	}
	e.calls.Reset()
	c, u, n, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", page)
	if err != nil || c != 6 || u != 0 || n != 0 {
		t.Fatalf("page: created %d updated %d unchanged %d, %v", c, u, n, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}) {
		t.Errorf("new terms: calls %v, want one BatchGetItem and one transaction", got)
	}
	stored := termByWP(t, e, "acct-1", "site-1")
	if len(stored) != 7 {
		t.Fatalf("%d terms stored, want 7", len(stored))
	}
	parent := func(tax string, wp int64) string { return stored[termRef{tax, wp}].ParentID }
	id := func(tax string, wp int64) string { return stored[termRef{tax, wp}].ID }
	if parent("category", 11) != id("category", 10) || parent("category", 10) != id("category", 1) || parent("category", 12) != "" || parent("category", 1) != "" {
		t.Fatalf("parents not resolved: %+v", stored)
	}
	if stored[termRef{"category", 12}].ParentWordPressID != 99 {
		t.Fatal("unresolved parent's WordPress ID not kept")
	}

	// The same page again: reads only, no writes.
	e.calls.Reset()
	c, u, n, err = e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", page)
	if err != nil || c != 0 || u != 0 || n != 6 {
		t.Fatalf("same page: created %d updated %d unchanged %d, %v", c, u, n, err)
	}
	if w := termWrites(e); w != 0 {
		t.Fatalf("same page made %d writes (%v)", w, e.calls.Snapshot())
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 2}) {
		t.Errorf("same page: calls %v, want two BatchGetItem", got)
	}

	// A renamed term: one update.
	page[4].Name, page[4].Slug = "Amazon Web Services", "amazon-web-services"
	e.calls.Reset()
	c, u, n, err = e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", page)
	if err != nil || c != 0 || u != 1 || n != 5 {
		t.Fatalf("rename: created %d updated %d unchanged %d, %v", c, u, n, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 2, "PutItem": 1}) {
		t.Errorf("rename: calls %v", got)
	}
	renamed, err := e.s.GetTerm(ctx, "acct-1", "site-1", id("post_tag", 20))
	if err != nil || renamed.Name != "Amazon Web Services" || renamed.Slug != "amazon-web-services" || renamed.Version != 2 {
		t.Fatalf("renamed: %+v %v", renamed, err)
	}

	// The orphan's parent arrives later; the orphan links on its next pull.
	if c, _, _, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", []Term{termPulled("category", 99, "Lost parent", 0)}); err != nil || c != 1 {
		t.Fatalf("parent page: %d %v", c, err)
	}
	if _, u, _, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", []Term{page[2]}); err != nil || u != 1 {
		t.Fatalf("orphan re-pull: updated %d %v", u, err)
	}
	// A re-parented term.
	moved := page[0]
	moved.ParentWordPressID = 0
	if _, u, _, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", []Term{moved}); err != nil || u != 1 {
		t.Fatalf("re-parent: updated %d %v", u, err)
	}
	stored = termByWP(t, e, "acct-1", "site-1")
	if parent("category", 12) != id("category", 99) || parent("category", 11) != "" {
		t.Fatalf("late parents: %+v", stored)
	}

	// Lookups and batch reads.
	ids, err := e.s.TermIDsByWordPressID(ctx, "acct-1", "site-1", "post_tag", []int64{10, 20, 30})
	if err != nil || !reflect.DeepEqual(ids, map[int64]string{10: id("post_tag", 10), 20: id("post_tag", 20)}) {
		t.Fatalf("term ids: %v %v", ids, err)
	}
	got, err := e.s.GetTerms(ctx, "acct-1", "site-1", []string{id("genre", 10), id("category", 1), "missing"})
	if err != nil || len(got) != 2 || got[id("genre", 10)].Name != "Jazz" {
		t.Fatalf("get terms: %+v %v", got, err)
	}
	// Other tenants and sites see nothing.
	if ids, _ := e.s.TermIDsByWordPressID(ctx, "acct-2", "site-1", "post_tag", []int64{10}); len(ids) != 0 {
		t.Fatalf("other account sees %v", ids)
	}
	if got, _ := e.s.GetTerms(ctx, "acct-1", "site-2", []string{id("genre", 10)}); len(got) != 0 {
		t.Fatalf("other site sees %v", got)
	}
	if _, err := e.s.GetTerm(ctx, "acct-2", "site-1", id("genre", 10)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account get: %v", err)
	}

	// Invalid input writes nothing.
	for _, bad := range [][]Term{
		{termPulled("category", 0, "No id", 0)},
		{termPulled("", 5, "No taxonomy", 0)},
		{termPulled("category", 5, "", 0)},
		{termPulled("category", 5, strings.Repeat("n", MaxTermNameChars+1), 0)},
	} {
		e.calls.Reset()
		if _, _, _, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", bad); !errors.Is(err, ErrInvalid) || e.calls.Total() != 0 {
			t.Errorf("invalid %+v: %v, %d calls", bad, err, e.calls.Total())
		}
	}
}

func TestUpsertTermsBatchesTransactions(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	var page []Term
	for i := range 100 {
		page = append(page, termPulled("post_tag", int64(i+1), fmt.Sprintf("Tag %d", i), 0))
	}
	page = append(page, page[3]) // a duplicate counts once
	e.calls.Reset()
	c, u, n, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", page)
	if err != nil || c != 100 || u+n != 0 {
		t.Fatalf("created %d updated %d unchanged %d, %v", c, u, n, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 2}) {
		t.Fatalf("calls %v, want 1 BatchGetItem and 2 transactions of 50 terms", got)
	}
	if got := termByWP(t, e, "acct-1", "site-1"); len(got) != 100 {
		t.Fatalf("%d terms stored", len(got))
	}
}

func TestUpsertTermsConcurrentPages(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	skipWithoutAtomicConcurrency(t)
	e := newEnv(t)
	ctx := context.Background()
	// Two jobs pull overlapping pages at once: every WordPress term ends up
	// as exactly one term, and every parent link names a stored term.
	var a, b []Term
	union := 0
	for i := range 30 {
		parent := int64(0)
		if i%3 != 0 {
			parent = int64(i - i%3 + 1) // 1, 4, 7 … are parents
		}
		term := termPulled("category", int64(i+1), fmt.Sprintf("Cat %d", i), parent)
		if i%2 == 0 {
			a = append(a, term)
		}
		if i%3 != 2 {
			b = append(b, term)
		}
		if i%2 == 0 || i%3 != 2 {
			union++
		}
	}
	for round := range 3 {
		site := fmt.Sprintf("site-%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		totals := make([]int, 4)
		for j, p := range [][]Term{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, u, n, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", site, p)
				errs[j], totals[j] = err, c+u+n
			}()
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("round %d job %d: %v", round, j, err)
			}
			if want := len([][]Term{a, b, a, b}[j]); totals[j] != want {
				t.Fatalf("round %d job %d counted %d terms, want %d", round, j, totals[j], want)
			}
		}
		stored := termByWP(t, e, "acct-1", site)
		if len(stored) != union {
			t.Fatalf("round %d: %d terms stored, want %d", round, len(stored), union)
		}
		byID := map[string]Term{}
		for _, term := range stored {
			byID[term.ID] = term
		}
		for _, term := range stored {
			if term.ParentWordPressID == 0 {
				continue
			}
			p, ok := byID[term.ParentID]
			if !ok || p.WordPressID != term.ParentWordPressID {
				t.Fatalf("round %d: term %d names parent %q, want the term of WordPress %d", round, term.WordPressID, term.ParentID, term.ParentWordPressID)
			}
		}
		// Settled: a re-pull writes nothing.
		e.calls.Reset()
		if _, _, _, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", site, a); err != nil || termWrites(e) != 0 {
			t.Fatalf("round %d re-pull: %v, %d writes", round, err, termWrites(e))
		}
	}
}

func TestCreateTermAndSetWordPressID(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()

	e.calls.Reset()
	local, err := e.s.CreateTerm(ctx, Term{AccountID: "acct-1", SiteID: "site-1", Taxonomy: "category", Name: "Local", Slug: "local"})
	if err != nil || local.Version != 1 || local.ID == "" {
		t.Fatalf("create local: %+v %v", local, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"PutItem": 1}) {
		t.Errorf("create local: calls %v", got)
	}
	got, err := e.s.GetTerm(ctx, "acct-1", "site-1", local.ID)
	if err != nil || !reflect.DeepEqual(got, local) {
		t.Fatalf("get: %+v %v, want %+v", got, err, local)
	}

	e.calls.Reset()
	pushed, err := e.s.CreateTerm(ctx, Term{AccountID: "acct-1", SiteID: "site-1", Taxonomy: "category", Name: "Pushed", Slug: "pushed", WordPressID: 7})
	if err != nil {
		t.Fatalf("create pushed: %v", err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"TransactWriteItems": 1}) {
		t.Errorf("create pushed: calls %v", got)
	}
	if _, err := e.s.CreateTerm(ctx, Term{AccountID: "acct-1", SiteID: "site-1", Taxonomy: "category", Name: "Dup", WordPressID: 7}); conflictReason(err) != ConflictExists {
		t.Fatalf("duplicate wordpress id: %v", err)
	}
	// The same WordPress ID in another taxonomy is another term.
	if _, err := e.s.CreateTerm(ctx, Term{AccountID: "acct-1", SiteID: "site-1", Taxonomy: "post_tag", Name: "Tag", WordPressID: 7}); err != nil {
		t.Fatalf("same id, other taxonomy: %v", err)
	}

	// Pushing the local term records its WordPress ID and lookup.
	e.calls.Reset()
	linked, err := e.s.SetTermWordPressID(ctx, "acct-1", "site-1", local.ID, 42)
	if err != nil || linked.WordPressID != 42 || linked.Version != 2 {
		t.Fatalf("set: %+v %v", linked, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"GetItem": 1, "TransactWriteItems": 1}) {
		t.Errorf("set: calls %v", got)
	}
	if ids, _ := e.s.TermIDsByWordPressID(ctx, "acct-1", "site-1", "category", []int64{42, 7}); !reflect.DeepEqual(ids, map[int64]string{42: local.ID, 7: pushed.ID}) {
		t.Fatalf("lookups: %v", ids)
	}
	e.calls.Reset()
	if again, err := e.s.SetTermWordPressID(ctx, "acct-1", "site-1", local.ID, 42); err != nil || again.Version != 2 || termWrites(e) != 0 {
		t.Fatalf("unchanged set: %+v %v, %d writes", again, err, termWrites(e))
	}
	if _, err := e.s.SetTermWordPressID(ctx, "acct-1", "site-1", local.ID, 7); conflictReason(err) != ConflictExists {
		t.Fatalf("set to a taken id: %v", err)
	}
	if _, err := e.s.SetTermWordPressID(ctx, "acct-1", "site-1", local.ID, 43); err != nil {
		t.Fatalf("move: %v", err)
	}
	if ids, _ := e.s.TermIDsByWordPressID(ctx, "acct-1", "site-1", "category", []int64{42, 43}); !reflect.DeepEqual(ids, map[int64]string{43: local.ID}) {
		t.Fatalf("after move: %v", ids)
	}
	if _, err := e.s.SetTermWordPressID(ctx, "acct-1", "site-1", "missing", 5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("set on a missing term: %v", err)
	}
	if _, err := e.s.SetTermWordPressID(ctx, "acct-2", "site-1", local.ID, 5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("set on another account's term: %v", err)
	}
	// A pulled page finds the pushed term instead of creating another.
	if c, _, n, err := e.s.UpsertTermsFromWordPress(ctx, "acct-1", "site-1", []Term{termPulled("category", 43, "Local", 0)}); err != nil || c != 0 || n != 1 {
		t.Fatalf("pull after push: created %d unchanged %d %v", c, n, err)
	}
}

func TestListTerms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	type want struct{ taxonomy, slug string }
	var all []want
	for i, tax := range []string{"category", "cat", "post_tag", "categoryx"} {
		for j := range 7 {
			slug := fmt.Sprintf("s-%02d", (j*5+i)%7)
			_, err := e.s.CreateTerm(ctx, Term{AccountID: "acct-1", SiteID: "site-1", Taxonomy: tax, Name: slug, Slug: slug})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, want{tax, slug})
		}
	}
	if _, err := e.s.CreateTerm(ctx, Term{AccountID: "acct-1", SiteID: "site-2", Taxonomy: "category", Name: "x", Slug: "x"}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].taxonomy != all[j].taxonomy {
			return all[i].taxonomy < all[j].taxonomy
		}
		return all[i].slug < all[j].slug
	})
	for _, taxonomy := range []string{"", "category", "cat", "post_tag", "nope"} {
		var expect []want
		for _, w := range all {
			if taxonomy == "" || w.taxonomy == taxonomy {
				expect = append(expect, w)
			}
		}
		for _, limit := range []int{3, 100} {
			var got []want
			cursor := ""
			for pages := 0; ; pages++ {
				page, err := e.s.ListTerms(ctx, "acct-1", "site-1", taxonomy, PageRequest{Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatalf("%q limit %d: %v", taxonomy, limit, err)
				}
				for _, term := range page.Items {
					got = append(got, want{term.Taxonomy, term.Slug})
				}
				if page.NextCursor == "" {
					break
				}
				if len(page.Items) != limit || pages > 50 {
					t.Fatalf("%q limit %d: page of %d with a cursor", taxonomy, limit, len(page.Items))
				}
				cursor = page.NextCursor
			}
			if !reflect.DeepEqual(got, expect) {
				t.Errorf("%q limit %d:\n got %v\nwant %v", taxonomy, limit, got, expect)
			}
		}
	}
	page, err := e.s.ListTerms(ctx, "acct-1", "site-1", "category", PageRequest{Limit: 2})
	if err != nil || page.NextCursor == "" {
		t.Fatal(page, err)
	}
	for _, c := range []struct{ account, site, taxonomy string }{
		{"acct-2", "site-1", "category"}, {"acct-1", "site-2", "category"}, {"acct-1", "site-1", "cat"}, {"acct-1", "site-1", ""},
	} {
		if _, err := e.s.ListTerms(ctx, c.account, c.site, c.taxonomy, PageRequest{Limit: 2, Cursor: page.NextCursor}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("cursor reused for %+v: %v", c, err)
		}
	}
}
