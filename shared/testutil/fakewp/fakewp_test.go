package fakewp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/ssrf"
	"github.com/igny8/integrations/shared/wordpress"
)

// clock is a settable clock for the site.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSite(t *testing.T) (*Site, *clock) {
	t.Helper()
	s := New(t)
	c := &clock{t: time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)}
	s.SetClock(c.now)
	return s, c
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("not a JSON object (%d): %s", a.status, a.body)
	}
	return m
}

func (a answer) list(t *testing.T) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatalf("not a JSON list (%d): %s", a.status, a.body)
	}
	return l
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	c, _ := a.obj(t)["code"].(string)
	return c
}

// call sends one request; body is JSON-encoded unless it is a string or
// []byte; auth sends the site's credentials.
func call(t *testing.T, s *Site, method, path string, body any, auth bool, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if auth {
		req.SetBasicAuth(s.Username, s.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, data}
}

func idsOf(l []map[string]any) []int64 {
	out := []int64{}
	for _, m := range l {
		out = append(out, int64(m["id"].(float64)))
	}
	return out
}

func TestSyntheticCountsUntilContentModel(t *testing.T) {
	s, _ := newSite(t)
	a := call(t, s, "GET", "/wp-json/wp/v2/posts?per_page=1&context=edit&_fields=id", nil, true)
	if a.header.Get("X-WP-Total") != "12" || len(a.list(t)) != 1 {
		t.Fatalf("synthetic posts: %d %v %s", a.status, a.header, a.body)
	}
	s.SetCount("posts", 250)
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts?per_page=1", nil, true); a.header.Get("X-WP-Total") != "250" {
		t.Fatalf("SetCount: %v", a.header)
	}
	s.AddPost(Post{Title: "Only one"})
	for base, want := range map[string]string{"posts": "1", "pages": "0", "products": "0"} {
		a := call(t, s, "GET", "/wp-json/wp/v2/"+base+"?per_page=1", nil, true)
		if a.status != 200 || a.header.Get("X-WP-Total") != want {
			t.Fatalf("%s after seeding: %d %v %s", base, a.status, a.header, a.body)
		}
	}
	// A collection only SetCount knows stays synthetic.
	s.SetCount("widgets", 3)
	if a := call(t, s, "GET", "/wp-json/wp/v2/widgets", nil, true); a.header.Get("X-WP-Total") != "3" {
		t.Fatalf("widgets: %d %s", a.status, a.body)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/gadgets", nil, true); a.status != 404 || a.code(t) != "rest_no_route" {
		t.Fatalf("unknown: %d %s", a.status, a.body)
	}
}

func TestPagingHeadersAndLimits(t *testing.T) {
	s, _ := newSite(t)
	s.AddPosts(25, "post", nil)
	a := call(t, s, "GET", "/wp-json/wp/v2/posts?per_page=10&page=3", nil, false)
	if a.status != 200 || a.header.Get("X-WP-Total") != "25" || a.header.Get("X-WP-TotalPages") != "3" || len(a.list(t)) != 5 {
		t.Fatalf("page 3: %d %v %d items", a.status, a.header, len(a.list(t)))
	}
	if !strings.Contains(a.header.Get("Link"), `rel="prev"`) || strings.Contains(a.header.Get("Link"), `rel="next"`) {
		t.Fatalf("Link %q", a.header.Get("Link"))
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts?per_page=10&page=4", nil, false); a.status != 400 || a.code(t) != "rest_post_invalid_page_number" {
		t.Fatalf("page 4: %d %s", a.status, a.body)
	}
	for _, pp := range []string{"101", "0", "ten"} {
		a := call(t, s, "GET", "/wp-json/wp/v2/posts?per_page="+pp, nil, false)
		if a.status != 400 || a.code(t) != "rest_invalid_param" {
			t.Fatalf("per_page=%s: %d %s", pp, a.status, a.body)
		}
		params := a.obj(t)["data"].(map[string]any)["params"].(map[string]any)
		if _, ok := params["per_page"]; !ok {
			t.Fatalf("per_page=%s: %s", pp, a.body)
		}
	}
	// Default: 10 a page, newest first; an unknown parameter is ignored.
	a = call(t, s, "GET", "/wp-json/wp/v2/posts?_igny8_cb=123", nil, false)
	got := idsOf(a.list(t))
	if len(got) != 10 || got[0] != 25 || got[9] != 16 {
		t.Fatalf("default order %v", got)
	}
	a = call(t, s, "GET", "/wp-json/wp/v2/posts?orderby=id&order=asc&per_page=3&include=7,3,9,100", nil, false)
	if got := idsOf(a.list(t)); fmt.Sprint(got) != "[3 7 9]" || a.header.Get("X-WP-Total") != "3" {
		t.Fatalf("include by id %v %v", got, a.header)
	}
	a = call(t, s, "GET", "/wp-json/wp/v2/posts?orderby=include&include=7,3,9", nil, false)
	if got := idsOf(a.list(t)); fmt.Sprint(got) != "[7 3 9]" {
		t.Fatalf("orderby include %v", got)
	}
	// An empty collection: page 2 is an empty page, not an error.
	a = call(t, s, "GET", "/wp-json/wp/v2/pages?page=2", nil, false)
	if a.status != 200 || a.header.Get("X-WP-Total") != "0" || a.header.Get("X-WP-TotalPages") != "0" || len(a.list(t)) != 0 {
		t.Fatalf("empty page 2: %d %v %s", a.status, a.header, a.body)
	}
}

