package wordpress

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/ssrf"
)

// The credentials every test client sends. The password is spaced the way
// WordPress displays Application Passwords.
const (
	testUsername = "editor"
	testPassword = "abcd EFGH 1234 ijkl MNOP 5678"
)

var testCreds = Credentials{Username: testUsername, Password: testPassword}

// fakeWP is an httptest WordPress. Handlers are keyed by REST route, the
// path below /wp-json/ ("wp/v2/users/me", "" for the index); "*" serves
// every path. Unknown REST routes get WordPress's rest_no_route answer,
// anything else a 404 web page, as a real site would.
type fakeWP struct {
	*httptest.Server
	prefix string // subdirectory install, "" or "/blog"

	mu       sync.Mutex
	hits     map[string]int
	requests []recorded
}

// recorded is what a handler saw, kept for assertions after the call.
type recorded struct {
	Method string
	Route  string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

type fakeOption func(*fakeWP, *bool)

// atPath installs the fake WordPress in a subdirectory.
func atPath(prefix string) fakeOption { return func(f *fakeWP, _ *bool) { f.prefix = prefix } }

// withTLS serves HTTPS with httptest's self-signed certificate.
func withTLS() fakeOption { return func(_ *fakeWP, useTLS *bool) { *useTLS = true } }

func newFakeWP(t *testing.T, handlers map[string]http.HandlerFunc, opts ...fakeOption) *fakeWP {
	t.Helper()
	f := &fakeWP{hits: map[string]int{}}
	useTLS := false
	for _, o := range opts {
		o(f, &useTLS)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		route, isREST := strings.CutPrefix(r.URL.Path, f.prefix+"/wp-json/")
		if !isREST {
			route = r.URL.Path
		}
		f.mu.Lock()
		f.hits[route]++
		f.requests = append(f.requests, recorded{Method: r.Method, Route: route, Path: r.URL.Path,
			Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
		f.mu.Unlock()

		if h, ok := handlers["*"]; ok {
			h(w, r)
			return
		}
		if h, ok := handlers[route]; ok && isREST {
			h(w, r)
			return
		}
		if isREST {
			writeWPError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
			return
		}
		htmlPage(w, http.StatusNotFound, "Page not found – Example Blog")
	})
	f.Server = httptest.NewUnstartedServer(h)
	// Refused handshakes are what several tests provoke; keep them quiet.
	f.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		f.StartTLS()
	} else {
		f.Start()
	}
	t.Cleanup(f.Close)
	return f
}

// SiteURL is the URL a user would enter for this WordPress.
func (f *fakeWP) SiteURL() string { return f.URL + f.prefix }

// Hits is how many requests reached route.
func (f *fakeWP) Hits(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[route]
}

// Total is how many requests reached the server.
func (f *fakeWP) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// Requests returns every request seen so far.
func (f *fakeWP) Requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// Last is the last request seen.
func (f *fakeWP) Last(t *testing.T) recorded {
	t.Helper()
	rs := f.Requests()
	if len(rs) == 0 {
		t.Fatal("the fake WordPress received no request")
	}
	return rs[len(rs)-1]
}

// writeJSON answers like WordPress does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	if s, ok := v.(string); ok {
		_, _ = io.WriteString(w, s)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// writeWPError writes WordPress's REST error JSON.
func writeWPError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "data": map[string]any{"status": status}})
}

// htmlPage writes the kind of page a theme, firewall or web server sends.
func htmlPage(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><title>%s</title></head><body><h1>%s</h1></body></html>\n", title, title)
}

// answerError answers every request with a fixed WordPress error.
func answerError(code int, wpCode, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeWPError(w, code, wpCode, message) }
}

// okJSON answers every request with v.
func okJSON(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, v) }
}

// sequence answers the nth request with handlers[n], repeating the last.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handlers[min(n, len(handlers)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// authed answers as WordPress does when the Basic credentials are absent
// (rest_not_logged_in, as when a host strips the header) or wrong.
func authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		switch {
		case !ok:
			writeWPError(w, http.StatusUnauthorized, "rest_not_logged_in", "You are not currently logged in.")
		case user != testUsername:
			writeWPError(w, http.StatusUnauthorized, "invalid_username", "<strong>Error:</strong> Unknown username. Check again or try your email address.")
		case pass != testPassword:
			writeWPError(w, http.StatusUnauthorized, "incorrect_password", "The provided password is an invalid application password.")
		default:
			h(w, r)
		}
	}
}

