// Package console holds the two pages of the web console — Integration
// Settings and the per-site WordPress Sync Dashboard — as static files
// embedded in the API binary (plain HTML, CSS and JavaScript modules, no
// build step, no external requests). The pages are public; everything they
// show comes from the API, called with the user's bearer token.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// File is one embedded file, ready to serve.
type File struct {
	Body        []byte
	ContentType string
	// ETag is a strong validator of Body.
	ETag string
}

// Page names the HTML page of each console screen.
const (
	PageSettings  = "settings.html"
	PageDashboard = "dashboard.html"
)

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// Lookup returns the embedded file with this name (no folders: the console
// is flat), or false for anything else, including names with a slash or a
// dot-dot and types the console does not serve.
func Lookup(name string) (File, bool) {
	f, ok := files()[name]
	return f, ok
}

// files indexes the embedded files once, with their types and ETags.
var files = sync.OnceValue(func() map[string]File {
	out := map[string]File{}
	entries, err := fs.ReadDir(static, "static")
	if err != nil {
		panic(fmt.Sprintf("console: read embedded files: %v", err)) // cannot happen: the folder is embedded
	}
	for _, e := range entries {
		ct, ok := contentTypes[path.Ext(e.Name())]
		if e.IsDir() || !ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := fs.ReadFile(static, "static/"+e.Name())
		if err != nil {
			panic(fmt.Sprintf("console: read %s: %v", e.Name(), err))
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = File{Body: b, ContentType: ct, ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return out
})

// ContentSecurityPolicy is sent with every page: only this origin's scripts,
// styles and API, no frames, no inline code.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