func TestOrderByModified(t *testing.T) {
	s, c := newSite(t)
	posts := s.AddPosts(3, "post", nil)
	c.add(time.Hour)
	s.EditPost(posts[0].ID, func(p *Post) { p.Title = "Edited" })
	a := call(t, s, "GET", "/wp-json/wp/v2/posts?orderby=modified&order=asc&_fields=id", nil, false)
	if got := idsOf(a.list(t)); fmt.Sprint(got) != fmt.Sprint([]int64{posts[1].ID, posts[2].ID, posts[0].ID}) {
		t.Fatalf("by modified %v", got)
	}
	if p, _ := s.Post(posts[0].ID); !p.ModifiedGMT.Equal(c.now()) || p.Modified.Format(wpLayout) != "2026-03-10T13:00:00" {
		t.Fatalf("EditPost did not bump modified: %v %v", p.ModifiedGMT, p.Modified)
	}
}

func TestModifiedAfterComparesLocalTime(t *testing.T) {
	s, _ := newSite(t) // gmt_offset 2
	p := s.AddPost(Post{Title: "Ten UTC", ModifiedGMT: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)})
	if p.Modified.Format(wpLayout) != "2026-03-01T12:00:00" {
		t.Fatalf("local modified %s", p.Modified.Format(wpLayout))
	}
	cases := []struct {
		after string
		want  int
	}{
		// No zone: read as site-local 11:00 (09:00 UTC), so the post
		// modified at 10:00 UTC is after it although "11:00" > 10:00.
		{"2026-03-01T11:00:00", 1},
		{"2026-03-01 11:59:59", 1},
		{"2026-03-01T12:00:00", 0}, // strictly after
		{"2026-03-01T11:00:00Z", 0},
		{"2026-03-01T09:59:59Z", 1},
		{"2026-03-01T11:30:00+01:00", 0},
	}
	for _, tc := range cases {
		a := call(t, s, "GET", "/wp-json/wp/v2/posts?modified_after="+url.QueryEscape(tc.after), nil, false)
		if a.status != 200 || len(a.list(t)) != tc.want {
			t.Errorf("modified_after=%s: %d %s, want %d items", tc.after, a.status, a.body, tc.want)
		}
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts?modified_after=yesterday", nil, false); a.status != 400 || a.code(t) != "rest_invalid_param" {
		t.Fatalf("bad date: %d %s", a.status, a.body)
	}
	// A site west of UTC: the engine's GMT value read as local misses posts.
	s.SetGMTOffset(-5)
	q := s.AddPost(Post{Title: "West", ModifiedGMT: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)})
	if q.Modified.Format(wpLayout) != "2026-03-02T05:00:00" {
		t.Fatalf("west local %s", q.Modified.Format(wpLayout))
	}
	a := call(t, s, "GET", "/wp-json/wp/v2/posts?include="+fmt.Sprint(q.ID)+"&modified_after=2026-03-02T09:00:00", nil, false)
	if len(a.list(t)) != 0 {
		t.Fatalf("west: %s", a.body)
	}
	if a := call(t, s, "GET", "/wp-json/", nil, false); a.obj(t)["gmt_offset"] != "-5" {
		t.Fatalf("index offset: %s", a.body)
	}
}

