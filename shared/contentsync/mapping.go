package contentsync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/store"
)

// wpTime is a WordPress date in GMT ("2026-11-28T12:00:00", no zone).
type wpTime struct{ time.Time }

func (t *wpTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s == "" {
		t.Time = time.Time{}
		return nil // WordPress sends null for drafts that never had a date
	}
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("unrecognised WordPress date %q", s)
}

// rawRendered is a WordPress field with context=edit: the stored value and
// the HTML WordPress renders from it. The service keeps the raw value.
type rawRendered struct {
	Raw      string `json:"raw"`
	Rendered string `json:"rendered"`
}

// value is the stored value. Pulls use context=edit, where raw is always
// present; an empty raw excerpt is really empty (WordPress renders one from
// the content, which must not come back as an excerpt on the next push).
func (r rawRendered) value() string { return r.Raw }

// wpPost is one post (of any type) as a pull page returns it. Terms holds
// every taxonomy field by the taxonomy's REST base ("categories", "tags",
// custom ones).
type wpPost struct {
	ID            int64       `json:"id"`
	DateGMT       wpTime      `json:"date_gmt"`
	ModifiedGMT   wpTime      `json:"modified_gmt"`
	Slug          string      `json:"slug"`
	Status        string      `json:"status"`
	Type          string      `json:"type"`
	Link          string      `json:"link"`
	Title         rawRendered `json:"title"`
	Content       rawRendered `json:"content"`
	Excerpt       rawRendered `json:"excerpt"`
	FeaturedMedia int64       `json:"featured_media"`
	Terms         map[string][]int64
}

// decodePost reads one raw post, picking the taxonomy fields named in
// taxonomyBases.
func decodePost(raw json.RawMessage, taxonomyBases []string) (wpPost, error) {
	var p wpPost
	if err := json.Unmarshal(raw, &p); err != nil {
		return wpPost{}, fmt.Errorf("decode post: %w", err)
	}
	if p.ID <= 0 {
		return wpPost{}, fmt.Errorf("decode post: no id")
	}
	if len(taxonomyBases) > 0 {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return wpPost{}, fmt.Errorf("decode post %d terms: %w", p.ID, err)
		}
		p.Terms = map[string][]int64{}
		for _, base := range taxonomyBases {
			var ids []int64
			if v, ok := fields[base]; ok && json.Unmarshal(v, &ids) == nil && len(ids) > 0 {
				slices.Sort(ids)
				p.Terms[base] = ids
			}
		}
	}
	return p, nil
}

// postFields is the _fields list of a pull: only what the mapping reads, so
// pages of 100 long posts stay small.
func postFields(taxonomyBases []string) string {
	fields := []string{"id", "date_gmt", "modified_gmt", "slug", "status", "type", "link", "title", "content", "excerpt", "featured_media"}
	return strings.Join(append(fields, taxonomyBases...), ",")
}

// contentStatus maps a WordPress status to the content's status.
func contentStatus(wpStatus string) string {
	switch wpStatus {
	case "publish", "private":
		return store.ContentPublished
	case "future":
		return store.ContentApproved
	case "pending":
		return store.ContentReview
	case "trash":
		return store.ContentTrashed
	}
	return store.ContentDraft
}

// postHash is the fingerprint of the WordPress-side fields the service
// keeps. Equal hashes mean a pull has nothing to write.
func postHash(p wpPost, termIDs []store.TermRef, imageID string) string {
	refs := slices.Clone(termIDs)
	slices.SortFunc(refs, func(a, b store.TermRef) int {
		return strings.Compare(a.Taxonomy+"\x00"+a.ID, b.Taxonomy+"\x00"+b.ID)
	})
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{p.Title.value(), p.Content.value(), p.Excerpt.value(), p.Slug, p.Status, p.Link, imageID, refs})
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// decision is what a pull does with one post.
type decision int

const (
	decideCreate decision = iota
	decideUpdate
	decideUnchanged
	decideConflict
	decideKeepLocal
)

// Conflict policies (config_json.conflict_policy).
const (
	PolicyManual        = "manual"
	PolicyIGNY8Wins     = "igny8_wins"
	PolicyWordPressWins = "wordpress_wins"
)

// decide compares a pulled post with the stored content. The local copy
// changed since the last sync when its version moved past SyncedVersion;
// WordPress changed when modified_gmt moved. Both moving is a conflict,
// settled by the integration's policy.
func decide(existing *store.ContentSyncState, p wpPost, hash, policy string) decision {
	if existing == nil {
		return decideCreate
	}
	// WordPress's cron publishes a scheduled post without touching its
	// modified date: a status change is a change too.
	wpMoved := !existing.WPModifiedGMT.Equal(p.ModifiedGMT.Time) || existing.WordPressStatus != p.Status
	wpChanged := wpMoved && existing.SyncedHash != hash
	if !wpChanged {
		return decideUnchanged
	}
	localChanged := existing.SyncedVersion != 0 && existing.Version != existing.SyncedVersion
	if !localChanged {
		return decideUpdate
	}
	switch policy {
	case PolicyWordPressWins:
		return decideUpdate
	case PolicyIGNY8Wins:
		return decideKeepLocal
	}
	return decideConflict
}

// syncStateOf is c's sync state, nil for no content.
func syncStateOf(c *store.Content) *store.ContentSyncState {
	if c == nil {
		return nil
	}
	st := c.SyncState()
	return &st
}

// applyPost writes a pulled post's fields onto c.
func applyPost(c *store.Content, p wpPost, contentType string, terms []store.TermRef, imageID, hash string) {
	c.ContentType = contentType
	c.Title = p.Title.value()
	c.Body = p.Content.value()
	c.Excerpt = p.Excerpt.value()
	c.Slug = p.Slug
	c.Status = contentStatus(p.Status)
	c.Terms = terms
	c.FeaturedImageID = imageID
	c.WordPressID = p.ID
	c.WordPressLink = p.Link
	c.WordPressStatus = p.Status
	c.WPModifiedGMT = p.ModifiedGMT.Time
	c.SyncedHash = hash
}
