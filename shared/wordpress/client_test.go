package wordpress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/ssrf"
)

func TestNewNormalisesTheSiteURL(t *testing.T) {
	tests := []struct {
		in, want string // want "" means invalid_site_url
	}{
		{"https://example.com", "https://example.com"},
		{"https://Example.COM/", "https://example.com"},
		{"  HTTPS://example.com:443/blog/  ", "https://example.com/blog"},
		{"http://example.com:80", "http://example.com"},
		{"http://127.0.0.1:8080/wp/", "http://127.0.0.1:8080/wp"},
		{"https://example.com/blog/wp-json/", "https://example.com/blog"},
		{"https://example.com/wp-admin", "https://example.com"},
		{"https://example.com/?p=1#top", "https://example.com"},
		{"https://[::1]:8443/", "https://[::1]:8443"},
		{"example.com", "https://example.com"},
		{"ftp://example.com", ""},
		{"https://admin:secret@example.com", ""},
		{"https://", ""},
		{"", ""},
	}
	for _, tt := range tests {
		c, err := New(tt.in, testCreds, Options{})
		if tt.want == "" {
			e := mustCode(t, err, CodeInvalidSiteURL)
			if strings.Contains(e.Error(), "secret") {
				t.Errorf("New(%q) repeats the password: %v", tt.in, e)
			}
			continue
		}
		if err != nil || c.SiteURL() != tt.want {
			t.Errorf("New(%q).SiteURL() = %v; want %q", tt.in, err, tt.want)
		}
	}
	if _, err := New("https://example.com", Credentials{Username: "x"}, Options{}); CodeOf(err) != CodeInvalidRequest {
		t.Errorf("New without a password = %v, want invalid_request", err)
	}
}

func TestEveryRequestCarriesAuthAcceptAndUserAgent(t *testing.T) {
	tests := []struct {
		name      string
		userAgent string
		wantUA    string
	}{
		{"default user agent", "", "IGNY8-Integrations/1.0 (+https://igny8.com)"},
		{"custom user agent", "IGNY8-Test/2", "IGNY8-Test/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/users/me": authed(okJSON(usersMe("editor")))})
			c, _ := newClient(t, f.SiteURL(), func(o *Options) { o.UserAgent = tt.userAgent })
			var me struct{ ID int64 }
			if _, err := c.Get(context.Background(), "wp/v2/users/me", nil, &me); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if me.ID != 7 {
				t.Errorf("decoded id = %d, want 7", me.ID)
			}
			r := f.Last(t)
			user, pass, ok := (&http.Request{Header: r.Header}).BasicAuth()
			if !ok || user != testUsername || pass != testPassword {
				t.Errorf("Basic auth = %q/%q (ok %v), want the credentials exactly as given, spaces included", user, pass, ok)
			}
			if got := r.Header.Get("User-Agent"); got != tt.wantUA {
				t.Errorf("User-Agent = %q, want %q", got, tt.wantUA)
			}
			if got := r.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q, want application/json", got)
			}
		})
	}
}

func TestSubdirectoryInstallUsesItsOwnRESTRoot(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/users/me": okJSON(usersMe("editor")), "": okJSON(indexDoc(true, 0))}, atPath("/blog"))
	c, _ := newClient(t, f.SiteURL()+"/") // as typed, with a trailing slash
	if _, err := c.Get(context.Background(), "wp/v2/users/me", nil, nil); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got := f.Last(t).Path; got != "/blog/wp-json/wp/v2/users/me" {
		t.Errorf("path = %q, want /blog/wp-json/wp/v2/users/me", got)
	}
	if _, err := c.Get(context.Background(), "", nil, nil); err != nil {
		t.Fatalf("Get index: %v", err)
	}
	if got := f.Last(t).Path; got != "/blog/wp-json/" {
		t.Errorf("index path = %q, want /blog/wp-json/", got)
	}
}

func TestCacheBustOnlyWhenAsked(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": okJSON([]any{})})
	c, _ := newClient(t, f.SiteURL(), func(o *Options) { o.Now = time.Now })
	for _, bust := range []bool{true, false} {
		_, err := c.Do(context.Background(), Request{Path: "wp/v2/posts", Query: map[string][]string{"status": {"publish"}}, CacheBust: bust})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		q := f.Last(t).Query
		if q["status"][0] != "publish" {
			t.Errorf("the caller's query was lost: %v", q)
		}
		v, present := q[CacheBustParam]
		if present != bust {
			t.Fatalf("CacheBust %v: query %v", bust, q)
		}
		if bust {
			nanos, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil || time.Since(time.Unix(0, nanos)).Abs() > time.Minute {
				t.Errorf("%s = %q, want current unix nanos", CacheBustParam, v[0])
			}
		}
	}
}

