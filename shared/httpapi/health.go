package httpapi

import "net/http"

// handleHealth answers without touching any dependency: it is public, so it
// must cost nothing and reveal nothing beyond liveness and the stage.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	return encode(w, http.StatusOK, map[string]string{"status": "ok", "stage": s.deps.Config.Stage})
}
