package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func imagePulled(media int64) Image {
	return Image{
		WordPressMediaID: media, ImageURL: fmt.Sprintf("https://wp.example.com/uploads/%d.jpg", media),
		Alt: fmt.Sprintf("alt %d", media), MimeType: "image/jpeg", Width: 800, Height: 600,
	}
}

func TestUpsertImagesFromWordPress(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	page := []Image{imagePulled(1), imagePulled(2), imagePulled(3), imagePulled(2)}

	e.calls.Reset()
	ids, err := e.s.UpsertImagesFromWordPress(ctx, "acct-1", "site-1", page)
	if err != nil || len(ids) != 3 {
		t.Fatalf("first upsert: %v %v", ids, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}) {
		t.Errorf("first upsert: calls %v", got)
	}
	img, err := e.s.GetImage(ctx, "acct-1", "site-1", ids[2])
	want := imagePulled(2)
	if err != nil || img.ImageURL != want.ImageURL || img.Alt != want.Alt || img.Width != 800 || img.WordPressMediaID != 2 || img.Version != 1 {
		t.Fatalf("stored image: %+v %v", img, err)
	}

	// The same page again: reads only.
	e.calls.Reset()
	again, err := e.s.UpsertImagesFromWordPress(ctx, "acct-1", "site-1", page)
	if err != nil || !reflect.DeepEqual(again, ids) {
		t.Fatalf("second upsert: %v %v, want %v", again, err, ids)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 2}) {
		t.Errorf("second upsert: calls %v, want two BatchGetItem", got)
	}

	// A changed alt text: one conditional PutItem.
	page[0].Alt = "new alt"
	e.calls.Reset()
	if _, err := e.s.UpsertImagesFromWordPress(ctx, "acct-1", "site-1", page); err != nil {
		t.Fatal(err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 2, "PutItem": 1}) {
		t.Errorf("changed alt: calls %v", got)
	}
	if img, _ := e.s.GetImage(ctx, "acct-1", "site-1", ids[1]); img.Alt != "new alt" || img.Version != 2 {
		t.Fatalf("after change: %+v", img)
	}

	// Isolation.
	if _, err := e.s.GetImage(ctx, "acct-2", "site-1", ids[1]); !errors.Is(err, ErrNotFound) {
		t.Errorf("other account: %v", err)
	}
	if _, err := e.s.GetImage(ctx, "acct-1", "site-2", ids[1]); !errors.Is(err, ErrNotFound) {
		t.Errorf("other site: %v", err)
	}
	if _, err := e.s.UpsertImagesFromWordPress(ctx, "acct-1", "site-1", []Image{{ImageURL: "x"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no media id: %v", err)
	}
}

// Concurrent pulls of the same media agree on one image each.
func TestUpsertImagesConcurrentPulls(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	skipWithoutAtomicConcurrency(t)
	e := newEnv(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]map[int64]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.s.UpsertImagesFromWordPress(ctx, "acct-1", "site-2", []Image{imagePulled(7), imagePulled(8)})
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || !reflect.DeepEqual(results[i], results[0]) {
			t.Fatalf("concurrent upsert %d: %v %v, first %v", i, results[i], errs[i], results[0])
		}
	}
	page2, err := e.s.ListImages(ctx, "acct-1", "site-2", PageRequest{})
	if err != nil || len(page2.Items) != 2 {
		t.Fatalf("concurrent upserts stored %d images: %v", len(page2.Items), err)
	}

}

