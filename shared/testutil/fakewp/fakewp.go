// Package fakewp is an httptest WordPress for fast tests: it answers the
// REST routes the service uses with the shapes WordPress 6.x returns, checks
// Basic auth against one Application Password as WordPress does (wrong
// credentials are treated as anonymous), counts requests, and can be switched
// into the failure modes real sites show (REST blocked, Authorization header
// stripped, Application Passwords off…). Every behaviour the service relies
// on is also proven against a real WordPress in the end-to-end tier.
//
// The site starts with synthetic collection counts (12 posts, 3 pages and 4
// products, see SetCount) for the connection tests. Seeding content (AddPost,
// AddPosts, AddTerm, AddMedia), creating any over REST, or calling
// UseContentModel switches the post types to an in-memory content model
// (content.go) that follows WordPress's rules: one ID sequence for posts,
// pages, products and media; slugs made unique with -2, -3…; trashed slugs
// suffixed __trashed; site-local post_modified for modified_after; default
// category; scheduled posts published by "cron" without a new modified date;
// term_exists; media uploads checked as wp_handle_sideload does.
//
// Faults (faults.go) inject latency, error answers, truncated bodies and
// dropped connections, before or after the site did the work.
package fakewp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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

// Site is the fake WordPress. All its methods are safe for concurrent use.
type Site struct {
	*httptest.Server
	Username, Password string

	mu       sync.Mutex
	mode     Mode
	counts   map[string]int // collection rest_base → items (synthetic)
	requests map[string]int // path → requests
	byMethod map[string]int // "METHOD path" → requests
	log      []Recorded
	total    int

	// Content model (content.go).
	modelled   bool
	clock      func() time.Time
	gmtOffset  float64 // hours
	offsetSet  bool
	records    map[int64]*record
	bySlug     map[string]map[int64]*record
	terms      map[int64]*Term
	nextPostID int64
	nextTermID int64
	futures    map[int64]bool
	creates    map[string]int
	// gen counts inserts and removes; sortCache holds list orders made
	// at a generation (rest.go).
	gen       uint64
	sortCache map[string]sortedRecords
	// inFlight and maxInFlight count requests being served at once.
	inFlight, maxInFlight int

	// The IGNY8 companion plugin (plugin.go).
	plugin *pluginState

	// Faults (faults.go).
	latency   time.Duration
	faults    []*Fault
	hooks     []func(http.ResponseWriter, *http.Request) bool
	onCreated []func(typ string, p Post)
}

// New starts a healthy site with the given admin credentials, synthetic
// counts of 12 posts, 3 pages and 4 products, and an empty content model
// holding only the "Uncategorized" category (term 1) every WordPress has.
// It is closed when the test ends.
func New(t testing.TB) *Site {
	t.Helper()
	s := &Site{
		Username:   "admin",
		Password:   "abcd EFGH ijkl MNOP qrst UVWX",
		counts:     map[string]int{"posts": 12, "pages": 3, "products": 4},
		requests:   map[string]int{},
		byMethod:   map[string]int{},
		clock:      time.Now,
		gmtOffset:  2,
		records:    map[int64]*record{},
		bySlug:     map[string]map[int64]*record{},
		terms:      map[int64]*Term{},
		nextPostID: 1,
		nextTermID: 1,
		futures:    map[int64]bool{},
		creates:    map[string]int{},
		sortCache:  map[string]sortedRecords{},
	}
	s.insertTerm(&Term{Taxonomy: "category", Name: "Uncategorized", Slug: "uncategorized"})
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

// SetCount sets how many items a collection reports while the site has no
// content model (see UseContentModel); once it has one, the post types
// report what is stored and SetCount only matters for other collections.
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

// RequestsMatching is the number of requests with the method ("" for any)
// whose path starts with pathPrefix, either as sent or without the
// subdirectory in front of /wp-json: "/wp-json/wp/v2/posts" counts the
// list, every single post and every subdirectory install's.
func (s *Site) RequestsMatching(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.byMethod {
		m, p, _ := strings.Cut(k, " ")
		if method != "" && !strings.EqualFold(method, m) {
			continue
		}
		if strings.HasPrefix(p, pathPrefix) || strings.HasPrefix(stripSubdir(p), pathPrefix) {
			n += c
		}
	}
	return n
}

// Recorded is one request the site received.
type Recorded struct {
	Method string
	// Path is the URL path as sent; Route the part after /wp-json ("/wp/v2/posts"), "" outside the REST API.
	Path, Route string
	Query       url.Values
}

// MaxInFlight is the most requests the site has served at the same time
// (a request counts from its arrival until its handler returns).
func (s *Site) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// RequestLog lists the requests received since the last reset, in order.
func (s *Site) RequestLog() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Recorded, len(s.log))
	copy(out, s.log)
	return out
}

// ResetRequests zeroes the request counters and the request log.
func (s *Site) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total, s.requests, s.byMethod, s.log = 0, map[string]int{}, map[string]int{}, nil
}

// stripSubdir drops whatever is in front of /wp-json.
func stripSubdir(p string) string {
	if i := strings.Index(p, "/wp-json"); i > 0 {
		return p[i:]
	}
	return p
}