func TestStatusFilterAndAuth(t *testing.T) {
	s, _ := newSite(t)
	for _, st := range []string{"publish", "draft", "pending", "private", "trash"} {
		s.AddPost(Post{Title: "A " + st, Status: st})
	}
	s.AddPost(Post{Title: "Later", Status: "future", DateGMT: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})

	a := call(t, s, "GET", "/wp-json/wp/v2/posts?status=draft", nil, false)
	if a.status != 400 || a.code(t) != "rest_invalid_param" || !strings.Contains(string(a.body), "rest_forbidden_status") {
		t.Fatalf("anonymous drafts: %d %s", a.status, a.body)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts?context=edit", nil, false); a.status != 401 || a.code(t) != "rest_forbidden_context" {
		t.Fatalf("anonymous edit context: %d %s", a.status, a.body)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts?status=bogus", nil, true); a.status != 400 || a.code(t) != "rest_invalid_param" {
		t.Fatalf("bogus status: %d %s", a.status, a.body)
	}
	count := func(q string) int {
		a := call(t, s, "GET", "/wp-json/wp/v2/posts?"+q, nil, true)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", q, a.status, a.body)
		}
		return len(a.list(t))
	}
	if n := count(""); n != 1 {
		t.Fatalf("default status: %d", n)
	}
	if n := count("status=any"); n != 5 {
		t.Fatalf("any: %d (trash must be left out)", n)
	}
	if n := count("status=" + url.QueryEscape("publish,future,draft,pending,private,trash") + "&context=edit"); n != 6 {
		t.Fatalf("every status: %d", n)
	}
	// Wrong credentials are anonymous.
	req, _ := http.NewRequest("GET", s.URL+"/wp-json/wp/v2/posts?status=any", nil)
	req.SetBasicAuth(s.Username, "nope nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	// A subscriber is logged in but may not see drafts: 403 inside the 400.
	s.SetMode(Subscriber)
	a = call(t, s, "GET", "/wp-json/wp/v2/posts?status=draft", nil, true)
	if a.status != 400 || !strings.Contains(string(a.body), `"status":403`) {
		t.Fatalf("subscriber: %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "x"}, true); a.status != 403 || a.code(t) != "rest_cannot_create" {
		t.Fatalf("subscriber create: %d %s", a.status, a.body)
	}
	s.SetMode(Healthy)
	// Reading a draft needs the capability.
	draft := s.Posts("post")[1]
	if a := call(t, s, "GET", fmt.Sprintf("/wp-json/wp/v2/posts/%d", draft.ID), nil, false); a.status != 401 || a.code(t) != "rest_forbidden" {
		t.Fatalf("anonymous draft: %d %s", a.status, a.body)
	}
	if a := call(t, s, "GET", fmt.Sprintf("/wp-json/wp/v2/pages/%d", draft.ID), nil, true); a.status != 404 || a.code(t) != "rest_post_invalid_id" {
		t.Fatalf("post read as a page: %d %s", a.status, a.body)
	}
}

func TestFieldsAndContext(t *testing.T) {
	s, _ := newSite(t)
	p := s.AddPost(Post{Title: "Fields", Content: "Hello body", Excerpt: ""})
	a := call(t, s, "GET", "/wp-json/wp/v2/posts?_fields=id,title", nil, false)
	item := a.list(t)[0]
	if len(item) != 2 || item["title"].(map[string]any)["rendered"] != "Fields" || item["title"].(map[string]any)["raw"] != nil {
		t.Fatalf("view fields %v", item)
	}
	a = call(t, s, "GET", "/wp-json/wp/v2/posts/"+fmt.Sprint(p.ID)+"?context=edit&_fields=id,title.raw,excerpt,modified_gmt", nil, true)
	m := a.obj(t)
	if len(m) != 4 || m["title"].(map[string]any)["raw"] != "Fields" || len(m["title"].(map[string]any)) != 1 {
		t.Fatalf("edit fields %v", m)
	}
	// An empty raw excerpt is rendered from the content, as WordPress does.
	if ex := m["excerpt"].(map[string]any); ex["raw"] != "" || ex["rendered"] != "<p>Hello body</p>\n" {
		t.Fatalf("excerpt %v", ex)
	}
	a = call(t, s, "GET", "/wp-json/wp/v2/posts/"+fmt.Sprint(p.ID)+"?context=edit", nil, true)
	m = a.obj(t)
	for _, k := range []string{"id", "date", "date_gmt", "modified", "modified_gmt", "slug", "status", "type", "link", "title", "content", "excerpt", "featured_media", "categories", "tags", "_links"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s in %v", k, m)
		}
	}
	if m["date_gmt"] != "2026-03-10T10:00:00" || m["date"] != "2026-03-10T12:00:00" || m["link"] != s.URL+"/fields/" {
		t.Fatalf("dates/link %v %v %v", m["date_gmt"], m["date"], m["link"])
	}
	if fmt.Sprint(m["categories"]) != "[1]" {
		t.Fatalf("default category %v", m["categories"])
	}
	// A subdirectory install's links carry the subdirectory.
	a = call(t, s, "GET", "/blog/wp-json/wp/v2/posts/"+fmt.Sprint(p.ID), nil, false)
	if a.obj(t)["link"] != s.URL+"/blog/fields/" {
		t.Fatalf("subdir link %v", a.obj(t)["link"])
	}
	if s.RequestsMatching("GET", "/wp-json/wp/v2/posts") != 4 || s.RequestsMatching("", "/blog/") != 1 || s.RequestsMatching("POST", "/wp-json/") != 0 {
		t.Fatalf("RequestsMatching: %d %d", s.RequestsMatching("GET", "/wp-json/wp/v2/posts"), s.RequestsMatching("", "/blog/"))
	}
}

