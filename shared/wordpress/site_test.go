package wordpress

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/ssrf"
)

// barrier makes each handler wait until n requests are in flight, so a
// test fails (after a short wait) if the client sends them one by one.
func barrier(t *testing.T, n int) func(http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			arrived++
			if arrived == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-time.After(time.Second):
				t.Errorf("%s waited alone: the requests were not sent concurrently", r.URL.Path)
			}
			h(w, r)
		}
	}
}

func TestConnectionReadsUserAndSiteInTwoConcurrentRequests(t *testing.T) {
	together := barrier(t, 2)
	f := newFakeWP(t, map[string]http.HandlerFunc{
		"wp/v2/users/me": together(authed(okJSON(usersMe("editor")))),
		"":               together(okJSON(indexDoc(true, "5.5"))),
	})
	c, _ := newClient(t, f.SiteURL())
	conn, err := c.TestConnection(context.Background())
	if err != nil {
		t.Fatalf("TestConnection: %v", err)
	}
	if f.Total() != 2 || f.Hits("wp/v2/users/me") != 1 || f.Hits("") != 1 {
		t.Errorf("requests: %d total, users/me %d, index %d; want exactly one each", f.Total(), f.Hits("wp/v2/users/me"), f.Hits(""))
	}
	for _, r := range f.Requests() {
		if r.Route == "wp/v2/users/me" && r.Query.Get("context") != "edit" {
			t.Errorf("users/me query = %v, want context=edit", r.Query)
		}
	}

	u := conn.User
	if u.ID != 7 || u.Name != "Erin Editor" || u.Username != "editor" || u.Slug != "editor" || !slices.Equal(u.Roles, []string{"editor"}) {
		t.Errorf("User = %+v", u)
	}
	wantCaps := map[string]bool{"publish_posts": true, "upload_files": true, "manage_categories": true, "edit_posts": true,
		"edit_others_posts": true, "edit_pages": true, "publish_pages": true}
	if len(u.Capabilities) != len(wantCaps) {
		t.Errorf("Capabilities = %v, want only %v", u.Capabilities, wantCaps)
	}
	for k, v := range wantCaps {
		if u.Capabilities[k] != v {
			t.Errorf("Capabilities[%s] = %v, want %v", k, u.Capabilities[k], v)
		}
	}

	s := conn.Site
	if s.Name != "Example Blog" || s.Description != "Just another WordPress site" || s.URL != "https://example.com" ||
		s.Home != "https://example.com" || s.GMTOffset != 5.5 || s.TimezoneString != "Asia/Kolkata" || !s.ApplicationPasswords ||
		!slices.Contains(s.Namespaces, "wp/v2") {
		t.Errorf("Site = %+v", s)
	}
}

func TestConnectionReadsGMTOffsetAsNumberOrString(t *testing.T) {
	tests := []struct {
		raw  any
		want float64
	}{
		{5.5, 5.5}, {"5.5", 5.5}, {-3, -3}, {"-3", -3}, {"0", 0}, {"", 0}, {0, 0}, {"-9.5", -9.5}, {12.75, 12.75},
	}
	for _, tt := range tests {
		f := newFakeWP(t, map[string]http.HandlerFunc{
			"wp/v2/users/me": okJSON(usersMe("administrator")),
			"":               okJSON(indexDoc(true, tt.raw)),
		})
		c, _ := newClient(t, f.SiteURL())
		conn, err := c.TestConnection(context.Background())
		if err != nil {
			t.Fatalf("gmt_offset %#v: %v", tt.raw, err)
		}
		if conn.Site.GMTOffset != tt.want {
			t.Errorf("gmt_offset %#v read as %v, want %v", tt.raw, conn.Site.GMTOffset, tt.want)
		}
	}
}

