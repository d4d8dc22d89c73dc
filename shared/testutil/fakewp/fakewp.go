// Package fakewp is an httptest WordPress for fast tests: it answers the
// REST routes the service uses with the shapes WordPress 6.x returns, checks
// Basic auth against one Application Password as WordPress does (wrong
// credentials are treated as anonymous), counts requests, and can be switched
// into the failure modes real sites show (REST blocked, Authorization header
// stripped, Application Passwords off…). Every behaviour the service relies
// on is also proven against a real WordPress in the end-to-end tier.
package fakewp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Mode is a failure mode of the site.
type Mode string

// The failure modes.
const (
	Healthy Mode = ""
	// HTMLInsteadOfJSON: a security plugin or plain permalinks make every
	// REST URL serve an HTML page.
	HTMLInsteadOfJSON Mode = "html"
	// StripAuthorization: the host drops the Authorization header (CGI).
	StripAuthorization Mode = "strip_auth"
	// Forbidden: a firewall answers 403 to REST requests.
	Forbidden Mode = "forbidden"
	// RESTDisabled: a plugin removed the REST routes (404 rest_no_route).
	RESTDisabled Mode = "rest_disabled"
	// NoApplicationPasswords: the feature is off (not HTTPS, or a filter),
	// so Basic auth is ignored and the index does not advertise it.
	NoApplicationPasswords Mode = "no_app_passwords"
	// Subscriber: the credentials belong to a user who cannot publish.
	Subscriber Mode = "subscriber"
)

// Site is the fake WordPress.
type Site struct {
	*httptest.Server
	Username, Password string

	mu       sync.Mutex
	mode     Mode
	counts   map[string]int // collection rest_base → items
	requests map[string]int // path → requests
	total    int
}