// restRoute splits a path into the subdirectory and the REST route
// (without a trailing slash, as WordPress matches routes); ok is false
// outside /wp-json.
func restRoute(p string) (prefix, route string, ok bool) {
	i := strings.Index(p, "/wp-json")
	if i < 0 {
		return "", "", false
	}
	route = p[i+len("/wp-json"):]
	if route != "/" {
		route = strings.TrimSuffix(route, "/")
	}
	if route == "" {
		route = "/"
	}
	return p[:i], route, true
}

func (s *Site) serve(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	_, route, _ := restRoute(r.URL.Path)
	s.mu.Lock()
	s.total++
	s.requests[r.URL.Path]++
	s.byMethod[r.Method+" "+r.URL.Path]++
	s.log = append(s.log, Recorded{Method: r.Method, Path: r.URL.Path, Route: route, Query: r.URL.Query()})
	latency := s.latency
	hooks := append([]func(http.ResponseWriter, *http.Request) bool(nil), s.hooks...)
	faulty := len(s.faults) > 0
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	// The site answers latency after the request arrived, its own work
	// included, as a host whose response time is latency would.
	answerAt := func() bool {
		t := time.NewTimer(time.Until(arrived.Add(latency)))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			return false
		}
	}
	if len(hooks) > 0 || faulty {
		if latency > 0 && !answerAt() {
			return
		}
		for _, h := range hooks {
			if h(w, r) {
				return
			}
		}
		if f := s.takeFault(r); f != nil {
			s.applyFault(w, r, f)
			return
		}
		s.handle(w, r)
		return
	}
	if latency <= 0 {
		s.handle(w, r)
		return
	}
	var answer bufferedAnswer
	s.handle(&answer, r)
	if !answerAt() {
		return
	}
	answer.writeTo(w)
}

// bufferedAnswer holds an answer until the site's latency has passed.
type bufferedAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedAnswer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedAnswer) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(max(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}

// handle answers one request as the site would.
func (s *Site) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	mode := s.mode
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
	prefix, route, ok := restRoute(r.URL.Path)
	if !ok {
		s.servePage(w, r)
		return
	}
	authed := s.authenticated(r, mode)
	req := &apiRequest{r: r, route: route, base: s.URL + prefix, authed: authed, canEdit: authed && mode != Subscriber, method: r.Method}
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" && r.Method == http.MethodPost {
		req.method = strings.ToUpper(o)
	} else if o := r.URL.Query().Get("_method"); o != "" && r.Method == http.MethodPost {
		req.method = strings.ToUpper(o)
	}
	switch {
	case route == "/":
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
	case route == "/igny8/v1/config":
		s.servePluginConfig(w, req)
	default:
		if s.serveContent(w, req) {
			return
		}
		s.serveSynthetic(w, req)
	}
}

// serveSynthetic answers a collection from its SetCount number, with
// items that carry only an id.
func (s *Site) serveSynthetic(w http.ResponseWriter, req *apiRequest) {
	s.mu.Lock()
	n, ok := s.counts[strings.TrimPrefix(req.route, "/wp/v2/")]
	s.mu.Unlock()
	base := strings.TrimPrefix(req.route, "/wp/v2/")
	if !ok || strings.Contains(base, "/") || !strings.HasPrefix(req.route, "/wp/v2/") || req.method != http.MethodGet {
		noRoute(w)
		return
	}
	q := req.r.URL.Query()
	if q.Get("context") == "edit" && !req.authed {
		wpError(w, http.StatusUnauthorized, "rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type.")
		return
	}
	w.Header().Set("X-WP-Total", fmt.Sprint(n))
	perPage := 10
	fmt.Sscan(q.Get("per_page"), &perPage)
	w.Header().Set("X-WP-TotalPages", fmt.Sprint((n+perPage-1)/max(perPage, 1)))
	items := []map[string]any{}
	for i := 0; i < min(n, perPage); i++ {
		items = append(items, map[string]any{"id": i + 1})
	}
	writeJSON(w, http.StatusOK, items)
}

// servePage answers a non-REST URL: an uploaded file, or the home page.
func (s *Site) servePage(w http.ResponseWriter, r *http.Request) {
	if i := strings.Index(r.URL.Path, "/wp-content/uploads/"); i >= 0 {
		file := r.URL.Path[i+len("/wp-content/uploads/"):]
		s.mu.Lock()
		var data []byte
		var mimeType string
		found := false
		for _, rec := range s.records {
			if rec.typ == attachmentType && rec.file == file {
				data, mimeType, found = rec.data, rec.mime, true
				break
			}
		}
		s.mu.Unlock()
		if !found {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<html><body><h1>Page not found</h1></body></html>")
			return
		}
		w.Header().Set("Content-Type", mimeType)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, "<html><body>Home</body></html>")
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
	s.mu.Lock()
	offset, tz := strconv.FormatFloat(s.gmtOffset, 'f', -1, 64), "Europe/Berlin"
	if s.offsetSet {
		tz = "" // a manual UTC offset, as Settings → General stores it
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"name": "Fake Blog", "description": "Just another WordPress site",
		"url": s.URL, "home": s.URL, "gmt_offset": offset, "timezone_string": tz,
		"namespaces":     s.namespaces(),
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

// errorBody is WordPress's error JSON, in its key order.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

func wpError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{code, message, map[string]any{"status": status}})
}

func noRoute(w http.ResponseWriter) {
	wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
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
