package fakewp

import (
	"encoding/json"
	"net/http"
	"strings"
)

// PluginVersion is the version the fake IGNY8 plugin reports.
const PluginVersion = "1.0.0-fake"

// PluginConfig is the fake plugin's stored configuration.
type PluginConfig struct {
	Endpoint, IntegrationID, Secret string
	// Posts counts the POST /igny8/v1/config requests it accepted.
	Posts int
}

type pluginState struct {
	cfg PluginConfig
	// forbidden makes POST config answer 403, as the real route does for
	// a user without manage_options (an editor's Application Password).
	forbidden bool
}

// ForbidPluginConfig makes the plugin refuse POST /igny8/v1/config with
// 403 rest_forbidden, as it does for a user who is not an administrator.
func (s *Site) ForbidPluginConfig() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plugin != nil {
		s.plugin.forbidden = true
	}
}

// InstallPlugin activates the fake IGNY8 companion plugin: its namespace
// igny8/v1 appears in the REST index and GET/POST /igny8/v1/config answer
// as the real plugin's route does (administrators only).
func (s *Site) InstallPlugin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plugin = &pluginState{}
}

// Plugin returns the plugin's configuration (ok false when not installed).
func (s *Site) Plugin() (PluginConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plugin == nil {
		return PluginConfig{}, false
	}
	return s.plugin.cfg, true
}

func (s *Site) namespaces() []string {
	ns := []string{"oembed/1.0", "wp/v2", "wp-site-health/v1"}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plugin != nil {
		ns = append(ns, "igny8/v1")
	}
	return ns
}

func (s *Site) servePluginConfig(w http.ResponseWriter, req *apiRequest) {
	s.mu.Lock()
	installed := s.plugin != nil
	s.mu.Unlock()
	switch {
	case !installed:
		noRoute(w)
		return
	case !req.authed:
		wpError(w, http.StatusUnauthorized, "rest_forbidden", "Sorry, you are not allowed to do that.")
		return
	case !req.canEdit || (req.method == http.MethodPost && s.pluginForbidden()):
		wpError(w, http.StatusForbidden, "rest_forbidden", "Sorry, you are not allowed to do that.")
		return
	}
	switch req.method {
	case http.MethodGet:
	case http.MethodPost:
		var in struct {
			Endpoint      string `json:"endpoint"`
			IntegrationID string `json:"integration_id"`
			Secret        string `json:"secret"`
		}
		if err := json.NewDecoder(req.r.Body).Decode(&in); err != nil {
			invalidJSON(w, err.Error())
			return
		}
		if !strings.HasPrefix(in.Endpoint, "http://") && !strings.HasPrefix(in.Endpoint, "https://") {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): endpoint")
			return
		}
		if !strings.HasPrefix(in.Secret, "whsec_") {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): secret")
			return
		}
		s.mu.Lock()
		s.plugin.cfg = PluginConfig{Endpoint: in.Endpoint, IntegrationID: in.IntegrationID, Secret: in.Secret, Posts: s.plugin.cfg.Posts + 1}
		s.mu.Unlock()
	default:
		noRoute(w)
		return
	}
	s.mu.Lock()
	cfg := s.plugin.cfg
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"endpoint": cfg.Endpoint, "integration_id": cfg.IntegrationID,
		"secret_set": cfg.Secret != "", "plugin_version": PluginVersion})
}

func (s *Site) pluginForbidden() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plugin != nil && s.plugin.forbidden
}

// The plugin's post-meta marker for idempotent pushes and the collection
// query parameter that finds a post by it.
const (
	pluginMetaKey    = "_igny8_content_id"
	pluginQueryParam = "igny8_content_id"
)

// postMeta is a post's REST meta: the plugin's marker, shown in the edit
// context to users who may edit (the plugin's auth_callback), on posts and
// pages, when the plugin is installed.
func (s *Site) postMeta(r *record, pt postType, ctx string) map[string]any {
	m := map[string]any{}
	if s.plugin != nil && ctx == "edit" && (pt.slug == "post" || pt.slug == "page") {
		m[pluginMetaKey] = r.contentID
	}
	return m
}