func TestJSONBodyIsSentAsJSON(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, `{"id":101,"slug":"hello-world-2","status":"draft"}`)
	}})
	c, _ := newClient(t, f.SiteURL())
	var created struct {
		ID   int64
		Slug string
	}
	resp, err := c.Do(context.Background(), Request{Method: "post", Path: "wp/v2/posts",
		Body: map[string]string{"title": "Hello world", "status": "draft"}, Out: &created})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	r := f.Last(t)
	if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.Body != `{"status":"draft","title":"Hello world"}` {
		t.Errorf("request = %s %q %s", r.Method, r.Header.Get("Content-Type"), r.Body)
	}
	if resp.StatusCode != 201 || created.ID != 101 || created.Slug != "hello-world-2" {
		t.Errorf("response %d, decoded %+v", resp.StatusCode, created)
	}
}

func TestMediaUploadSendsRawBodyWithItsHeaders(t *testing.T) {
	image := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1000)
	tests := []struct {
		name string
		body io.Reader
	}{
		{"seekable reader", bytes.NewReader(image)},
		{"stream, buffered", io.MultiReader(bytes.NewReader(image[:10]), bytes.NewReader(image[10:]))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var contentLength int64
			f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/media": func(w http.ResponseWriter, r *http.Request) {
				contentLength = r.ContentLength
				writeJSON(w, 201, `{"id":55,"source_url":"https://example.com/wp-content/uploads/2025/06/cover.png"}`)
			}})
			c, _ := newClient(t, f.SiteURL())
			_, err := c.Do(context.Background(), Request{Method: "POST", Path: "wp/v2/media", RawBody: tt.body, ContentType: "image/png",
				Headers: http.Header{"Content-Disposition": {`attachment; filename="cover.png"`}}})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			r := f.Last(t)
			if r.Body != string(image) || r.Header.Get("Content-Type") != "image/png" ||
				r.Header.Get("Content-Disposition") != `attachment; filename="cover.png"` {
				t.Errorf("upload arrived as %d bytes, %q, %q", len(r.Body), r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
			}
			// PHP's built-in server and some hosts reject chunked uploads.
			if contentLength != int64(len(image)) {
				t.Errorf("Content-Length = %d, want %d", contentLength, len(image))
			}
		})
	}
}

