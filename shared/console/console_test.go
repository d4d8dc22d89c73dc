package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name   string
		found  bool
		ctype  string
		marker string
	}{
		{PageSettings, true, "text/html; charset=utf-8", "<h1>Integration Settings</h1>"},
		{PageDashboard, true, "text/html; charset=utf-8", "WordPress Sync Dashboard"},
		{"console.css", true, "text/css; charset=utf-8", ":root"},
		{"api.js", true, "text/javascript; charset=utf-8", "sessionStorage"},
		{"settings.js", true, "text/javascript; charset=utf-8", "test_connection"},
		{"dashboard.js", true, "text/javascript; charset=utf-8", "sync_status"},
		{"", false, "", ""},
		{"missing.js", false, "", ""},
		{"../console.go", false, "", ""},
		{"static/api.js", false, "", ""},
		{`..\api.js`, false, "", ""},
		{".hidden.js", false, "", ""},
		{"console.go", false, "", ""}, // not a type the console serves
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := Lookup(tt.name)
			if ok != tt.found {
				t.Fatalf("Lookup(%q) found = %v, want %v", tt.name, ok, tt.found)
			}
			if !ok {
				return
			}
			if f.ContentType != tt.ctype {
				t.Errorf("content type %q, want %q", f.ContentType, tt.ctype)
			}
			if !strings.Contains(string(f.Body), tt.marker) {
				t.Errorf("body lacks %q", tt.marker)
			}
			if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(f.ETag) {
				t.Errorf("ETag %q is not a quoted hash", f.ETag)
			}
		})
	}
}

// The pages must make no external request (no CDN fonts or scripts) and run
// under the Content-Security-Policy: no inline scripts, styles or handlers.
func TestStaticFilesAreSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["'](https?:)?//|@import|url\(\s*["']?(https?:)?//|fetch\(\s*["']https?:`)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle\s*=|\son[a-z]+\s*=`)
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(static, path)
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers to another origin: %q", path, m)
		}
		if strings.HasSuffix(path, ".html") {
			if m := inline.Find(b); m != nil {
				t.Errorf("%s has inline code the CSP refuses: %q", path, m)
			}
			for _, want := range []string{`<html lang="en">`, `name="viewport"`, `<main id="main">`, `class="skip"`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s lacks %s (accessibility, phone width)", path, want)
				}
			}
		}
		if _, ok := Lookup(strings.TrimPrefix(path, "static/")); !ok {
			t.Errorf("%s is embedded but Lookup does not serve it", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every form control in the pages' HTML has a label that names it.
func TestPageInputsHaveLabels(t *testing.T) {
	for _, page := range []string{PageSettings, PageDashboard} {
		f, _ := Lookup(page)
		html := string(f.Body)
		for _, m := range regexp.MustCompile(`<(input|select|textarea)[^>]*\sid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			if !strings.Contains(html, `for="`+m[2]+`"`) {
				t.Errorf("%s: <%s id=%q> has no <label for>", page, m[1], m[2])
			}
		}
	}
}
