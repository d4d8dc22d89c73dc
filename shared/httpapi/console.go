package httpapi

import (
	"net/http"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/console"
)

// The console's pages and assets are public (no token): they are the same
// for everyone and hold no data; the API calls they make carry the token.

func (s *Server) handleConsoleIndex(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/console/settings/integration", http.StatusFound)
	return nil
}

func (s *Server) handleConsoleSettings(w http.ResponseWriter, r *http.Request) error {
	return serveConsoleFile(w, r, console.PageSettings)
}

func (s *Server) handleConsoleDashboard(w http.ResponseWriter, r *http.Request) error {
	return serveConsoleFile(w, r, console.PageDashboard)
}

func (s *Server) handleConsoleAsset(w http.ResponseWriter, r *http.Request) error {
	return serveConsoleFile(w, r, r.PathValue("file"))
}

// serveConsoleFile answers with an embedded file. Browsers revalidate
// (no-cache) and get 304 while the ETag holds, so a deploy is seen at once.
func serveConsoleFile(w http.ResponseWriter, r *http.Request, name string) error {
	f, ok := console.Lookup(name)
	if !ok {
		return apperr.New(apperr.NotFound, "No console file named %q", name)
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.ETag)
	h.Set("X-Content-Type-Options", "nosniff")
	// The sign-in redirect puts the token in the URL fragment: it must not
	// leak through Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", console.ContentSecurityPolicy)
	if r.Header.Get("If-None-Match") == f.ETag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(f.Body)
	return err
}