func TestResponseSizeCap(t *testing.T) {
	const limit = 1000
	body := func(n int) string { return `"` + strings.Repeat("x", n-2) + `"` }
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr bool
	}{
		{"exactly the limit", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body(limit)) }, false},
		{"one byte over, streamed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body(limit/2))
			w.(http.Flusher).Flush() // no Content-Length: chunked
			_, _ = io.WriteString(w, body(limit/2+1))
		}, true},
		{"declared too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(limit+1))
			_, _ = io.WriteString(w, body(limit+1))
		}, true},
		{"error page over the limit", func(w http.ResponseWriter, r *http.Request) { htmlPage(w, 500, strings.Repeat("y", limit)) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": tt.handler})
			c, _ := newClient(t, f.SiteURL(), func(o *Options) { o.MaxResponseBytes = limit })
			resp, err := c.Get(context.Background(), "wp/v2/posts", nil, nil)
			if !tt.wantErr {
				if err != nil || len(resp.Body) != limit {
					t.Fatalf("Get = %v, body %d bytes; want success with %d", err, len(resp.Body), limit)
				}
				return
			}
			mustCode(t, err, CodeResponseTooLarge)
			if f.Total() != 1 {
				t.Errorf("requests = %d; a too-large answer is not retried", f.Total())
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	t.Run("GET follows a same-site redirect and keeps credentials", func(t *testing.T) {
		f := newFakeWP(t, map[string]http.HandlerFunc{
			"wp/v2/posts": func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/wp-json/wp/v2/posts-new", http.StatusMovedPermanently)
			},
			"wp/v2/posts-new": authed(okJSON([]any{map[string]int{"id": 1}})),
		})
		c, _ := newClient(t, f.SiteURL())
		resp, err := c.Get(context.Background(), "wp/v2/posts", nil, nil)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !strings.HasSuffix(resp.FinalURL, "/wp-json/wp/v2/posts-new") {
			t.Errorf("FinalURL = %q", resp.FinalURL)
		}
	})

	t.Run("https to http is refused", func(t *testing.T) {
		plain := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON([]any{})})
		secure := newFakeWP(t, map[string]http.HandlerFunc{"*": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusMovedPermanently)
		}}, withTLS())
		c, _ := newClient(t, secure.SiteURL(), func(o *Options) { o.Transport = secure.Client().Transport })
		_, err := c.Get(context.Background(), "wp/v2/posts", nil, nil)
		e := mustCode(t, err, CodeRedirected)
		if !strings.Contains(e.Message, "https to plain http") {
			t.Errorf("Message = %q", e.Message)
		}
		if plain.Total() != 0 {
			t.Errorf("the http site got %d requests; credentials must not travel in clear", plain.Total())
		}
	})

	t.Run("a redirect to another host that drops credentials names the real address", func(t *testing.T) {
		f := newFakeWP(t, map[string]http.HandlerFunc{"*": func(w http.ResponseWriter, r *http.Request) {
			if r.Host != "example.com" {
				http.Redirect(w, r, "http://example.com"+r.URL.RequestURI(), http.StatusMovedPermanently)
				return
			}
			authed(okJSON(usersMe("editor")))(w, r)
		}})
		tr := dialEverythingTo(f.Listener.Addr().String(), http.DefaultTransport.(*http.Transport))
		c, _ := newClient(t, "http://www.example.com", func(o *Options) { o.Transport = tr })
		resp, err := c.Get(context.Background(), "wp/v2/users/me", nil, nil)
		e := mustCode(t, err, CodeRedirected)
		if !strings.Contains(e.Hint, "http://example.com") || !strings.Contains(resp.FinalURL, "http://example.com/") {
			t.Errorf("Hint %q / FinalURL %q should point at http://example.com", e.Hint, resp.FinalURL)
		}
	})

	t.Run("a PUT is not redirected", func(t *testing.T) {
		f := newFakeWP(t, map[string]http.HandlerFunc{
			"wp/v2/posts/1": func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/wp-json/wp/v2/posts/2", http.StatusTemporaryRedirect)
			},
		})
		c, _ := newClient(t, f.SiteURL())
		_, err := c.Do(context.Background(), Request{Method: "PUT", Path: "wp/v2/posts/1", Body: map[string]string{"title": "x"}})
		mustCode(t, err, CodeRedirected)
		if f.Hits("wp/v2/posts/2") != 0 {
			t.Error("the redirect was followed")
		}
	})
}

func TestClientsShareTheGuardedTransport(t *testing.T) {
	a, err1 := New("https://a.example", testCreds, Options{})
	b, err2 := New("https://b.example", testCreds, Options{})
	dev, err3 := New("http://127.0.0.1:8080", testCreds, Options{Policy: ssrf.Policy{AllowLoopback: true}})
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if a.http.Transport != b.http.Transport {
		t.Error("two clients with the same policy have separate connection pools")
	}
	if dev.http.Transport == a.http.Transport {
		t.Error("a loopback-allowing client shares the production transport")
	}
}

func TestWordPressErrorDataIsKept(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/tags": func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, `{"code":"term_exists","message":"A term with the name provided already exists.","data":{"status":400,"term_id":31}}`)
	}})
	c, _ := newClient(t, f.SiteURL())
	_, err := c.Do(context.Background(), Request{Method: "POST", Path: "wp/v2/tags", Body: map[string]string{"name": "Go"}})
	e := mustCode(t, err, CodeBadRequest)
	var data struct {
		TermID int64 `json:"term_id"`
	}
	if e.WPCode != "term_exists" || json.Unmarshal(e.Data, &data) != nil || data.TermID != 31 {
		t.Errorf("WPCode %q, Data %s; want term_exists with term_id 31 so the caller can reuse the term", e.WPCode, e.Data)
	}
	if !strings.Contains(e.Message, "already exists") {
		t.Errorf("Message = %q, want WordPress's own message", e.Message)
	}
}
