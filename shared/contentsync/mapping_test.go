package contentsync

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/store"
)

func TestDecodePostReadsTermsAndGMTDates(t *testing.T) {
	raw := json.RawMessage(`{"id":7,"date_gmt":"2026-11-01T10:00:00","modified_gmt":"2026-11-02T11:30:00","slug":"hello",
		"status":"publish","type":"post","link":"https://example.com/hello/","title":{"raw":"Hello","rendered":"Hello"},
		"content":{"raw":"<p>Hi</p>","rendered":"<p>Hi</p>\n"},"excerpt":{"raw":"","rendered":"<p>Hi</p>"},
		"featured_media":12,"categories":[4,2],"tags":[],"genres":[9]}`)
	p, err := decodePost(raw, []string{"categories", "tags", "genres"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != 7 || p.Slug != "hello" || p.FeaturedMedia != 12 || p.Content.value() != "<p>Hi</p>" {
		t.Fatalf("post %+v", p)
	}
	if want := time.Date(2026, 11, 2, 11, 30, 0, 0, time.UTC); !p.ModifiedGMT.Equal(want) {
		t.Fatalf("modified %v, want %v", p.ModifiedGMT, want)
	}
	if got := p.Terms["categories"]; len(got) != 2 || got[0] != 2 || got[1] != 4 {
		t.Fatalf("categories %v, want sorted [2 4]", got)
	}
	if _, ok := p.Terms["tags"]; ok {
		t.Fatal("empty tag list should be absent")
	}
	if _, err := decodePost(json.RawMessage(`{"id":0}`), nil); err == nil {
		t.Fatal("a post without id must not decode")
	}
	if _, err := decodePost(json.RawMessage(`{"id":1,"modified_gmt":"yesterday"}`), nil); err == nil {
		t.Fatal("an unreadable date must not decode")
	}
}

func TestContentStatus(t *testing.T) {
	for wp, want := range map[string]string{
		"publish": store.ContentPublished, "private": store.ContentPublished, "future": store.ContentApproved,
		"pending": store.ContentReview, "draft": store.ContentDraft, "auto-draft": store.ContentDraft, "trash": store.ContentTrashed,
	} {
		if got := contentStatus(wp); got != want {
			t.Errorf("contentStatus(%q) = %q, want %q", wp, got, want)
		}
	}
}

func TestPostHashIgnoresTermOrderButNotContent(t *testing.T) {
	p := wpPost{ID: 1, Slug: "a", Status: "publish", Title: rawRendered{Raw: "T"}, Content: rawRendered{Raw: "B"}}
	a := []store.TermRef{{Taxonomy: "category", ID: "x"}, {Taxonomy: "post_tag", ID: "y"}}
	b := []store.TermRef{{Taxonomy: "post_tag", ID: "y"}, {Taxonomy: "category", ID: "x"}}
	if postHash(p, a, "img") != postHash(p, b, "img") {
		t.Fatal("term order changed the hash")
	}
	q := p
	q.Content.Raw = "B!"
	if postHash(p, a, "img") == postHash(q, a, "img") || postHash(p, a, "img") == postHash(p, a, "other") {
		t.Fatal("a content or image change kept the hash")
	}
}

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	synced := store.ContentSyncState{WPModifiedGMT: t0, SyncedHash: "h1", Version: 3, SyncedVersion: 3}
	edited := synced
	edited.Version = 4
	post := func(mod time.Time) wpPost { return wpPost{ModifiedGMT: wpTime{mod}} }
	scheduled := synced
	scheduled.WordPressStatus = "future"
	cronPublished := wpPost{ModifiedGMT: wpTime{t0}, Status: "publish"}
	tests := []struct {
		name     string
		existing *store.ContentSyncState
		post     wpPost
		hash     string
		policy   string
		want     decision
	}{
		{"new post", nil, post(t0), "h1", PolicyManual, decideCreate},
		{"nothing moved", &synced, post(t0), "h1", PolicyManual, decideUnchanged},
		{"modified moved, same fields", &synced, post(t0.Add(time.Hour)), "h1", PolicyManual, decideUnchanged},
		{"WordPress changed", &synced, post(t0.Add(time.Hour)), "h2", PolicyManual, decideUpdate},
		{"only IGNY8 changed", &edited, post(t0), "h1", PolicyManual, decideUnchanged},
		{"cron published a scheduled post: status moved, modified did not", &scheduled, cronPublished, "h2", PolicyManual, decideUpdate},
		{"both changed, manual", &edited, post(t0.Add(time.Hour)), "h2", PolicyManual, decideConflict},
		{"both changed, WordPress wins", &edited, post(t0.Add(time.Hour)), "h2", PolicyWordPressWins, decideUpdate},
		{"both changed, IGNY8 wins", &edited, post(t0.Add(time.Hour)), "h2", PolicyIGNY8Wins, decideKeepLocal},
	}
	for _, tt := range tests {
		if got := decide(tt.existing, tt.post, tt.hash, tt.policy); got != tt.want {
			t.Errorf("%s: decide = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSlugAndFileNames(t *testing.T) {
	for in, want := range map[string]string{"Hello, World!": "hello-world", "  ": "post", "Ünïcode Title 2": "n-code-title-2"} {
		if got := slugify(in); got != want {
			t.Errorf("slugify(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"https://cdn.example.com/a/My%20Photo.PNG?x=1": "My-Photo.jpg",
		"https://cdn.example.com/":                     "image.jpg",
		"https://cdn.example.com/../../etc/passwd":     "passwd.jpg",
	} {
		if got := imageFileName(in, "image/jpeg"); got != want {
			t.Errorf("imageFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModifiedAfterUsesSiteLocalTime(t *testing.T) {
	e := New(Deps{IncrementalOverlap: 10 * time.Minute})
	cursor := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	state := store.SyncState{Cursors: map[string]time.Time{"*": cursor}}
	berlin := store.Integration{Config: map[string]any{"connection": map[string]any{"site": map[string]any{"gmt_offset": 2.0}}}}
	if got := e.modifiedAfter(berlin, state, "post"); got == nil || !got.Equal(cursor.Add(-10*time.Minute).Add(2*time.Hour)) {
		t.Fatalf("known offset: %v", got)
	}
	if got := e.modifiedAfter(store.Integration{}, state, "post"); got == nil || !got.Equal(cursor.Add(-10*time.Minute).Add(-14*time.Hour)) {
		t.Fatalf("unknown offset: %v", got)
	}
	if got := e.modifiedAfter(berlin, store.SyncState{}, "post"); got != nil {
		t.Fatalf("no cursor: %v", got)
	}
}
