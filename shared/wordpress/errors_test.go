package wordpress

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/ssrf"
)

// codeCase provokes one diagnosis. setup returns the client and the
// request to send; everything else is what a user would check.
type codeCase struct {
	name     string
	setup    func(t *testing.T) (*Client, Request)
	ctx      func() (context.Context, context.CancelFunc)
	code     string
	status   int
	wpCode   string
	attempts int      // 0: don't check
	msgHas   []string // substrings of Message
	hintHas  []string // substrings of Hint
}

// against serves h at every path and returns a client for the site.
func against(h http.HandlerFunc, mutate ...func(*Options)) func(t *testing.T) (*Client, Request) {
	return againstReq(Request{Path: "wp/v2/posts", Out: new([]map[string]any)}, h, mutate...)
}

func againstReq(req Request, h http.HandlerFunc, mutate ...func(*Options)) func(t *testing.T) (*Client, Request) {
	return func(t *testing.T) (*Client, Request) {
		f := newFakeWP(t, map[string]http.HandlerFunc{"*": h})
		c, _ := newClient(t, f.SiteURL(), mutate...)
		return c, req
	}
}

// blockUntilClientGone is a handler that never answers in time.
func blockUntilClientGone(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func codeCases() []codeCase {
	getPosts := Request{Path: "wp/v2/posts", Out: new([]map[string]any)}
	return []codeCase{
		{
			name: "dns failure: the host name does not exist",
			setup: func(t *testing.T) (*Client, Request) {
				c, _ := newClient(t, "https://no-such-site.example", func(o *Options) {
					o.Transport = &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
						return nil, &net.DNSError{Err: "no such host", Name: "no-such-site.example", IsNotFound: true}
					}}
				})
				return c, getPosts
			},
			code: CodeDNSFailure, attempts: 1,
			msgHas: []string{"no-such-site.example", "could not be found"}, hintHas: []string{"typos"},
		},
		{
			name: "tls failure: self-signed certificate",
			setup: func(t *testing.T) (*Client, Request) {
				f := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON([]any{})}, withTLS())
				c, _ := newClient(t, f.SiteURL())
				return c, getPosts
			},
			code: CodeTLSFailure, attempts: 1, msgHas: []string{"not issued by a trusted authority"}, hintHas: []string{"certificate"},
		},
		{
			name: "tls failure: expired certificate",
			setup: func(t *testing.T) (*Client, Request) {
				f := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON([]any{})}, withTLS())
				tr := f.Client().Transport.(*http.Transport).Clone()
				tr.TLSClientConfig.Time = func() time.Time { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }
				c, _ := newClient(t, f.SiteURL(), func(o *Options) { o.Transport = tr })
				return c, getPosts
			},
			code: CodeTLSFailure, msgHas: []string{"expired on"},
		},
		{
			name: "tls failure: certificate for another host",
			setup: func(t *testing.T) (*Client, Request) {
				f := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON([]any{})}, withTLS())
				tr := dialEverythingTo(f.Listener.Addr().String(), f.Client().Transport.(*http.Transport))
				c, _ := newClient(t, "https://blog.example.org", func(o *Options) { o.Transport = tr })
				return c, getPosts
			},
			code: CodeTLSFailure, msgHas: []string{"example.com", "not for blog.example.org"},
		},
		{
			name: "tls failure: plain http server on an https URL",
			setup: func(t *testing.T) (*Client, Request) {
				f := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON([]any{})})
				c, _ := newClient(t, strings.Replace(f.SiteURL(), "http://", "https://", 1))
				return c, getPosts
			},
			code: CodeTLSFailure, msgHas: []string{"does not speak HTTPS"},
		},
		{
			name:  "timeout: each attempt times out, GET retried",
			setup: against(blockUntilClientGone, func(o *Options) { o.Timeout = 40 * time.Millisecond; o.MaxAttempts = 2 }),
			code:  CodeTimeout, attempts: 2, msgHas: []string{"did not answer within 40ms"},
		},
		{
			name:  "timeout: the caller's deadline, not retried",
			setup: against(blockUntilClientGone),
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 40*time.Millisecond)
			},
			code: CodeTimeout, attempts: 1, msgHas: []string{"ran out of time"},
		},
		{
			name:  "canceled by the caller",
			setup: against(okJSON([]any{})),
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			code: CodeCanceled, attempts: 1,
		},
		{
			name: "connection refused: nothing listens, retried",
			setup: func(t *testing.T) (*Client, Request) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				c, _ := newClient(t, "http://"+addr)
				return c, getPosts
			},
			code: CodeConnectionRefused, attempts: 4, msgHas: []string{"connection refused"},
		},
		{
			name: "connection failed: server hangs up without answering",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			}),
			code: CodeConnectionFailed, attempts: 4, msgHas: []string{"dropped"},
		},
		{
			name: "forbidden address: loopback without the dev switch",
			setup: func(t *testing.T) (*Client, Request) {
				f := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON([]any{})})
				c, _ := newClient(t, f.SiteURL(), func(o *Options) { o.Policy = ssrf.Policy{} })
				return c, getPosts
			},
			code: CodeForbiddenAddress, attempts: 1, msgHas: []string{"private, local or reserved"},
		},
		{
			name: "not json: permalinks Plain, /wp-json/ serves the home page",
			setup: againstReq(Request{Path: "", Out: new(map[string]any)}, func(w http.ResponseWriter, r *http.Request) {
				htmlPage(w, http.StatusOK, "Example Blog – Just another WordPress site")
			}),
			code: CodeNotJSON, status: 200, attempts: 1,
			msgHas:  []string{`a web page titled "Example Blog – Just another WordPress site"`},
			hintHas: []string{"Settings → Permalinks", "anything but Plain", "/wp-json/ in a browser"},
		},
		{
			name: "not json: PHP warnings before the JSON",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				fmt.Fprint(w, "<br />\n<b>Warning</b>:  Undefined array key \"x\" in <b>/var/www/wp-content/plugins/foo/foo.php</b> on line <b>12</b><br />\n[]")
			}),
			code: CodeNotJSON, hintHas: []string{"WP_DEBUG_DISPLAY"},
		},
		{
			name: "not json: empty 200",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			}),
			code: CodeNotJSON, msgHas: []string{"an empty page"},
		},
		{
			name:  "auth failed: Authorization header stripped (rest_not_logged_in)",
			setup: against(answerError(401, "rest_not_logged_in", "You are not currently logged in.")),
			code:  CodeAuthFailed, status: 401, wpCode: "rest_not_logged_in", attempts: 1,
			msgHas:  []string{"username or Application Password is wrong", "strips the Authorization header", "CGI/FastCGI"},
			hintHas: []string{`SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1`, "RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]", ".htaccess"},
		},
		{
			name:  "auth failed: wrong Application Password",
			setup: against(answerError(401, "incorrect_password", "The provided password is an invalid application password.")),
			code:  CodeAuthFailed, wpCode: "incorrect_password",
			msgHas: []string{`rejected the Application Password for user "editor"`}, hintHas: []string{"Application Passwords"},
		},
		{
			name:  "auth failed: unknown username, WordPress's HTML in the message is stripped",
			setup: against(answerError(401, "invalid_username", "<strong>Error:</strong> Unknown username. Check again or try your email address.")),
			code:  CodeAuthFailed, wpCode: "invalid_username",
			msgHas: []string{`no user "editor": Error: Unknown username.`},
		},
		{
			name: "auth failed: server-level password protection",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Basic realm="Restricted"`)
				htmlPage(w, http.StatusUnauthorized, "401 Authorization Required")
			}),
			code: CodeAuthFailed, msgHas: []string{"web server in front of WordPress"},
		},
		{
			name:  "application passwords disabled",
			setup: against(answerError(401, "application_passwords_disabled", "Application passwords are not available.")),
			code:  CodeApplicationPasswordsOff, wpCode: "application_passwords_disabled", attempts: 1,
			msgHas: []string{"not available"}, hintHas: []string{"HTTPS", "wp_is_application_passwords_available"},
		},
		{
			name:   "application passwords disabled for the user",
			setup:  against(answerError(401, "application_passwords_disabled_for_user", "Application passwords are not available for your account.")),
			code:   CodeApplicationPasswordsOff,
			msgHas: []string{`for user "editor"`},
		},
		{
			name:  "forbidden: role lacks the capability",
			setup: againstReq(Request{Method: "POST", Path: "wp/v2/posts", Body: map[string]string{"title": "x"}}, answerError(403, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")),
			code:  CodeForbidden, status: 403, wpCode: "rest_cannot_create", attempts: 1,
			msgHas: []string{`"editor" lacks the permission`, "not allowed to create posts"}, hintHas: []string{"Editor or Administrator"},
		},
		{
			name: "forbidden: security plugin page",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				htmlPage(w, 403, "Your access to this site has been limited by the site owner")
			}),
			code: CodeForbidden, status: 403,
			msgHas: []string{"security plugin", "has been limited"}, hintHas: []string{"IGNY8-Integrations/1.0"},
		},
		{
			name: "forbidden: Cloudflare challenge",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cf-Mitigated", "challenge")
				htmlPage(w, 403, "Just a moment...")
			}),
			code: CodeForbidden, msgHas: []string{"Cloudflare"},
		},
		{
			name:  "rest disabled: index has no route",
			setup: againstReq(Request{Path: "", Out: new(map[string]any)}, answerError(404, "rest_no_route", "No route was found matching the URL and request method.")),
			code:  CodeRESTDisabled, status: 404, wpCode: "rest_no_route", attempts: 1,
			msgHas: []string{"REST API is disabled"},
		},
		{
			name:  "rest disabled: a core route was removed",
			setup: against(answerError(404, "rest_no_route", "No route was found matching the URL and request method.")),
			code:  CodeRESTDisabled, msgHas: []string{"/wp-json/wp/v2/posts"},
		},
		{
			name:  "not found: a plugin route is missing",
			setup: againstReq(Request{Path: "acme/v1/things"}, answerError(404, "rest_no_route", "No route was found matching the URL and request method.")),
			code:  CodeNotFound, wpCode: "rest_no_route",
			msgHas: []string{"plugin that provides it may be inactive"},
		},
		{
			name:  "not found: WordPress says the post is gone",
			setup: againstReq(Request{Path: "wp/v2/posts/99"}, answerError(404, "rest_post_invalid_id", "Invalid post ID.")),
			code:  CodeNotFound, wpCode: "rest_post_invalid_id", attempts: 1,
			msgHas: []string{"Invalid post ID."},
		},
		{
			name:  "not found: plain 404 page, no WordPress JSON",
			setup: against(func(w http.ResponseWriter, r *http.Request) { htmlPage(w, 404, "404 Not Found") }),
			code:  CodeNotFound, status: 404,
			msgHas: []string{`"404 Not Found"`, "not a WordPress REST response"}, hintHas: []string{"Permalinks"},
		},
		{
			name: "rate limited after retries",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "2")
				writeJSON(w, 429, `{"code":"too_many_requests","message":"Slow down"}`)
			}),
			code: CodeRateLimited, status: 429, attempts: 4, msgHas: []string{"Gave up after 4 attempts"},
		},
		{
			name:  "server error after retries",
			setup: against(answerError(500, "internal_server_error", "<p>There has been a critical error on this website.</p>")),
			code:  CodeServerError, status: 500, attempts: 4,
			msgHas: []string{"HTTP 500", "critical error"}, hintHas: []string{"PHP error log"},
		},
		{
			name:  "a refused upload (500 rest_upload_sideload_error) is not retried",
			setup: against(answerError(500, "rest_upload_sideload_error", "Sorry, you are not allowed to upload this file type.")),
			code:  CodeBadRequest, status: 500, attempts: 1,
			msgHas: []string{"refused the uploaded file", "not allowed to upload this file type"}, hintHas: []string{"file type"},
		},
		{
			name: "bad request keeps WordPress's message and the parameter details",
			setup: againstReq(Request{Path: "wp/v2/posts", Query: map[string][]string{"status": {"bogus"}}},
				func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 400, `{"code":"rest_invalid_param","message":"Invalid parameter(s): status","data":{"status":400,"params":{"status":"status[0] is not one of publish, future, draft, pending, private, trash, auto-draft, inherit, request-pending, request-confirmed, request-failed, request-completed, any."},"details":{}}}`)
				}),
			code: CodeBadRequest, status: 400, wpCode: "rest_invalid_param", attempts: 1,
			msgHas: []string{"Invalid parameter(s): status", "status[0] is not one of publish"},
		},
		{
			name:   "response too large",
			setup:  against(okJSON(strings.Repeat("x", 2048)), func(o *Options) { o.MaxResponseBytes = 1024 }),
			code:   CodeResponseTooLarge,
			msgHas: []string{"larger than"},
		},
		{
			name: "redirected: a POST is answered with a redirect",
			setup: againstReq(Request{Method: "POST", Path: "wp/v2/posts", Body: map[string]string{"title": "x"}},
				func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "https://www.example.com/wp-json/wp/v2/posts", http.StatusMovedPermanently)
				}),
			code: CodeRedirected, status: 301, attempts: 1,
			msgHas: []string{"redirect to https://www.example.com/wp-json/wp/v2/posts"}, hintHas: []string{"http vs https", "www"},
		},
		{
			name: "redirected: endless redirects",
			setup: against(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			}),
			code: CodeRedirected, msgHas: []string{"more than 5 times"},
		},
		{
			name:  "invalid response: JSON of another shape",
			setup: againstReq(Request{Path: "wp/v2/users/me", Out: new(struct{ ID int64 })}, okJSON(map[string]any{"id": "seven"})),
			code:  CodeInvalidResponse, status: 200,
			msgHas: []string{"expected shape"},
		},
		{
			name: "invalid request: a path that leaves the REST root is never sent",
			setup: func(t *testing.T) (*Client, Request) {
				f := newFakeWP(t, nil)
				t.Cleanup(func() {
					if f.Total() != 0 {
						t.Errorf("the server got %d requests, want 0", f.Total())
					}
				})
				c, _ := newClient(t, f.SiteURL())
				return c, Request{Path: "wp/v2/../../wp-admin/admin-ajax.php"}
			},
			code: CodeInvalidRequest,
		},
	}
}

func TestEveryFailureHasItsCode(t *testing.T) {
	for _, tt := range codeCases() {
		t.Run(tt.name, func(t *testing.T) {
			c, req := tt.setup(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()

			resp, err := c.Do(ctx, req)
			e := mustCode(t, err, tt.code)
			if tt.status != 0 && e.Status != tt.status {
				t.Errorf("Status = %d, want %d", e.Status, tt.status)
			}
			if e.WPCode != tt.wpCode && tt.wpCode != "" {
				t.Errorf("WPCode = %q, want %q", e.WPCode, tt.wpCode)
			}
			if tt.attempts != 0 && (resp == nil || resp.Attempts != tt.attempts) {
				t.Errorf("response = %+v, want Attempts %d", resp, tt.attempts)
			}
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
			if e.Message == "" {
				t.Error("Message is empty; a site owner needs to be told what happened")
			}
			if !strings.Contains(err.Error(), tt.code) {
				t.Errorf("Error() = %q does not name the code", err)
			}
			assertNoSecret(t, err)
		})
	}
}

// Every code the package defines is provoked by a test: the table above,
// or the tests named here.
func TestEveryCodeIsProvoked(t *testing.T) {
	provoked := map[string]bool{
		CodeInsufficientCapabilities: true, // TestConnectionDiagnoses
		CodeInvalidCollection:        true, // TestCollectionTotal
		CodeInvalidSiteURL:           true, // TestNewNormalisesTheSiteURL
		CodeTooManyPages:             true, // TestEachPageStops
	}
	for _, tt := range codeCases() {
		provoked[tt.code] = true
	}
	for code := range permanent {
		if !provoked[code] {
			t.Errorf("no test provokes %s", code)
		}
	}
	for code := range provoked {
		if _, ok := permanent[code]; !ok {
			t.Errorf("%s is tested but IsPermanent does not know it", code)
		}
	}
}

// assertNoSecret fails if the password, in any spelling, shows in any
// rendering of err.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	e, _ := AsError(err)
	renderings := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", err)}
	if e != nil {
		renderings = append(renderings, e.Message, e.Hint, e.WPCode, string(e.Data), fmt.Sprintf("%+v", *e))
	}
	for _, r := range renderings {
		for _, secret := range []string{testPassword, strings.ReplaceAll(testPassword, " ", ""),
			url.PathEscape(testPassword), url.QueryEscape(testPassword),
			base64.StdEncoding.EncodeToString([]byte(testUsername + ":" + testPassword))} {
			if strings.Contains(r, secret) {
				t.Fatalf("the password leaks into %q", r)
			}
		}
	}
}

func TestPasswordNeverInErrorsEvenWhenTheSiteEchoesIt(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		auth := r.Header.Get("Authorization")
		switch r.URL.Query().Get("as") {
		case "wp":
			writeJSON(w, 401, map[string]any{"code": "incorrect_password " + pass,
				"message": "Bad password " + pass + " (" + strings.ReplaceAll(pass, " ", "") + ") from " + auth,
				"data":    map[string]any{"status": 401, "received": pass}})
		case "html":
			htmlPage(w, 403, "Blocked "+auth+" "+pass)
		case "invalid":
			writeJSON(w, 400, map[string]any{"code": "rest_invalid_param", "message": "Invalid parameter(s): password",
				"data": map[string]any{"status": 400, "params": map[string]string{"password": pass + " is wrong"}}})
		case "redirect":
			http.Redirect(w, r, "https://evil.example/"+url.PathEscape(pass)+"?p="+url.QueryEscape(pass), http.StatusFound)
		case "loop":
			http.Redirect(w, r, r.URL.Path+"?as=loop&p="+url.QueryEscape(pass), http.StatusFound)
		}
	}
	f := newFakeWP(t, map[string]http.HandlerFunc{"*": echo})
	c, _ := newClient(t, f.SiteURL())
	for _, as := range []string{"wp", "html", "invalid", "redirect", "loop"} {
		t.Run(as, func(t *testing.T) {
			method := "POST"
			if as == "loop" {
				method = "GET" // followed until the limit; the error quotes the last URL
			}
			_, err := c.Do(context.Background(), Request{Method: method, Path: "wp/v2/posts", Query: map[string][]string{"as": {as}}})
			if err == nil {
				t.Fatal("want an error")
			}
			assertNoSecret(t, err)
		})
	}
}

func TestCredentialsAndClientNeverPrintThePassword(t *testing.T) {
	c, _ := newClient(t, "https://example.com")
	var buf strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		fmt.Fprintf(&buf, verb+"\n", testCreds)
		fmt.Fprintf(&buf, verb+"\n", &testCreds)
		fmt.Fprintf(&buf, verb+"\n", c)
		fmt.Fprintf(&buf, verb+"\n", struct{ C Credentials }{testCreds})
	}
	j, _ := jsonMarshal(testCreds)
	buf.Write(j)
	buf.WriteString(slogLine(testCreds))
	out := buf.String()
	if strings.Contains(out, testPassword) || strings.Contains(out, strings.ReplaceAll(testPassword, " ", "")) {
		t.Fatalf("the password leaks:\n%s", out)
	}
	for _, want := range []string{testUsername, "REDACTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&Error{Code: CodeBadRequest, Status: 400}, true},
		{&Error{Code: CodeAuthFailed, Status: 401}, true},
		{&Error{Code: CodeForbidden, Status: 403}, true},
		{&Error{Code: CodeNotFound, Status: 404}, true},
		{&Error{Code: CodeNotJSON}, true},
		{&Error{Code: CodeTLSFailure}, true},
		{&Error{Code: CodeDNSFailure, Err: &net.DNSError{IsNotFound: true}}, true},
		{&Error{Code: CodeDNSFailure, Err: &net.DNSError{IsTemporary: true}}, false},
		{&Error{Code: CodeRateLimited, Status: 429}, false},
		{&Error{Code: CodeServerError, Status: 503}, false},
		{&Error{Code: CodeTimeout}, false},
		{&Error{Code: CodeConnectionRefused}, false},
		{&Error{Code: CodeConnectionFailed}, false},
		{fmt.Errorf("syncing post 12: %w", &Error{Code: CodeForbidden}), true},
		{errors.New("something else"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestAsErrorFindsWrappedErrors(t *testing.T) {
	inner := &Error{Code: CodeRateLimited, RetryAfter: time.Minute}
	e, ok := AsError(fmt.Errorf("page 2: %w", inner))
	if !ok || e != inner {
		t.Fatalf("AsError = %v, %v; want the inner error", e, ok)
	}
	if _, ok := AsError(errors.New("plain")); ok {
		t.Fatal("AsError found an *Error in a plain error")
	}
	if CodeOf(fmt.Errorf("x: %w", inner)) != CodeRateLimited || CodeOf(nil) != "" {
		t.Fatal("CodeOf does not see through wrapping")
	}
}

// A TLS server trusted by no one is what most self-signed hosts look like;
// make sure the guarded default transport (not an injected one) reports it.
func TestTLSFailureThroughTheGuardedTransport(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"*": okJSON(indexDoc(true, 0))}, withTLS())
	c, _ := newClient(t, f.SiteURL())
	_, err := c.Get(context.Background(), "", nil, nil)
	e := mustCode(t, err, CodeTLSFailure)
	var certErr *tls.CertificateVerificationError
	if !errors.As(e, &certErr) {
		t.Errorf("the cause %v is not kept for the logs", e.Err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// slogLine is what a JSON log line with v as an attribute looks like.
func slogLine(v any) string {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("connecting", "credentials", v)
	return buf.String()
}
