package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// wpDo sends one authenticated request to the real WordPress.
func (e *env) wpDo(t *testing.T, method, path string, body any, out any) http.Header {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, e.wp.URL+"/wp-json/"+path, rd)
	req.SetBasicAuth(e.wp.Username, e.wp.AppPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("WordPress %s %s: status %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("WordPress %s %s: %v", method, path, err)
		}
	}
	return resp.Header
}

// wpCount is X-WP-Total of a collection over every status a pull reads.
func (e *env) wpCount(t *testing.T, base string) int {
	t.Helper()
	h := e.wpDo(t, "GET", "wp/v2/"+base+"?per_page=1&context=edit&status=publish,future,draft,pending,private,trash", nil, nil)
	var n int
	fmt.Sscan(h.Get("X-WP-Total"), &n)
	return n
}

// syncAndWait starts a run and waits for it to end; it returns the run.
func (c *client) syncAndWait(t *testing.T, id string, body map[string]any) map[string]any {
	t.Helper()
	r := c.do("POST", "/api/v1/integration/"+id+"/sync/", body)
	if r.status != 202 {
		t.Fatalf("sync: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		st := c.do("GET", "/api/v1/integration/"+id+"/sync_status/", nil).json(t)
		if st["status"] != "syncing" {
			run := st["run"].(map[string]any)
			if run["status"] != "succeeded" {
				t.Fatalf("run ended %v: %v", run["status"], run)
			}
			return run
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the sync run did not finish within 90 s")
	return nil
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func num(v any) int { f, _ := v.(float64); return int(f) }

// listAll pages through a list endpoint.
func (c *client) listAll(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 100 {
		p := path
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		r := c.do("GET", p, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		_ = json.Unmarshal(r.body, &page)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	t.Fatal("more than 100 pages")
	return nil
}

// pngServer serves one small PNG on loopback, as an image host would.
func pngServer(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		img.Set(x, x, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream") // the bytes decide
		_, _ = w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/photos/e2e-featured.png"
}

func TestSyncWithRealWordPress(t *testing.T) {
	e := start(t)
	api := e.account(t, "e2e-sync")
	created := api.do("POST", "/api/v1/integration/", map[string]any{
		"site_id": "blog", "platform": "wordpress", "external_site_url": e.wp.URL,
		"credentials": map[string]string{"username": e.wp.Username, "application_password": e.wp.AppPassword},
	})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	id := created.json(t)["id"].(string)
	// This test proves the pull and the push. Connecting configured the
	// companion plugin, whose deliveries would bring the WordPress edits
	// below in before the pulls that must find them
	// (plugin_webhook_test.go proves that path).
	disconnectPlugin(t, e.wp)
	posts, pages := e.wpCount(t, "posts"), e.wpCount(t, "pages")
	if posts < 250 {
		t.Fatalf("WordPress has %d posts; make e2e seeds 250 bulk posts (infra/wordpress/bulk.php)", posts)
	}

	// Full pull: every post and page, with their terms.
	run := api.syncAndWait(t, id, map[string]any{"mode": "full"})
	if num(run["items_created"]) != posts+pages || num(run["items_failed"]) != 0 || num(run["pages_done"]) != num(run["pages_total"]) {
		t.Fatalf("full pull: %v; WordPress has %d posts and %d pages", run, posts, pages)
	}
	// History: one event per page, counting its posts.
	pulled := api.do("GET", "/api/v1/integration/"+id+"/events/?event_type=content_pull&limit=100", nil).json(t)["items"].([]any)
	counted := 0
	for _, ev := range pulled {
		ev := ev.(map[string]any)
		if ev["status"] != "success" {
			t.Fatalf("content_pull event after the full pull: %v", ev)
		}
		counted += num(ev["metadata"].(map[string]any)["items"])
	}
	if counted != posts+pages {
		t.Fatalf("the content_pull events count %d posts and pages, WordPress has %d: %v", counted, posts+pages, pulled)
	}
	items := api.listAll(t, "/api/v1/content/?site_id=blog&content_type=post&limit=100")
	if len(items) != posts {
		t.Fatalf("%d posts listed, WordPress has %d", len(items), posts)
	}
	cats := api.listAll(t, "/api/v1/sites/blog/taxonomies/?type=category&limit=100")
	tags := api.listAll(t, "/api/v1/sites/blog/taxonomies/?type=post_tag&limit=100")
	if len(cats) < 3 || len(tags) < 3 {
		t.Fatalf("pulled %d categories and %d tags", len(cats), len(tags))
	}
	var bulk map[string]any
	for _, it := range items {
		if it["slug"] == "bulk-post-0007" {
			bulk = it
		}
	}
	if bulk == nil || len(bulk["terms"].([]any)) != 2 || bulk["status"] != "published" {
		t.Fatalf("bulk-post-0007 pulled as %v, want published with a category and a tag", bulk)
	}

	// Nothing changed: nothing written.
	run = api.syncAndWait(t, id, map[string]any{"mode": "full"})
	if num(run["items_created"]) != 0 || num(run["items_updated"]) != 0 || num(run["items_unchanged"]) != posts+pages {
		t.Fatalf("unchanged re-sync: %v", run)
	}

	// Edit 3 posts in WordPress: an incremental pull updates exactly those.
	var three []struct {
		ID int64 `json:"id"`
	}
	e.wpDo(t, "GET", "wp/v2/posts?per_page=3&orderby=id&order=asc&_fields=id", nil, &three)
	for _, p := range three {
		e.wpDo(t, "POST", fmt.Sprintf("wp/v2/posts/%d", p.ID), map[string]any{"title": fmt.Sprintf("Edited in WordPress %d at %d", p.ID, time.Now().UnixNano())}, nil)
	}
	run = api.syncAndWait(t, id, map[string]any{"mode": "incremental"})
	if num(run["items_updated"]) != 3 || num(run["items_created"]) != 0 {
		t.Fatalf("incremental pull after 3 edits: %v", run)
	}

	// Push: two categories, a new tag and a featured image.
	newTag := api.do("POST", "/api/v1/sites/blog/taxonomies/", map[string]any{"type": "post_tag", "name": fmt.Sprintf("E2E tag %d", time.Now().UnixNano()%1e6)})
	if newTag.status != 201 {
		t.Fatalf("create tag: %d %s", newTag.status, newTag.body)
	}
	img := api.do("POST", "/api/v1/sites/blog/images/", map[string]any{"image_url": pngServer(t), "alt": "red diagonal"})
	if img.status != 201 {
		t.Fatalf("register image: %d %s", img.status, img.body)
	}
	title := fmt.Sprintf("Pushed from IGNY8 %d", time.Now().UnixNano())
	c := api.do("POST", "/api/v1/content/", map[string]any{
		"site_id": "blog", "title": title, "content": "<p>Written in IGNY8.</p>", "excerpt": "From IGNY8",
		"terms": []map[string]string{
			{"taxonomy": "category", "id": cats[0]["id"].(string)}, {"taxonomy": "category", "id": cats[1]["id"].(string)},
			{"taxonomy": "post_tag", "id": newTag.json(t)["id"].(string)},
		},
		"featured_image_id": img.json(t)["id"].(string),
	})
	if c.status != 201 {
		t.Fatalf("create content: %d %s", c.status, c.body)
	}
	contentID := c.json(t)["id"].(string)
	if r := api.do("POST", "/api/v1/content/"+contentID+"/approve/", nil); r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if r := api.do("POST", "/api/v1/content/"+contentID+"/publish/", nil); r.status != 202 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	var pushed map[string]any
	waitFor(t, "the push", func() bool {
		pushed = api.do("GET", "/api/v1/content/"+contentID+"/", nil).json(t)
		return num(pushed["wordpress_id"]) != 0
	})
	var wpPost struct {
		ID            int64                `json:"id"`
		Title         struct{ Raw string } `json:"title"`
		Categories    []int64              `json:"categories"`
		Tags          []int64              `json:"tags"`
		FeaturedMedia int64                `json:"featured_media"`
		Status        string               `json:"status"`
		Meta          map[string]any       `json:"meta"`
	}
	e.wpDo(t, "GET", fmt.Sprintf("wp/v2/posts/%d?context=edit", num(pushed["wordpress_id"])), nil, &wpPost)
	if wpPost.Title.Raw != title || len(wpPost.Categories) != 2 || len(wpPost.Tags) != 1 || wpPost.FeaturedMedia == 0 || wpPost.Status != "publish" {
		t.Fatalf("pushed post in WordPress: %+v", wpPost)
	}
	// With the companion plugin the push marks its post, and the plugin's
	// query parameter finds it (what a retried push looks for).
	conn, _ := created.json(t)["config_json"].(map[string]any)["connection"].(map[string]any)
	if plugin, _ := conn["plugin"].(map[string]any); plugin["configured"] == true {
		if wpPost.Meta["_igny8_content_id"] != contentID {
			t.Fatalf("pushed post's meta %v, want _igny8_content_id %s", wpPost.Meta, contentID)
		}
		var marked []struct{ ID int64 }
		e.wpDo(t, "GET", "wp/v2/posts?igny8_content_id="+contentID+"&status=any&context=edit&_fields=id", nil, &marked)
		if len(marked) != 1 || marked[0].ID != wpPost.ID {
			t.Fatalf("posts carrying the marker: %v, want only %d", marked, wpPost.ID)
		}
	} else if os.Getenv("E2E_PLUGIN_ZIP") != "" {
		t.Fatalf("the plugin was installed (E2E_PLUGIN_ZIP) but connecting did not configure it: %v", conn["plugin"])
	}

	// Edit and push again: the same post is updated, no second post.
	if r := api.do("PATCH", "/api/v1/content/"+contentID+"/", map[string]any{"title": title + " (edited)"}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := api.do("POST", "/api/v1/content/"+contentID+"/publish/", nil); r.status != 202 {
		t.Fatalf("publish again: %d %s", r.status, r.body)
	}
	waitFor(t, "the second push", func() bool {
		e.wpDo(t, "GET", fmt.Sprintf("wp/v2/posts/%d?context=edit", wpPost.ID), nil, &wpPost)
		return strings.HasSuffix(wpPost.Title.Raw, "(edited)")
	})
	var same []struct{ ID int64 }
	e.wpDo(t, "GET", "wp/v2/posts?search="+strings.ReplaceAll(title, " ", "+")+"&status=any&context=edit&_fields=id", nil, &same)
	if len(same) != 1 || same[0].ID != wpPost.ID {
		t.Fatalf("posts with the pushed title: %v, want only %d", same, wpPost.ID)
	}

	// Both sides edit: the pull reports a conflict and overwrites neither.
	waitFor(t, "the pushed content to settle", func() bool {
		return api.do("GET", "/api/v1/content/"+contentID+"/", nil).json(t)["status"] == "published"
	})
	time.Sleep(1100 * time.Millisecond) // WordPress's modified_gmt has one-second resolution
	e.wpDo(t, "POST", fmt.Sprintf("wp/v2/posts/%d", wpPost.ID), map[string]any{"title": fmt.Sprintf("Edited in WordPress too %d", time.Now().UnixNano())}, nil)
	if r := api.do("PATCH", "/api/v1/content/"+contentID+"/", map[string]any{"excerpt": "Edited in IGNY8 too"}); r.status != 200 {
		t.Fatalf("local edit: %d %s", r.status, r.body)
	}
	run = api.syncAndWait(t, id, map[string]any{"mode": "incremental"})
	got := api.do("GET", "/api/v1/content/"+contentID+"/", nil).json(t)
	if num(run["items_conflicted"]) != 1 || got["status"] != "conflict" || got["excerpt"] != "Edited in IGNY8 too" {
		t.Fatalf("both-sides edit: run %v, content %v", run, got)
	}
	evts := api.do("GET", "/api/v1/integration/"+id+"/events/?event_type=conflict", nil).json(t)["items"].([]any)
	if len(evts) != 1 || evts[0].(map[string]any)["content_id"] != contentID {
		all := api.do("GET", "/api/v1/integration/"+id+"/events/?limit=5", nil)
		t.Logf("all events: %s", all.body)
		t.Logf("logs: %s", lastLines(e.logs.String(), 30))
		t.Fatalf("conflict events: %v", evts)
	}

	// Resolving in WordPress's favour pulls the post at once: no sync run
	// needed, and the local edit gives way.
	var wpNow struct {
		Title struct {
			Raw string `json:"raw"`
		} `json:"title"`
	}
	e.wpDo(t, "GET", fmt.Sprintf("wp/v2/posts/%d?context=edit", wpPost.ID), nil, &wpNow)
	if r := api.do("POST", "/api/v1/content/"+contentID+"/resolve_conflict/", map[string]any{"keep": "wordpress"}); r.status != 200 {
		t.Fatalf("resolve keep=wordpress: %d %s", r.status, r.body)
	}
	waitFor(t, "WordPress's version after resolving the conflict", func() bool {
		c := api.do("GET", "/api/v1/content/"+contentID+"/", nil).json(t)
		return c["title"] == wpNow.Title.Raw && c["status"] == "published" && c["excerpt"] != "Edited in IGNY8 too"
	})
	e.assertNoSecretLeak(t, []string{e.wp.AppPassword}, created.body)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