// capabilitiesByRole are WordPress's default role capabilities (a subset
// of each, plus the role name itself, as users/me reports them).
var capabilitiesByRole = map[string][]string{
	"administrator": {"switch_themes", "edit_themes", "activate_plugins", "edit_plugins", "edit_users", "manage_options",
		"moderate_comments", "manage_categories", "upload_files", "edit_posts", "edit_others_posts", "edit_published_posts",
		"publish_posts", "edit_pages", "read", "edit_others_pages", "edit_published_pages", "publish_pages", "delete_pages",
		"delete_posts", "list_users", "unfiltered_html"},
	"editor": {"moderate_comments", "manage_categories", "upload_files", "unfiltered_html", "edit_posts", "edit_others_posts",
		"edit_published_posts", "publish_posts", "edit_pages", "read", "edit_others_pages", "edit_published_pages",
		"publish_pages", "delete_pages", "delete_posts"},
	"author":      {"upload_files", "edit_posts", "edit_published_posts", "publish_posts", "read", "delete_posts", "delete_published_posts"},
	"contributor": {"edit_posts", "read", "delete_posts"},
}

// usersMe is users/me?context=edit for a user with role.
func usersMe(role string) map[string]any {
	caps := map[string]bool{role: true}
	for _, c := range capabilitiesByRole[role] {
		caps[c] = true
	}
	return map[string]any{
		"id": 7, "username": testUsername, "name": "Erin Editor", "first_name": "Erin", "last_name": "Editor",
		"email": "erin@example.com", "url": "", "description": "", "link": "https://example.com/author/editor/",
		"locale": "en_US", "nickname": "editor", "slug": "editor", "roles": []string{role},
		"registered_date": "2021-03-04T10:11:12+00:00", "capabilities": caps,
		"extra_capabilities": map[string]bool{role: true},
		"avatar_urls":        map[string]string{"24": "https://secure.gravatar.com/avatar/x?s=24", "48": "https://secure.gravatar.com/avatar/x?s=48"},
		"meta":               map[string]any{"persisted_preferences": []any{}},
		"_links":             map[string]any{"self": []any{map[string]string{"href": "https://example.com/wp-json/wp/v2/users/7"}}},
	}
}

// indexDoc is the REST index. WordPress sends "authentication": [] when no
// scheme is advertised (an empty PHP array).
func indexDoc(appPasswords bool, gmtOffset any) map[string]any {
	var auth any = []any{}
	if appPasswords {
		auth = map[string]any{"application-passwords": map[string]any{
			"endpoints": map[string]string{"authorization": "https://example.com/wp-admin/authorize-application.php"}}}
	}
	return map[string]any{
		"name": "Example Blog", "description": "Just another WordPress site",
		"url": "https://example.com", "home": "https://example.com",
		"gmt_offset": gmtOffset, "timezone_string": "Asia/Kolkata",
		"page_for_posts": 0, "page_on_front": 0, "show_on_front": "posts",
		"namespaces":     []string{"oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"},
		"authentication": auth,
		"routes": map[string]any{
			"/":            map[string]any{"namespace": "", "methods": []string{"GET"}},
			"/wp/v2/posts": map[string]any{"namespace": "wp/v2", "methods": []string{"GET", "POST"}},
		},
		"site_logo": 0, "site_icon": 0, "site_icon_url": "",
		"_links": map[string]any{"help": []any{map[string]string{"href": "https://developer.wordpress.org/rest-api/"}}},
	}
}

