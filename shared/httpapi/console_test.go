package httpapi

import (
	"strings"
	"testing"

	"github.com/igny8/integrations/shared/console"
)

func TestConsolePagesArePublicStaticFiles(t *testing.T) {
	h := newTestHandler(t, &emptyStore{}, nil)
	tests := []struct {
		target     string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"/console/settings/integration", 200, "text/html; charset=utf-8", "<h1>Integration Settings</h1>"},
		{"/console/sites/my-blog/sync", 200, "text/html; charset=utf-8", "/console/assets/dashboard.js"},
		{"/console/assets/console.css", 200, "text/css; charset=utf-8", ":root"},
		{"/console/assets/dashboard.js", 200, "text/javascript; charset=utf-8", "sync_status"},
		{"/console/assets/nope.js", 404, "application/problem+json", `"code":"not_found"`},
		{"/console/assets/..%2Fconsole.go", 404, "application/problem+json", `"code":"route_not_found"`},
		{"/console/settings/integration/", 404, "application/problem+json", `"code":"route_not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			r := call(t, h, "GET", tt.target, anonymous, "")
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if ct := r.headers["Content-Type"]; ct != tt.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if !strings.Contains(string(r.body), tt.wantBody) {
				t.Errorf("body lacks %q: %.200s", tt.wantBody, r.body)
			}
			if r.status == 200 {
				for k, want := range map[string]string{"Content-Security-Policy": console.ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
					"Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"} {
					if got := r.headers[k]; got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
			}
		})
	}
}

func TestConsoleRevalidatesWithETag(t *testing.T) {
	h := newTestHandler(t, &emptyStore{}, nil)
	first := call(t, h, "GET", "/console/assets/api.js", anonymous, "")
	etag := first.headers["Etag"] // net/http canonical spelling
	if first.status != 200 || etag == "" {
		t.Fatalf("status %d, ETag %q", first.status, etag)
	}
	if r := call(t, h, "GET", "/console/assets/api.js", anonymous, "", "If-None-Match", etag); r.status != 304 || len(r.body) != 0 {
		t.Errorf("with the current ETag: status %d, %d bytes; want 304 and no body", r.status, len(r.body))
	}
	if r := call(t, h, "GET", "/console/assets/api.js", anonymous, "", "If-None-Match", `"stale"`); r.status != 200 {
		t.Errorf("with a stale ETag: status %d, want 200", r.status)
	}
}

func TestConsoleIndexRedirectsToSettings(t *testing.T) {
	h := newTestHandler(t, &emptyStore{}, nil)
	r := call(t, h, "GET", "/console/", anonymous, "")
	if r.status != 302 || r.headers["Location"] != "/console/settings/integration" {
		t.Errorf("status %d, Location %q; want 302 to the settings page", r.status, r.headers["Location"])
	}
}