func TestSlugsAreMadeUnique(t *testing.T) {
	s, _ := newSite(t)
	create := func(base string, body map[string]any) map[string]any {
		t.Helper()
		a := call(t, s, "POST", "/wp-json/wp/v2/"+base, body, true)
		if a.status != 201 {
			t.Fatalf("create %v: %d %s", body, a.status, a.body)
		}
		return a.obj(t)
	}
	slug := func(m map[string]any) string { return m["slug"].(string) }
	p1 := create("posts", map[string]any{"title": "Hello World", "status": "publish"})
	p2 := create("posts", map[string]any{"title": "Hello World!", "status": "publish"})
	p3 := create("posts", map[string]any{"title": "x", "slug": "hello-world", "status": "publish"})
	if slug(p1) != "hello-world" || slug(p2) != "hello-world-2" || slug(p3) != "hello-world-3" {
		t.Fatalf("slugs %s %s %s", slug(p1), slug(p2), slug(p3))
	}
	// Other types have their own slugs; drafts keep theirs, or none.
	if pg := create("pages", map[string]any{"title": "Hello World", "status": "publish"}); slug(pg) != "hello-world" {
		t.Fatalf("page slug %s", slug(pg))
	}
	d1 := create("posts", map[string]any{"title": "Hello World"})
	d2 := create("posts", map[string]any{"title": "Draft", "slug": "hello-world"})
	if slug(d1) != "" || slug(d2) != "hello-world" || d1["status"] != "draft" || !strings.Contains(d1["link"].(string), "?p=") {
		t.Fatalf("drafts %q %q %v", slug(d1), slug(d2), d1["link"])
	}
	// Publishing a draft makes its slug unique.
	a := call(t, s, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%v", d2["id"]), map[string]any{"status": "publish"}, true)
	if a.status != 200 || slug(a.obj(t)) != "hello-world-4" {
		t.Fatalf("publish draft: %d %s", a.status, a.body)
	}
	// Trashing frees the slug; restoring takes back a free one.
	a = call(t, s, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v", p1["id"]), nil, true)
	if a.status != 200 || a.obj(t)["status"] != "trash" || slug(a.obj(t)) != "hello-world__trashed" {
		t.Fatalf("trash: %d %s", a.status, a.body)
	}
	if a := call(t, s, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v", p1["id"]), nil, true); a.status != 410 || a.code(t) != "rest_already_trashed" {
		t.Fatalf("trash twice: %d %s", a.status, a.body)
	}
	p5 := create("posts", map[string]any{"title": "Hello World", "status": "publish"})
	if slug(p5) != "hello-world" {
		t.Fatalf("slug after trash %s", slug(p5))
	}
	a = call(t, s, "PUT", fmt.Sprintf("/wp-json/wp/v2/posts/%v", p1["id"]), map[string]any{"status": "publish"}, true)
	if a.status != 200 || slug(a.obj(t)) != "hello-world-5" {
		t.Fatalf("untrash: %d %s", a.status, a.body)
	}
	// findPushed's lookup: every suffix at once, any status.
	a = call(t, s, "GET", "/wp-json/wp/v2/posts?status=any&per_page=100&slug="+url.QueryEscape("hello-world,hello-world-2,hello-world-9"), nil, true)
	if len(a.list(t)) != 2 {
		t.Fatalf("slug list: %s", a.body)
	}
	if got := sanitizeTitle("Café <b>Ünïcode</b> & co. — 2026"); got != "cafe-unicode-co-2026" {
		t.Fatalf("sanitizeTitle %q", got)
	}
	if got := sanitizeTitle("日本"); got != "%e6%97%a5%e6%9c%ac" {
		t.Fatalf("sanitizeTitle %q", got)
	}
}

func TestCreateUpdateDeleteAndClock(t *testing.T) {
	s, c := newSite(t)
	var mu sync.Mutex
	var hooked []int64
	s.OnCreated(func(typ string, p Post) { mu.Lock(); defer mu.Unlock(); hooked = append(hooked, p.ID) })
	a := call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{
		"title": "Pushed", "content": "<p>Body</p>", "excerpt": "Short", "slug": "pushed", "status": "publish",
		"date_gmt": "2026-03-10T09:59:00", "tags": []int{}, "featured_media": 999,
	}, true)
	if a.status != 201 || !strings.HasSuffix(a.header.Get("Location"), fmt.Sprintf("/wp-json/wp/v2/posts/%v", a.obj(t)["id"])) {
		t.Fatalf("create: %d %v %s", a.status, a.header, a.body)
	}
	m := a.obj(t)
	if m["date_gmt"] != "2026-03-10T09:59:00" || m["modified_gmt"] != "2026-03-10T10:00:00" || m["status"] != "publish" ||
		m["featured_media"] != float64(0) || m["title"].(map[string]any)["raw"] != "Pushed" {
		t.Fatalf("created %v", m)
	}
	id := int64(m["id"].(float64))
	mu.Lock()
	got := append([]int64(nil), hooked...)
	mu.Unlock()
	if s.CountCreates("post") != 1 || s.CountCreates("posts") != 1 || len(got) != 1 || got[0] != id {
		t.Fatalf("creates %d hooks %v", s.CountCreates("post"), got)
	}
	// An unknown term is refused before anything is created.
	if a := call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "T", "categories": []int{42}}, true); a.status != 403 || a.code(t) != "rest_cannot_assign_term" {
		t.Fatalf("unknown term: %d %s", a.status, a.body)
	}
	if s.CountCreates("post") != 1 {
		t.Fatal("refused create was counted")
	}
	// Updates bump modified, even with nothing changed.
	c.add(90 * time.Second)
	a = call(t, s, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d", id), map[string]any{"title": map[string]any{"raw": "Renamed"}}, true)
	if a.status != 200 || a.obj(t)["modified_gmt"] != "2026-03-10T10:01:30" || a.obj(t)["slug"] != "pushed" {
		t.Fatalf("update: %d %s", a.status, a.body)
	}
	// A publish dated in the future is scheduled; cron publishes it later
	// without touching modified.
	a = call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "Soon", "status": "publish", "date_gmt": "2026-03-10T12:00:00"}, true)
	soon := a.obj(t)
	if soon["status"] != "future" {
		t.Fatalf("future: %v", soon["status"])
	}
	c.add(3 * time.Hour)
	p, _ := s.Post(int64(soon["id"].(float64)))
	if p.Status != "publish" || p.ModifiedGMT.Format(wpLayout) != "2026-03-10T10:01:30" {
		t.Fatalf("cron: %s %s", p.Status, p.ModifiedGMT.Format(wpLayout))
	}
	// Delete for good.
	a = call(t, s, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%d?force=true", id), nil, true)
	if a.status != 200 || a.obj(t)["deleted"] != true {
		t.Fatalf("force delete: %d %s", a.status, a.body)
	}
	if _, ok := s.Post(id); ok {
		t.Fatal("still there")
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "x"}, false); a.status != 401 || a.code(t) != "rest_cannot_create" {
		t.Fatalf("anonymous create: %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/posts", `{"title":`, true, "Content-Type", "application/json"); a.status != 400 || a.code(t) != "rest_invalid_json" {
		t.Fatalf("bad JSON: %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/products", map[string]any{"title": "Widget", "status": "publish"}, true); a.status != 201 ||
		a.obj(t)["link"] != s.URL+"/product/widget/" || a.obj(t)["categories"] != nil {
		t.Fatalf("product: %d %s", a.status, a.body)
	}
}

func TestIDsAreSharedAcrossTypesAndMedia(t *testing.T) {
	s, _ := newSite(t)
	post := s.AddPost(Post{Title: "A"})
	page := s.AddPost(Post{Type: "page", Title: "A"})
	media := s.AddMedia(Media{FileName: "a.jpg"})
	prod := s.AddPost(Post{Type: "products", Title: "A"})
	if post.ID != 1 || page.ID != 2 || media.ID != 3 || prod.ID != 4 {
		t.Fatalf("ids %d %d %d %d", post.ID, page.ID, media.ID, prod.ID)
	}
	// Attachment slugs are unique across every type; pages clash with them.
	if media.Slug != "a-2" {
		t.Fatalf("media slug %s", media.Slug)
	}
	if pg := s.AddPost(Post{Type: "page", Title: "A 2"}); pg.Slug != "a-2-2" {
		t.Fatalf("page slug %s", pg.Slug)
	}
	if len(s.Posts("")) != 4 || len(s.Posts("page")) != 2 || len(s.Media()) != 1 {
		t.Fatalf("Posts/Media %d %d %d", len(s.Posts("")), len(s.Posts("page")), len(s.Media()))
	}
}

func TestTermExists(t *testing.T) {
	s, _ := newSite(t)
	a := call(t, s, "POST", "/wp-json/wp/v2/categories", map[string]any{"name": "News"}, true)
	if a.status != 201 || a.obj(t)["slug"] != "news" {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	news := a.obj(t)["id"].(float64)
	for _, body := range []map[string]any{{"name": "News"}, {"name": "news"}, {"name": "News", "slug": "news"}} {
		a = call(t, s, "POST", "/wp-json/wp/v2/categories", body, true)
		want := fmt.Sprintf(`{"code":"term_exists","message":"A term with the name provided already exists with this parent.","data":{"status":400,"term_id":%v}}`, news)
		if a.status != 400 || strings.TrimSpace(string(a.body)) != want {
			t.Fatalf("%v: %d %s", body, a.status, a.body)
		}
	}
	// Same name under another parent, or with a new slug, is a new term.
	a = call(t, s, "POST", "/wp-json/wp/v2/categories", map[string]any{"name": "News", "parent": news}, true)
	if a.status != 201 || a.obj(t)["slug"] != "news-news" || a.obj(t)["link"] != s.URL+"/category/news/news-news/" {
		t.Fatalf("child: %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/categories", map[string]any{"name": "News", "slug": "breaking"}, true); a.status != 201 {
		t.Fatalf("new slug: %d %s", a.status, a.body)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/categories", map[string]any{"name": "X", "parent": 999}, true); a.status != 400 || a.code(t) != "rest_term_invalid" {
		t.Fatalf("bad parent: %d %s", a.status, a.body)
	}
	a = call(t, s, "POST", "/wp-json/wp/v2/tags", map[string]any{"name": "Go"}, true)
	a2 := call(t, s, "POST", "/wp-json/wp/v2/tags", map[string]any{"name": "go"}, true)
	if a.status != 201 || a2.status != 400 || a2.code(t) != "term_exists" || a2.obj(t)["message"] != "A term with the name provided already exists in this taxonomy." ||
		a2.obj(t)["data"].(map[string]any)["term_id"] != a.obj(t)["id"] {
		t.Fatalf("tags: %d %s / %d %s", a.status, a.body, a2.status, a2.body)
	}
	goTag := int64(a.obj(t)["id"].(float64))
	if s.CountCreates("category") != 3 || s.CountCreates("tags") != 1 {
		t.Fatalf("creates %d %d", s.CountCreates("category"), s.CountCreates("tags"))
	}
	if got := s.AddTerm("categories", "News", 0); got.ID != int64(news) {
		t.Fatalf("AddTerm returned %+v", got)
	}
	// Listing: paging headers, orderby id, include, _fields.
	s.AddTerm("post_tag", "Rust", 0)
	a = call(t, s, "GET", "/wp-json/wp/v2/categories?orderby=id&per_page=2&page=2&context=edit&_fields=id,name,slug,parent", nil, true)
	if a.status != 200 || a.header.Get("X-WP-Total") != "4" || a.header.Get("X-WP-TotalPages") != "2" || len(a.list(t)) != 2 || len(a.list(t)[0]) != 4 {
		t.Fatalf("list: %d %v %s", a.status, a.header, a.body)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/categories?page=9", nil, false); a.status != 200 || len(a.list(t)) != 0 {
		t.Fatalf("terms past the end: %d %s", a.status, a.body)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/tags?context=edit", nil, false); a.status != 401 {
		t.Fatalf("anonymous edit: %d", a.status)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/tags", map[string]any{"name": "X"}, false); a.status != 401 || a.code(t) != "rest_cannot_create" {
		t.Fatalf("anonymous create: %d %s", a.status, a.body)
	}
	// Counts are of published posts.
	s.AddPost(Post{Title: "Tagged", Tags: []int64{goTag}})
	if terms := s.Terms("post_tag"); terms[0].Count != 1 || terms[1].Count != 0 {
		t.Fatalf("counts %+v", terms)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMediaUpload(t *testing.T) {
	s, _ := newSite(t)
	img := pngBytes(t, 3, 2)
	cd := "Content-Disposition"
	cases := []struct {
		name    string
		body    []byte
		headers []string
		status  int
		code    string
	}{
		{"no data", nil, []string{"Content-Type", "image/png", cd, "attachment; filename=a.png"}, 400, "rest_upload_no_data"},
		{"no disposition", img, []string{"Content-Type", "image/png"}, 400, "rest_upload_no_content_disposition"},
		{"no filename", img, []string{"Content-Type", "image/png", cd, "attachment"}, 400, "rest_upload_invalid_disposition"},
		{"bad type", []byte("MZ..."), []string{"Content-Type", "application/octet-stream", cd, "attachment; filename=x.exe"}, 500, "rest_upload_sideload_error"},
		{"not an image", []byte("hello"), []string{"Content-Type", "image/jpeg", cd, "attachment; filename=x.jpg"}, 500, "rest_upload_sideload_error"},
	}
	for _, tc := range cases {
		a := call(t, s, "POST", "/wp-json/wp/v2/media", tc.body, true, tc.headers...)
		if a.status != tc.status || a.code(t) != tc.code {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
	}
	if s.CountCreates("media") != 0 || len(s.Media()) != 0 {
		t.Fatal("a refused upload was stored")
	}
	// PNG bytes named .jpg: WordPress trusts the bytes and fixes the name.
	a := call(t, s, "POST", "/wp-json/wp/v2/media?alt_text=Red", img, true, "Content-Type", "image/jpeg", cd, `attachment; filename="red dot.jpg"`)
	if a.status != 201 {
		t.Fatalf("upload: %d %s", a.status, a.body)
	}
	m := a.obj(t)
	details := m["media_details"].(map[string]any)
	if m["mime_type"] != "image/png" || m["source_url"] != s.URL+"/wp-content/uploads/2026/03/red-dot.png" || m["alt_text"] != "Red" ||
		details["width"] != float64(3) || details["height"] != float64(2) || m["media_type"] != "image" {
		t.Fatalf("media %v", m)
	}
	// The same name again gets -1; the file is served.
	a = call(t, s, "POST", "/wp-json/wp/v2/media", img, true, "Content-Type", "image/png", cd, "attachment; filename=red-dot.png")
	second := a.obj(t)
	if second["source_url"] != s.URL+"/wp-content/uploads/2026/03/red-dot-1.png" || second["slug"] != "red-dot-1" {
		t.Fatalf("second: %v %v", second["source_url"], second["slug"])
	}
	resp, err := http.Get(second["source_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(served, img) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("served %d bytes as %s", len(served), resp.Header.Get("Content-Type"))
	}
	// The pull's media lookup.
	a = call(t, s, "GET", fmt.Sprintf("/wp-json/wp/v2/media?include=%v,%v,999&per_page=100&context=edit&_fields=id,source_url,alt_text,mime_type,media_details", m["id"], second["id"]), nil, true)
	if l := a.list(t); a.status != 200 || len(l) != 2 || len(l[0]) != 5 {
		t.Fatalf("media list: %d %s", a.status, a.body)
	}
	// Only images can be featured; a PDF is accepted as a file.
	a = call(t, s, "POST", "/wp-json/wp/v2/media", []byte("%PDF-1.4"), true, "Content-Type", "application/pdf", cd, "attachment; filename=doc.pdf")
	if a.status != 201 || a.obj(t)["media_type"] != "file" {
		t.Fatalf("pdf: %d %s", a.status, a.body)
	}
	pdf := a.obj(t)["id"]
	a = call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "F", "featured_media": pdf}, true)
	if a.obj(t)["featured_media"] != float64(0) {
		t.Fatalf("pdf featured: %s", a.body)
	}
	a = call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "F", "featured_media": m["id"]}, true)
	postID := a.obj(t)["id"]
	if a.obj(t)["featured_media"] != m["id"] {
		t.Fatalf("featured: %s", a.body)
	}
	if a := call(t, s, "DELETE", fmt.Sprintf("/wp-json/wp/v2/media/%v", m["id"]), nil, true); a.status != 501 {
		t.Fatalf("media trash: %d %s", a.status, a.body)
	}
	if a := call(t, s, "DELETE", fmt.Sprintf("/wp-json/wp/v2/media/%v?force=true", m["id"]), nil, true); a.status != 200 {
		t.Fatalf("media delete: %d %s", a.status, a.body)
	}
	if p, _ := s.Post(int64(postID.(float64))); p.FeaturedMedia != 0 {
		t.Fatalf("thumbnail kept after the attachment was deleted: %d", p.FeaturedMedia)
	}
}

func TestFaults(t *testing.T) {
	s, _ := newSite(t)
	s.UseContentModel()
	s.FailNext(1, 429, "7", "")
	a := call(t, s, "GET", "/wp-json/wp/v2/posts", nil, true)
	if a.status != 429 || a.header.Get("Retry-After") != "7" || !strings.Contains(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("429: %d %v", a.status, a.header)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts", nil, true); a.status != 200 {
		t.Fatalf("after the fault: %d", a.status)
	}
	// Only the matching route and method fail; After does the work first.
	s.AddFault(Fault{Method: "POST", Path: "/wp/v2/posts", Status: 502, After: true, Times: 2})
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts", nil, true); a.status != 200 {
		t.Fatalf("GET hit a POST fault: %d", a.status)
	}
	if a := call(t, s, "POST", "/wp-json/wp/v2/posts/1", map[string]any{}, true); a.status != 404 {
		t.Fatalf("item route hit a collection fault: %d", a.status)
	}
	a = call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "Ghost", "status": "publish"}, true)
	if a.status != 502 || len(s.Posts("post")) != 1 || s.CountCreates("post") != 1 || s.PendingFaults() != 1 {
		t.Fatalf("after-fault: %d, %d posts, %d pending", a.status, len(s.Posts("post")), s.PendingFaults())
	}
	s.ClearFaults()
	// FailAfterCreate: the post exists, the client sees a dropped connection.
	s.FailAfterCreate("posts")
	body, _ := json.Marshal(map[string]any{"title": "Dropped", "status": "publish"})
	req, _ := http.NewRequest("POST", s.URL+"/wp-json/wp/v2/posts", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(s.Username, s.Password)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped create answered %d", resp.StatusCode)
	}
	if s.CountCreates("post") != 2 || s.Posts("post")[1].Title != "Dropped" {
		t.Fatalf("dropped create not stored: %d", s.CountCreates("post"))
	}
	// Truncate: the real answer cut in half.
	s.AddFault(Fault{Path: "/wp/v2/posts", Truncate: true})
	a = call(t, s, "GET", "/wp-json/wp/v2/posts", nil, true)
	if a.status != 200 || json.Valid(a.body) || a.header.Get("X-WP-Total") != "2" {
		t.Fatalf("truncate: %d %s", a.status, a.body)
	}
	// A prefix path and a JSON body.
	s.AddFault(Fault{Path: "/wp/v2/*", Status: 500, Body: `{"code":"internal_server_error","message":"There has been a critical error on this website.","data":{"status":500}}`})
	if a := call(t, s, "GET", "/wp-json/wp/v2/tags", nil, true); a.status != 500 || a.code(t) != "internal_server_error" || !strings.Contains(a.header.Get("Content-Type"), "json") {
		t.Fatalf("json fault: %d %s", a.status, a.body)
	}
	// Inject sees everything first.
	var seen atomic.Int32
	s.Inject(func(w http.ResponseWriter, r *http.Request) bool {
		seen.Add(1)
		if r.URL.Query().Get("boom") != "" {
			w.WriteHeader(http.StatusTeapot)
			return true
		}
		return false
	})
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts?boom=1", nil, true); a.status != http.StatusTeapot {
		t.Fatalf("inject: %d", a.status)
	}
	if a := call(t, s, "GET", "/wp-json/wp/v2/posts", nil, true); a.status != 200 || seen.Load() != 2 {
		t.Fatalf("inject passthrough: %d %d", a.status, seen.Load())
	}
	s.ClearFaults()
	s.SetLatency(30 * time.Millisecond)
	start := time.Now()
	call(t, s, "GET", "/wp-json/", nil, false)
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("no latency")
	}
}