func TestImageUploadFlow(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	src := "https://images.example.org/cat.png?size=large"

	// Before the upload: record the remote image.
	e.calls.Reset()
	img, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1", SourceURL: src, Alt: "a cat", MimeType: "image/png"})
	if err != nil || img.Version != 1 || img.ID == "" {
		t.Fatalf("create: %+v %v", img, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"TransactWriteItems": 1}) {
		t.Errorf("create: calls %v", got)
	}
	e.calls.Reset()
	found, err := e.s.ImageBySourceURL(ctx, "acct-1", "site-1", src)
	if err != nil || !reflect.DeepEqual(found, img) {
		t.Fatalf("by source: %+v %v, want %+v", found, err, img)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"GetItem": 2}) {
		t.Errorf("by source: calls %v", got)
	}
	if _, err := e.s.ImageBySourceURL(ctx, "acct-1", "site-2", src); !errors.Is(err, ErrNotFound) {
		t.Errorf("by source, other site: %v", err)
	}
	if _, err := e.s.ImageBySourceURL(ctx, "acct-1", "site-1", src+"&x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("by source, other url: %v", err)
	}

	// A second create from the same source returns the first image.
	dup, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1", SourceURL: src})
	if err != nil || dup.ID != img.ID {
		t.Fatalf("second create: %+v %v", dup, err)
	}
	// Concurrent creates from one source: one image.
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1", SourceURL: "https://images.example.org/dog.png"})
			if err != nil {
				t.Errorf("concurrent create: %v", err)
			}
			got[i] = out.ID
		}()
	}
	wg.Wait()
	for _, id := range got {
		if id != got[0] {
			t.Fatalf("concurrent creates made several images: %v", got)
		}
	}

	// After the upload: record the media ID and URL.
	e.calls.Reset()
	up, err := e.s.SetImageWordPressMediaID(ctx, "acct-1", "site-1", img.ID, 501, "https://wp.example.com/uploads/cat.png")
	if err != nil || up.WordPressMediaID != 501 || up.ImageURL != "https://wp.example.com/uploads/cat.png" || up.Version != 2 || up.SourceURL != src {
		t.Fatalf("set media id: %+v %v", up, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"GetItem": 1, "TransactWriteItems": 1}) {
		t.Errorf("set media id: calls %v", got)
	}
	e.calls.Reset()
	if same, err := e.s.SetImageWordPressMediaID(ctx, "acct-1", "site-1", img.ID, 501, ""); err != nil || same.Version != 2 || e.calls.Total() != 1 {
		t.Fatalf("unchanged set: %+v %v, %d calls", same, err, e.calls.Total())
	}
	e.calls.Reset()
	if moved, err := e.s.SetImageWordPressMediaID(ctx, "acct-1", "site-1", img.ID, 501, "https://cdn.example.com/cat.png"); err != nil || moved.Version != 3 {
		t.Fatalf("url only: %+v %v", moved, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"GetItem": 1, "PutItem": 1}) {
		t.Errorf("url only: calls %v", got)
	}
	// A pull of that media finds the uploaded image.
	ids, err := e.s.UpsertImagesFromWordPress(ctx, "acct-1", "site-1", []Image{{WordPressMediaID: 501, ImageURL: "https://cdn.example.com/cat.png", Alt: "a cat", MimeType: "image/png"}})
	if err != nil || ids[501] != img.ID {
		t.Fatalf("pull after upload: %v %v", ids, err)
	}
	// Another image can't take the media ID.
	other, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1", ImageURL: "https://wp.example.com/x.png"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetImageWordPressMediaID(ctx, "acct-1", "site-1", other.ID, 501, ""); conflictReason(err) != ConflictExists {
		t.Fatalf("taken media id: %v", err)
	}
	if _, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1", ImageURL: "https://wp.example.com/y.png", WordPressMediaID: 501}); conflictReason(err) != ConflictExists {
		t.Fatalf("create with a taken media id: %v", err)
	}
	if _, err := e.s.SetImageWordPressMediaID(ctx, "acct-2", "site-1", img.ID, 9, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other account: %v", err)
	}
	if _, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no url: %v", err)
	}
}

func TestListImages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var want []string
	for i := range 23 {
		img, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-1", ImageURL: fmt.Sprintf("https://wp.example.com/%d.png", i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{img.ID}, want...) // newest first
	}
	if _, err := e.s.CreateImage(ctx, Image{AccountID: "acct-1", SiteID: "site-10", ImageURL: "https://wp.example.com/other.png"}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 5, 23, 50} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			e.calls.Reset()
			page, err := e.s.ListImages(ctx, "acct-1", "site-1", PageRequest{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatalf("limit %d: %v", limit, err)
			}
			if n := e.calls.Count("Query"); n == 0 || n > 2*ListShards || n != e.calls.Total() {
				t.Fatalf("limit %d: calls %v", limit, e.calls.Snapshot())
			}
			for _, img := range page.Items {
				got = append(got, img.ID)
			}
			if page.NextCursor == "" {
				break
			}
			if len(page.Items) != limit || pages > 50 {
				t.Fatalf("limit %d: page of %d with a cursor", limit, len(page.Items))
			}
			cursor = page.NextCursor
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d:\n got %v\nwant %v", limit, got, want)
		}
	}
	first, _ := e.s.ListImages(ctx, "acct-1", "site-1", PageRequest{Limit: 2})
	if _, err := e.s.ListImages(ctx, "acct-2", "site-1", PageRequest{Limit: 2, Cursor: first.NextCursor}); !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("cursor of another account: %v", err)
	}
	if _, err := e.s.ListTerms(ctx, "acct-1", "site-1", "", PageRequest{Limit: 2, Cursor: first.NextCursor}); !errors.Is(err, ErrInvalidCursor) {
		t.Fatalf("image cursor in the terms listing: %v", err)
	}
}