// New starts a healthy site with the given admin credentials and 12 posts
// and 3 pages. It is closed when the test ends.
func New(t testing.TB) *Site {
	t.Helper()
	s := &Site{
		Username: "admin",
		Password: "abcd EFGH ijkl MNOP qrst UVWX",
		counts:   map[string]int{"posts": 12, "pages": 3, "products": 4},
		requests: map[string]int{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetMode switches the site into a failure mode (Healthy to recover).
func (s *Site) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetCount sets how many items a collection reports.
func (s *Site) SetCount(restBase string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[restBase] = n
}

// Requests is the number of requests served since the last reset.
func (s *Site) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RequestsTo is the number of requests to one path (e.g. "/wp-json/wp/v2/users/me",
// with the subdirectory, if any, in front).
func (s *Site) RequestsTo(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// ResetRequests zeroes the request counters.
func (s *Site) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total, s.requests = 0, map[string]int{}
}

func (s *Site) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.total++
	s.requests[r.URL.Path]++
	mode := s.mode
	counts := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		counts[k] = v
	}
	s.mu.Unlock()

	switch mode {
	case HTMLInsteadOfJSON:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>My Blog</title></head><body>Hello world!</body></html>")
		return
	case Forbidden:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<html><body><h1>403 Forbidden</h1>Request blocked by the site's firewall.</body></html>")
		return
	case RESTDisabled:
		wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	// Any path prefix before /wp-json is a subdirectory install, so one
	// fake serves many distinct site URLs.
	i := strings.Index(r.URL.Path, "/wp-json")
	if i < 0 {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Home</body></html>")
		return
	}
	route := r.URL.Path[i+len("/wp-json"):]
	authed := s.authenticated(r, mode)
	switch {
	case route == "/" || route == "":
		s.index(w, mode)
	case route == "/wp/v2/users/me":
		if !authed {
			wpError(w, http.StatusUnauthorized, "rest_not_logged_in", "You are not currently logged in.")
			return
		}
		s.me(w, mode)
	case route == "/wp/v2/types":
		writeJSON(w, http.StatusOK, postTypes())
	case route == "/wp/v2/taxonomies":
		writeJSON(w, http.StatusOK, taxonomies())
	default:
		base := strings.TrimPrefix(route, "/wp/v2/")
		n, ok := counts[base]
		if !ok || strings.Contains(base, "/") {
			wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
			return
		}
		if r.URL.Query().Get("context") == "edit" && !authed {
			wpError(w, http.StatusUnauthorized, "rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type.")
			return
		}
		w.Header().Set("X-WP-Total", fmt.Sprint(n))
		perPage := 10
		fmt.Sscan(r.URL.Query().Get("per_page"), &perPage)
		w.Header().Set("X-WP-TotalPages", fmt.Sprint((n+perPage-1)/max(perPage, 1)))
		items := []map[string]any{}
		for i := 0; i < min(n, perPage); i++ {
			items = append(items, map[string]any{"id": i + 1})
		}
		writeJSON(w, http.StatusOK, items)
	}
}

// authenticated is WordPress's rule: valid Application Password → the user;
// anything else → anonymous (WordPress 6.1 does not reject bad credentials,
// it ignores them).
func (s *Site) authenticated(r *http.Request, mode Mode) bool {
	if mode == StripAuthorization || mode == NoApplicationPasswords {
		return false
	}
	h := r.Header.Get("Authorization")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	if err != nil || !strings.HasPrefix(h, "Basic ") {
		return false
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	strip := func(p string) string { return strings.ReplaceAll(p, " ", "") }
	return user == s.Username && strip(pass) == strip(s.Password)
}

func (s *Site) index(w http.ResponseWriter, mode Mode) {
	auth := map[string]any{}
	if mode != NoApplicationPasswords {
		auth["application-passwords"] = map[string]any{"endpoints": map[string]any{"authorization": s.URL + "/wp-admin/authorize-application.php"}}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": "Fake Blog", "description": "Just another WordPress site",
		"url": s.URL, "home": s.URL, "gmt_offset": "2", "timezone_string": "Europe/Berlin",
		"namespaces":     []string{"oembed/1.0", "wp/v2", "wp-site-health/v1"},
		"authentication": auth,
		"routes":         map[string]any{"/wp/v2/posts": map[string]any{"namespace": "wp/v2"}},
	})
}

func (s *Site) me(w http.ResponseWriter, mode Mode) {
	caps := map[string]bool{"read": true, "edit_posts": true, "publish_posts": true, "upload_files": true, "manage_categories": true, "edit_pages": true, "publish_pages": true, "administrator": true}
	roles := []string{"administrator"}
	if mode == Subscriber {
		caps, roles = map[string]bool{"read": true, "subscriber": true}, []string{"subscriber"}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": 1, "username": s.Username, "name": "Site Admin", "slug": s.Username, "email": "admin@example.com",
		"roles": roles, "capabilities": caps, "extra_capabilities": map[string]bool{roles[0]: true},
		"link": s.URL + "/author/" + s.Username + "/",
	})
}

func postTypes() map[string]any {
	t := func(slug, name, base string, hier bool, taxes ...string) map[string]any {
		if taxes == nil {
			taxes = []string{}
		}
		return map[string]any{"slug": slug, "name": name, "rest_base": base, "rest_namespace": "wp/v2", "hierarchical": hier, "taxonomies": taxes, "description": "", "viewable": true}
	}
	return map[string]any{
		"post":       t("post", "Posts", "posts", false, "category", "post_tag"),
		"page":       t("page", "Pages", "pages", true),
		"attachment": t("attachment", "Media", "media", false),
		"wp_block":   t("wp_block", "Patterns", "blocks", false),
		"product":    t("product", "Products", "products", false),
	}
}

func taxonomies() map[string]any {
	t := func(slug, name, base string, hier bool, types ...string) map[string]any {
		return map[string]any{"slug": slug, "name": name, "rest_base": base, "rest_namespace": "wp/v2", "hierarchical": hier, "types": types, "description": ""}
	}
	return map[string]any{
		"category": t("category", "Categories", "categories", true, "post"),
		"post_tag": t("post_tag", "Tags", "tags", false, "post"),
		"nav_menu": t("nav_menu", "Navigation Menus", "menus", false, "nav_menu_item"),
	}
}

func wpError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "data": map[string]any{"status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Collections lists the collections the site counts, sorted.
func (s *Site) Collections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.counts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