// TestWithTheServiceClient drives the fake with the wordpress.Client the
// sync engine uses, with the engine's own queries.
func TestWithTheServiceClient(t *testing.T) {
	s, _ := newSite(t)
	client, err := wordpress.New(s.URL+"/blog", wordpress.Credentials{Username: s.Username, Password: s.Password},
		wordpress.Options{Policy: ssrf.Policy{AllowLoopback: true}, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cat := s.AddTerm("category", "Guides", 0)
	s.AddPosts(150, "post", func(i int, p *Post) {
		p.Categories = []int64{cat.ID}
		if i%50 == 0 {
			p.Status = "draft"
		}
	})
	q := url.Values{"context": {"edit"}, "orderby": {"modified"}, "order": {"asc"}, "page": {"2"}, "per_page": {"100"},
		"status": {"publish,future,draft,pending,private,trash"}, "_fields": {"id,date_gmt,modified_gmt,slug,status,type,link,title,content,excerpt,featured_media,categories,tags"}}
	var raw []json.RawMessage
	resp, err := client.Do(ctx, wordpress.Request{Path: "wp/v2/posts", Query: q, Out: &raw, CacheBust: true})
	if err != nil || resp.Total != 150 || resp.TotalPages != 2 || len(raw) != 50 {
		t.Fatalf("pull page 2: %v total=%d pages=%d items=%d", err, resp.Total, resp.TotalPages, len(raw))
	}
	var terms int
	err = client.EachPage(ctx, "wp/v2/categories", url.Values{"context": {"edit"}, "_fields": {"id,name,slug,parent"}, "orderby": {"id"}}, 100,
		func(_ int, _ *wordpress.Response, items []json.RawMessage) error { terms += len(items); return nil })
	if err != nil || terms != 2 {
		t.Fatalf("EachPage: %v %d", err, terms)
	}
	_, err = client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/categories", Body: map[string]any{"name": "Guides"}})
	we, ok := wordpress.AsError(err)
	if !ok || we.WPCode != "term_exists" || !strings.Contains(string(we.Data), fmt.Sprintf(`"term_id":%d`, cat.ID)) {
		t.Fatalf("term_exists through the client: %v", err)
	}
	var media struct {
		ID        int64  `json:"id"`
		SourceURL string `json:"source_url"`
		MimeType  string `json:"mime_type"`
	}
	_, err = client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/media", RawBody: bytes.NewReader(pngBytes(t, 4, 4)), ContentType: "image/png",
		Headers: http.Header{"Content-Disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": "hero.png"})}}, Out: &media})
	if err != nil || media.ID == 0 || media.MimeType != "image/png" || media.SourceURL != s.URL+"/blog/wp-content/uploads/2026/03/hero.png" {
		t.Fatalf("upload: %v %+v", err, media)
	}
	// A 429 with Retry-After is retried by the client, even for a create.
	s.AddFault(Fault{Method: "POST", Path: "/wp/v2/posts", Status: 429, RetryAfter: "1"})
	var created struct {
		ID int64 `json:"id"`
	}
	resp, err = client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/posts", Body: map[string]any{"title": "Retried", "status": "publish"}, Out: &created})
	if err != nil || resp.Attempts != 2 || created.ID == 0 || s.CountCreates("post") != 1 {
		t.Fatalf("retried create: %v attempts=%d creates=%d", err, resp.Attempts, s.CountCreates("post"))
	}
	// A create whose answer is lost is not retried: one post, one error.
	s.FailAfterCreate("post")
	_, err = client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/posts", Body: map[string]any{"title": "Lost", "status": "publish"}, Out: &created})
	if err == nil || s.CountCreates("post") != 2 {
		t.Fatalf("lost create: %v creates=%d", err, s.CountCreates("post"))
	}
}