// typesJSON is wp/v2/types?context=edit of a WordPress 6.5 site with
// WooCommerce, trimmed, as a literal so member order is WordPress's.
const typesJSON = `{
 "post":{"capabilities":{"edit_post":"edit_post"},"description":"","hierarchical":false,"viewable":true,"labels":{"name":"Posts"},"name":"Posts","slug":"post","supports":{"title":true},"has_archive":false,"taxonomies":["category","post_tag"],"rest_base":"posts","rest_namespace":"wp/v2","_links":{}},
 "page":{"description":"","hierarchical":true,"viewable":true,"name":"Pages","slug":"page","has_archive":false,"taxonomies":[],"rest_base":"pages","rest_namespace":"wp/v2"},
 "attachment":{"description":"","hierarchical":false,"name":"Media","slug":"attachment","taxonomies":[],"rest_base":"media","rest_namespace":"wp/v2"},
 "nav_menu_item":{"description":"","hierarchical":false,"name":"Navigation Menu Items","slug":"nav_menu_item","taxonomies":["nav_menu"],"rest_base":"menu-items","rest_namespace":"wp/v2"},
 "wp_block":{"description":"","hierarchical":false,"name":"Patterns","slug":"wp_block","taxonomies":["wp_pattern_category"],"rest_base":"blocks","rest_namespace":"wp/v2"},
 "wp_template":{"description":"Templates to include in your theme.","hierarchical":false,"name":"Templates","slug":"wp_template","taxonomies":[],"rest_base":"templates","rest_namespace":"wp/v2"},
 "wp_template_part":{"description":"","hierarchical":false,"name":"Template Parts","slug":"wp_template_part","taxonomies":[],"rest_base":"template-parts","rest_namespace":"wp/v2"},
 "wp_global_styles":{"description":"","hierarchical":false,"name":"Global Styles","slug":"wp_global_styles","taxonomies":[],"rest_base":"global-styles","rest_namespace":"wp/v2"},
 "wp_navigation":{"description":"","hierarchical":false,"name":"Navigation Menus","slug":"wp_navigation","taxonomies":[],"rest_base":"navigation","rest_namespace":"wp/v2"},
 "wp_font_family":{"description":"","hierarchical":false,"name":"Font Families","slug":"wp_font_family","taxonomies":[],"rest_base":"font-families","rest_namespace":"wp/v2"},
 "wp_font_face":{"description":"","hierarchical":false,"name":"Font Faces","slug":"wp_font_face","taxonomies":[],"rest_base":"font-families/(?P<font_family_id>[\\d]+)/font-faces","rest_namespace":"wp/v2"},
 "product":{"description":"This is where you can browse products in this store.","hierarchical":false,"name":"Products","slug":"product","taxonomies":["product_cat","product_tag"],"rest_base":"product","rest_namespace":"wp/v2"},
 "legacy_thing":{"description":"","hierarchical":false,"name":"Legacy","slug":"legacy_thing","taxonomies":[],"rest_base":false},
 "book":{"description":"","hierarchical":true,"name":"Books","slug":"book","taxonomies":["genre"],"rest_base":"books"}
}`

// taxonomiesJSON is wp/v2/taxonomies?context=edit, in WordPress's order.
const taxonomiesJSON = `{
 "category":{"name":"Categories","slug":"category","description":"","types":["post"],"hierarchical":true,"rest_base":"categories","rest_namespace":"wp/v2","show_cloud":true,"capabilities":{"manage_terms":"manage_categories"}},
 "post_tag":{"name":"Tags","slug":"post_tag","description":"","types":["post"],"hierarchical":false,"rest_base":"tags","rest_namespace":"wp/v2"},
 "nav_menu":{"name":"Navigation Menus","slug":"nav_menu","description":"","types":["nav_menu_item"],"hierarchical":false,"rest_base":"menus","rest_namespace":"wp/v2"},
 "wp_pattern_category":{"name":"Pattern Categories","slug":"wp_pattern_category","description":"","types":["wp_block"],"hierarchical":false,"rest_base":"wp_pattern_category","rest_namespace":"wp/v2"},
 "product_cat":{"name":"Product categories","slug":"product_cat","description":"","types":["product"],"hierarchical":true,"rest_base":"product_cat","rest_namespace":"wp/v2"},
 "genre":{"name":"Genres","slug":"genre","description":"","types":["book"],"hierarchical":false,"rest_base":"genre"}
}`

// sleeps records the waits the client asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// testNow is the injected clock.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testOptions are fast and deterministic: no real sleeps, jitter fixed at
// one half, a fixed clock, loopback allowed for httptest.
func testOptions(s *sleeps) Options {
	return Options{
		Policy:  ssrf.Policy{AllowLoopback: true},
		Timeout: 5 * time.Second,
		Sleep:   s.sleep,
		Rand:    func() float64 { return 0.5 },
		Now:     func() time.Time { return testNow },
	}
}

// newClient builds a test client for siteURL; mutate adjusts options.
func newClient(t *testing.T, siteURL string, mutate ...func(*Options)) (*Client, *sleeps) {
	t.Helper()
	s := &sleeps{}
	opts := testOptions(s)
	for _, m := range mutate {
		m(&opts)
	}
	c, err := New(siteURL, testCreds, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", siteURL, err)
	}
	return c, s
}

// dialEverythingTo is a transport that sends every host to addr, so tests
// can use real-looking host names (redirects between www and apex, wrong
// certificate names) without DNS. It bypasses the SSRF guard.
func dialEverythingTo(addr string, base *http.Transport) *http.Transport {
	t := base.Clone()
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// mustCode fails unless err is an *Error with code.
func mustCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want *Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s, want %s; error: %v", e.Code, code, err)
	}
	return e
}