func TestConnectionDiagnoses(t *testing.T) {
	notLoggedIn := answerError(401, "rest_not_logged_in", "You are not currently logged in.")
	tests := []struct {
		name     string
		me       http.HandlerFunc
		index    http.HandlerFunc
		policy   *ssrf.Policy
		code     string
		msgHas   []string
		hintHas  []string
		wantUser bool // the Connection carries the user despite the error
		wantSite bool
	}{
		{
			name: "not logged in and the site offers no Application Passwords",
			me:   notLoggedIn, index: okJSON(indexDoc(false, 0)),
			code:     CodeApplicationPasswordsOff,
			msgHas:   []string{"does not offer Application Passwords", "uses http://"},
			hintHas:  []string{"HTTPS", "wp_is_application_passwords_available"},
			wantSite: true,
		},
		{
			name: "not logged in although Application Passwords are on: wrong password or stripped header",
			me:   notLoggedIn, index: okJSON(indexDoc(true, 0)),
			code:     CodeAuthFailed,
			msgHas:   []string{"username or Application Password is wrong", "strips the Authorization header"},
			hintHas:  []string{"SetEnvIf Authorization", "E=HTTP_AUTHORIZATION"},
			wantSite: true,
		},
		{
			name:  "wrong password, and the index failed too",
			me:    answerError(401, "incorrect_password", "The provided password is an invalid application password."),
			index: answerError(500, "oops", "Oops"),
			code:  CodeAuthFailed,
		},
		{
			name: "contributor cannot publish",
			me:   okJSON(usersMe("contributor")), index: okJSON(indexDoc(true, 0)),
			code:     CodeInsufficientCapabilities,
			msgHas:   []string{`"editor"`, "contributor", "publish_posts"},
			hintHas:  []string{"Editor or Administrator"},
			wantUser: true, wantSite: true,
		},
		{
			name: "users/me works but the index fails",
			me:   okJSON(usersMe("editor")), index: answerError(500, "internal_server_error", "Critical error"),
			code:     CodeServerError,
			wantUser: true,
		},
		{
			name:    "permalinks Plain: the index is the home page, users/me a 404 page",
			me:      func(w http.ResponseWriter, r *http.Request) { htmlPage(w, 404, "Page not found – Example Blog") },
			index:   func(w http.ResponseWriter, r *http.Request) { htmlPage(w, 200, "Example Blog") },
			code:    CodeNotJSON,
			hintHas: []string{"Permalinks"},
		},
		{
			name:     "a security plugin blocks only the users endpoint",
			me:       func(w http.ResponseWriter, r *http.Request) { htmlPage(w, 403, "403 Forbidden") },
			index:    okJSON(indexDoc(true, 0)),
			code:     CodeForbidden,
			wantSite: true,
		},
		{
			name: "REST API disabled everywhere",
			me:   answerError(404, "rest_no_route", "No route"), index: answerError(404, "rest_no_route", "No route"),
			code:   CodeRESTDisabled,
			msgHas: []string{"/wp-json/:"},
		},
		{
			name:     "Application Passwords disabled for the user",
			me:       answerError(401, "application_passwords_disabled_for_user", "Application passwords are not available for your account."),
			index:    okJSON(indexDoc(true, 0)),
			code:     CodeApplicationPasswordsOff,
			wantSite: true,
		},
		{
			name: "unreachable: both fail the same way, reported once",
			me:   okJSON(usersMe("editor")), index: okJSON(indexDoc(true, 0)),
			policy: &ssrf.Policy{},
			code:   CodeForbiddenAddress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/users/me": tt.me, "": tt.index})
			c, _ := newClient(t, f.SiteURL(), func(o *Options) {
				o.MaxAttempts = 1 // retries are TestRetries' business
				if tt.policy != nil {
					o.Policy = *tt.policy
				}
			})
			conn, err := c.TestConnection(context.Background())
			e := mustCode(t, err, tt.code)
			for _, s := range tt.msgHas {
				if !strings.Contains(e.Message, s) {
					t.Errorf("Message %q lacks %q", e.Message, s)
				}
			}
			for _, s := range tt.hintHas {
				if !strings.Contains(e.Hint, s) {
					t.Errorf("Hint %q lacks %q", e.Hint, s)
				}
			}
			if got := conn.User.ID != 0; got != tt.wantUser {
				t.Errorf("Connection has user: %v, want %v (%+v)", got, tt.wantUser, conn.User)
			}
			if got := conn.Site.Name != ""; got != tt.wantSite {
				t.Errorf("Connection has site: %v, want %v (%+v)", got, tt.wantSite, conn.Site)
			}
			wantRequests := 2
			if tt.policy != nil {
				wantRequests = 0 // refused before connecting
			}
			if f.Total() != wantRequests {
				t.Errorf("requests = %d, want %d", f.Total(), wantRequests)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestTypes(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/types": okJSON(typesJSON)})
	c, _ := newClient(t, f.SiteURL())
	types, err := c.Types(context.Background())
	if err != nil {
		t.Fatalf("Types: %v", err)
	}
	want := []PostType{
		{Slug: "post", Name: "Posts", RESTBase: "posts", RESTNamespace: "wp/v2", Taxonomies: []string{"category", "post_tag"}},
		{Slug: "page", Name: "Pages", RESTBase: "pages", RESTNamespace: "wp/v2", Hierarchical: true, Taxonomies: []string{}},
		{Slug: "product", Name: "Products", RESTBase: "product", RESTNamespace: "wp/v2", Taxonomies: []string{"product_cat", "product_tag"}},
		{Slug: "book", Name: "Books", RESTBase: "books", RESTNamespace: "wp/v2", Hierarchical: true, Taxonomies: []string{"genre"}},
	}
	if !slices.EqualFunc(types, want, func(a, b PostType) bool {
		return a.Slug == b.Slug && a.Name == b.Name && a.RESTBase == b.RESTBase && a.RESTNamespace == b.RESTNamespace &&
			a.Hierarchical == b.Hierarchical && slices.Equal(a.Taxonomies, b.Taxonomies)
	}) {
		t.Errorf("Types =\n%+v\nwant (in WordPress's order, internal types and those without rest_base left out)\n%+v", types, want)
	}
	if q := f.Last(t).Query; q.Get("context") != "edit" {
		t.Errorf("query = %v, want context=edit", q)
	}
}

func TestTaxonomies(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/taxonomies": okJSON(taxonomiesJSON)})
	c, _ := newClient(t, f.SiteURL())
	taxonomies, err := c.Taxonomies(context.Background())
	if err != nil {
		t.Fatalf("Taxonomies: %v", err)
	}
	var slugs []string
	for _, tx := range taxonomies {
		slugs = append(slugs, tx.Slug)
	}
	if !slices.Equal(slugs, []string{"category", "post_tag", "product_cat", "genre"}) {
		t.Errorf("slugs = %v, want category, post_tag, product_cat, genre", slugs)
	}
	cat := taxonomies[0]
	if cat.Name != "Categories" || cat.RESTBase != "categories" || !cat.Hierarchical || !slices.Equal(cat.Types, []string{"post"}) {
		t.Errorf("category = %+v", cat)
	}
	if q := f.Last(t).Query; q.Get("context") != "edit" {
		t.Errorf("query = %v, want context=edit", q)
	}
}

func TestTypesAndTaxonomiesReportBadShapes(t *testing.T) {
	for _, body := range []string{`[]`, `{"post":"not an object"}`, `[1]`} {
		f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/types": okJSON(body), "wp/v2/taxonomies": okJSON(body)})
		c, _ := newClient(t, f.SiteURL())
		types, err := c.Types(context.Background())
		if body == `[]` {
			// An empty PHP array: no types, not an error.
			if err != nil || len(types) != 0 {
				t.Errorf("Types on %s = %v, %v; want none", body, types, err)
			}
			continue
		}
		mustCode(t, err, CodeInvalidResponse)
		_, err = c.Taxonomies(context.Background())
		mustCode(t, err, CodeInvalidResponse)
	}
}

func TestCollectionTotal(t *testing.T) {
	t.Run("reads X-WP-Total from a one-item page", func(t *testing.T) {
		f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/books": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-WP-Total", "42")
			w.Header().Set("X-WP-TotalPages", "42")
			writeJSON(w, 200, `[{"id":1}]`)
		}})
		c, _ := newClient(t, f.SiteURL())
		total, err := c.CollectionTotal(context.Background(), "books")
		if err != nil || total != 42 {
			t.Fatalf("CollectionTotal = %d, %v; want 42", total, err)
		}
		q := f.Last(t).Query
		if q.Get("per_page") != "1" || q.Get("context") != "edit" || q.Get("_fields") != "id" {
			t.Errorf("query = %v, want per_page=1&context=edit&_fields=id", q)
		}
	})

	t.Run("missing header", func(t *testing.T) {
		f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": okJSON(`[{"id":1}]`)})
		c, _ := newClient(t, f.SiteURL())
		_, err := c.CollectionTotal(context.Background(), "posts")
		e := mustCode(t, err, CodeInvalidResponse)
		if !strings.Contains(e.Message, "X-WP-Total") {
			t.Errorf("Message = %q, want it to name X-WP-Total", e.Message)
		}
	})

	t.Run("collection names are validated before any request", func(t *testing.T) {
		f := newFakeWP(t, nil)
		c, _ := newClient(t, f.SiteURL())
		for _, bad := range []string{"", "../users", "wp/v2/posts", "Posts", "posts?status=any", "a b", strings.Repeat("a", 65)} {
			_, err := c.CollectionTotal(context.Background(), bad)
			mustCode(t, err, CodeInvalidCollection)
		}
		if f.Total() != 0 {
			t.Errorf("requests = %d, want 0", f.Total())
		}
	})

	t.Run("the site's error comes through", func(t *testing.T) {
		f := newFakeWP(t, nil) // no such route: rest_no_route
		c, _ := newClient(t, f.SiteURL())
		_, err := c.CollectionTotal(context.Background(), "books")
		e := mustCode(t, err, CodeNotFound)
		if !strings.Contains(e.Message, "/wp-json/wp/v2/books") {
			t.Errorf("Message = %q, want it to name the route", e.Message)
		}
		_, err = c.CollectionTotal(context.Background(), "posts")
		mustCode(t, err, CodeRESTDisabled)
	})
}