func TestConcurrentCreatesGetDistinctSlugs(t *testing.T) {
	s, _ := newSite(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			call(t, s, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "Same", "status": "publish"}, true)
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, p := range s.Posts("post") {
		if seen[p.Slug] {
			t.Fatalf("duplicate slug %s", p.Slug)
		}
		seen[p.Slug] = true
	}
	if len(seen) != 20 || !seen["same"] || !seen["same-20"] || s.CountCreates("post") != 20 {
		t.Fatalf("slugs %v", seen)
	}
}

func TestEditPostRules(t *testing.T) {
	s, c := newSite(t)
	p := s.AddPost(Post{Title: "Keep", Status: "draft"})
	if p.Slug != "" || !p.DateGMT.IsZero() {
		t.Fatalf("floating draft %+v", p)
	}
	// The REST date_gmt of a floating draft is derived from its local date.
	a := call(t, s, "GET", fmt.Sprintf("/wp-json/wp/v2/posts/%d?context=edit", p.ID), nil, true)
	if a.obj(t)["date_gmt"] != "2026-03-10T10:00:00" {
		t.Fatalf("shim %v", a.obj(t)["date_gmt"])
	}
	c.add(time.Minute)
	p, _ = s.EditPost(p.ID, func(p *Post) { p.Status = "publish" })
	if p.Slug != "keep" || p.DateGMT.IsZero() {
		t.Fatalf("published %+v", p)
	}
	explicit := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p, _ = s.EditPost(p.ID, func(p *Post) { p.ModifiedGMT = explicit })
	if !p.ModifiedGMT.Equal(explicit) || p.Modified.Format(wpLayout) != "2025-01-01T02:00:00" {
		t.Fatalf("explicit modified %v %v", p.ModifiedGMT, p.Modified)
	}
	p, _ = s.EditPost(p.ID, func(p *Post) { p.Status = "trash" })
	if p.Slug != "keep__trashed" || p.TrashedFrom != "publish" || p.DesiredSlug != "keep" {
		t.Fatalf("trashed %+v", p)
	}
	if _, ok := s.EditPost(999, func(*Post) {}); ok {
		t.Fatal("edited a missing post")
	}
}

func BenchmarkPullPage(b *testing.B) {
	s := New(b)
	s.AddPosts(5000, "post", nil)
	u := s.URL + "/wp-json/wp/v2/posts?context=edit&orderby=modified&order=asc&per_page=100&page=7&status=" +
		url.QueryEscape("publish,future,draft,pending,private,trash")
	for b.Loop() {
		req, _ := http.NewRequest("GET", u, nil)
		req.SetBasicAuth(s.Username, s.Password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
