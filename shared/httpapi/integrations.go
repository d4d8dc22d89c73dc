package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/integrations"
	"github.com/igny8/integrations/shared/store"
)

// IntegrationService is what the API needs from the integrations domain
// service (*integrations.Service).
type IntegrationService interface {
	List(ctx context.Context, accountID string, f store.IntegrationFilter, p store.PageRequest) (store.Page[store.Integration], error)
	Get(ctx context.Context, accountID, id string) (store.Integration, error)
	Create(ctx context.Context, in integrations.CreateInput) (integrations.Result, error)
	Update(ctx context.Context, in integrations.UpdateInput) (integrations.Result, error)
	Delete(ctx context.Context, accountID, id string, expectedVersion int64) error
	TestConnection(ctx context.Context, accountID, id string) (integrations.ConnectionReport, store.Integration, error)
	TestCollection(ctx context.Context, accountID, id, collection string) (integrations.CollectionReport, error)
	UpdateStructure(ctx context.Context, accountID, id string) (integrations.Structure, store.Integration, error)
	ContentTypes(ctx context.Context, accountID, id string, refresh bool) (integrations.ContentTypes, error)
	RotateWebhookSecret(ctx context.Context, accountID, id string) (integrations.SecretRotation, error)
}

var _ IntegrationService = (*integrations.Service)(nil)

// integrationJSON is an integration as the API shows it: the seed's field
// names in snake_case. It never carries a secret: only whether the
// Application Password is set and its last four characters.
type integrationJSON struct {
	ID               string          `json:"id"`
	Account          string          `json:"account"`
	SiteID           string          `json:"site_id"`
	Platform         string          `json:"platform"`
	ExternalSiteURL  string          `json:"external_site_url"`
	IsActive         bool            `json:"is_active"`
	SyncEnabled      bool            `json:"sync_enabled"`
	SyncInterval     int             `json:"sync_interval_minutes"`
	LastSyncAt       *time.Time      `json:"last_sync_at"`
	SyncStatus       string          `json:"sync_status"`
	SyncError        string          `json:"sync_error"`
	ConnectionStatus string          `json:"connection_status"`
	ConfigJSON       map[string]any  `json:"config_json"`
	Credentials      credentialsJSON `json:"credentials"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	Version          int64           `json:"version"`
}

type credentialsJSON struct {
	Username                string `json:"username"`
	ApplicationPasswordSet  bool   `json:"application_password_set"`
	ApplicationPasswordLast string `json:"application_password_last4,omitempty"`
}

func presentIntegration(in store.Integration) integrationJSON {
	cfg := in.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	return integrationJSON{
		ID:               in.ID,
		Account:          in.AccountID,
		SiteID:           in.SiteID,
		Platform:         in.Platform,
		ExternalSiteURL:  in.ExternalSiteURL,
		IsActive:         in.IsActive,
		SyncEnabled:      in.SyncEnabled,
		SyncInterval:     in.SyncIntervalMinutes,
		LastSyncAt:       in.LastSyncAt,
		SyncStatus:       in.SyncStatus,
		SyncError:        in.SyncError,
		ConnectionStatus: in.ConnectionStatus,
		ConfigJSON:       cfg,
		Credentials: credentialsJSON{
			Username:                in.Username,
			ApplicationPasswordSet:  in.CredentialsSecret != "",
			ApplicationPasswordLast: in.PasswordLast4,
		},
		CreatedAt: in.CreatedAt,
		UpdatedAt: in.UpdatedAt,
		Version:   in.Version,
	}
}

// credentialsRequest carries new credentials. The two read-only members of
// the response's credentials object are accepted and ignored, so a client
// can PUT back what it read.
type credentialsRequest struct {
	Username            *string `json:"username"`
	ApplicationPassword *string `json:"application_password"`
	PasswordSet         *bool   `json:"application_password_set"`
	PasswordLast4       *string `json:"application_password_last4"`
}

// integrationRequest is the body of create, PUT and PATCH. The response's
// read-only fields are accepted and ignored for the same reason.
type integrationRequest struct {
	SiteID          *string             `json:"site_id"`
	Platform        *string             `json:"platform"`
	ExternalSiteURL *string             `json:"external_site_url"`
	Credentials     *credentialsRequest `json:"credentials"`
	IsActive        *bool               `json:"is_active"`
	SyncEnabled     *bool               `json:"sync_enabled"`
	SyncInterval    *int                `json:"sync_interval_minutes"`
	ConfigJSON      map[string]any      `json:"config_json"`
	// Version is the version the client read, as an alternative to If-Match.
	Version *int64 `json:"version"`

	ID               any `json:"id"`
	Account          any `json:"account"`
	LastSyncAt       any `json:"last_sync_at"`
	SyncStatus       any `json:"sync_status"`
	SyncError        any `json:"sync_error"`
	ConnectionStatus any `json:"connection_status"`
	CreatedAt        any `json:"created_at"`
	UpdatedAt        any `json:"updated_at"`
}

func (r integrationRequest) Validate() error {
	if r.Version != nil && *r.Version < 1 {
		return apperr.Field(apperr.Invalid, "version", "version must be the positive version you read")
	}
	return nil
}

func (r integrationRequest) requireAll(fields map[string]bool) error {
	for _, name := range []string{"site_id", "platform", "external_site_url", "is_active", "sync_enabled"} {
		if !fields[name] {
			return apperr.Field(apperr.Invalid, name, "PUT replaces the integration: %s is required (use PATCH to change some fields)", name)
		}
	}
	return nil
}

func (r integrationRequest) present() map[string]bool {
	return map[string]bool{
		"site_id": r.SiteID != nil, "platform": r.Platform != nil, "external_site_url": r.ExternalSiteURL != nil,
		"is_active": r.IsActive != nil, "sync_enabled": r.SyncEnabled != nil,
	}
}

// integrationResponse is an integration plus, after a change that tested
// the connection, that test's report.
type integrationResponse struct {
	integrationJSON
	Connection *integrations.ConnectionReport `json:"connection,omitempty"`
	// WebhookSecret is in the create response only: the one time the
	// secret is shown (rotation shows the next one).
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

func writeIntegration(w http.ResponseWriter, status int, res integrations.Result) error {
	setETag(w, res.Integration.Version)
	if res.WebhookSecret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	return encode(w, status, integrationResponse{integrationJSON: presentIntegration(res.Integration), Connection: res.Connection, WebhookSecret: res.WebhookSecret})
}

// handleListIntegrations lists the caller's integrations, one DynamoDB
// Query per page, optionally filtered by site_id and platform.
func (s *Server) handleListIntegrations(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	siteID, err := queryParam(r, "site_id", integrations.MaxSiteIDLength)
	if err != nil {
		return err
	}
	platform, err := queryParam(r, "platform", 32)
	if err != nil {
		return err
	}
	res, err := s.deps.Integrations.List(r.Context(), account(r), store.IntegrationFilter{SiteID: siteID, Platform: platform}, page)
	if err != nil {
		return err
	}
	out := list[integrationJSON]{Items: make([]integrationJSON, 0, len(res.Items)), NextCursor: res.NextCursor}
	for _, in := range res.Items {
		out.Items = append(out.Items, presentIntegration(in))
	}
	return encode(w, http.StatusOK, out)
}

func (s *Server) handleCreateIntegration(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[integrationRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	in := integrations.CreateInput{
		AccountID:           account(r),
		SiteID:              deref(req.SiteID),
		Platform:            deref(req.Platform),
		IsActive:            req.IsActive,
		SyncEnabled:         req.SyncEnabled,
		Config:              req.ConfigJSON,
		SyncIntervalMinutes: req.SyncInterval,
	}
	in.ExternalSiteURL = deref(req.ExternalSiteURL)
	if req.ExternalSiteURL == nil {
		return apperr.Field(apperr.Invalid, "external_site_url", "external_site_url is required")
	}
	if c := req.Credentials; c != nil {
		in.Credentials = &integrations.Credentials{Username: deref(c.Username), ApplicationPassword: deref(c.ApplicationPassword)}
	}
	res, err := s.deps.Integrations.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/integration/"+res.Integration.ID+"/")
	return writeIntegration(w, http.StatusCreated, res)
}

func (s *Server) handleGetIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := s.deps.Integrations.Get(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	if etagMatches(r.Header.Get("If-None-Match"), in.Version) {
		setETag(w, in.Version)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return writeIntegration(w, http.StatusOK, integrations.Result{Integration: in})
}

func (s *Server) handleReplaceIntegration(w http.ResponseWriter, r *http.Request) error {
	return s.updateIntegration(w, r, true)
}

func (s *Server) handlePatchIntegration(w http.ResponseWriter, r *http.Request) error {
	return s.updateIntegration(w, r, false)
}

func (s *Server) updateIntegration(w http.ResponseWriter, r *http.Request, replace bool) error {
	req, err := decode[integrationRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	version, err := expectedVersion(r, req.Version)
	if err != nil {
		return err
	}
	in := integrations.UpdateInput{
		AccountID: account(r), ID: r.PathValue("id"), ExpectedVersion: version,
		SiteID: req.SiteID, Platform: req.Platform, ExternalSiteURL: req.ExternalSiteURL,
		IsActive: req.IsActive, SyncEnabled: req.SyncEnabled, Config: req.ConfigJSON, SyncIntervalMinutes: req.SyncInterval,
	}
	if replace {
		if err := req.requireAll(req.present()); err != nil {
			return err
		}
		if in.Config == nil {
			in.Config = map[string]any{}
		}
	}
	if c := req.Credentials; c != nil {
		in.Username, in.ApplicationPassword = c.Username, c.ApplicationPassword
	}
	res, err := s.deps.Integrations.Update(r.Context(), in)
	if err != nil {
		return err
	}
	return writeIntegration(w, http.StatusOK, res)
}

func (s *Server) handleDeleteIntegration(w http.ResponseWriter, r *http.Request) error {
	version, err := expectedVersion(r, nil)
	if err != nil {
		return err
	}
	if err := s.deps.Integrations.Delete(r.Context(), account(r), r.PathValue("id"), version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// testConnectionResponse is the report with the integration's new state.
type testConnectionResponse struct {
	IntegrationID    string `json:"integration_id"`
	ConnectionStatus string `json:"connection_status"`
	Version          int64  `json:"version"`
	integrations.ConnectionReport
}

func (s *Server) handleTestConnection(w http.ResponseWriter, r *http.Request) error {
	report, in, err := s.deps.Integrations.TestConnection(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	setETag(w, in.Version)
	return encode(w, http.StatusOK, testConnectionResponse{IntegrationID: in.ID, ConnectionStatus: in.ConnectionStatus, Version: in.Version, ConnectionReport: report})
}

// handleRotateWebhookSecret replaces the webhook secret and shows the new
// one, once; the old one stays valid for WEBHOOK_SECRET_GRACE.
func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	out, err := s.deps.Integrations.RotateWebhookSecret(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return encode(w, http.StatusOK, out)
}

type collectionRequest struct {
	Collection string `json:"collection"`
}

func (c collectionRequest) Validate() error {
	if strings.TrimSpace(c.Collection) == "" {
		return apperr.Field(apperr.Invalid, "collection", "collection is required: posts, pages or a post type's rest_base")
	}
	return nil
}

func (s *Server) handleTestCollection(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[collectionRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	report, err := s.deps.Integrations.TestCollection(r.Context(), account(r), r.PathValue("id"), strings.TrimSpace(req.Collection))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, report)
}

func (s *Server) handleUpdateStructure(w http.ResponseWriter, r *http.Request) error {
	st, in, err := s.deps.Integrations.UpdateStructure(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	setETag(w, in.Version)
	return encode(w, http.StatusOK, st)
}

func (s *Server) handleContentTypes(w http.ResponseWriter, r *http.Request) error {
	refresh := false
	if v := r.URL.Query().Get("refresh"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apperr.Field(apperr.Invalid, "refresh", "refresh must be true or false")
		}
		refresh = b
	}
	out, err := s.deps.Integrations.ContentTypes(r.Context(), account(r), r.PathValue("id"), refresh)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, out)
}

// etag is the entity tag of a version: the version number, quoted.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// etagMatches reports whether an If-None-Match header (a list of tags,
// weak or strong, or *) names version. Weak comparison is right for GET.
func etagMatches(header string, version int64) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag(version) {
			return true
		}
	}
	return false
}

func setETag(w http.ResponseWriter, version int64) {
	if version > 0 {
		w.Header().Set("ETag", etag(version))
	}
}

// expectedVersion reads the optimistic-locking version from If-Match (an
// ETag this API returned, or *) or from the body's version; both must agree.
func expectedVersion(r *http.Request, body *int64) (int64, error) {
	var fromHeader int64
	if h := strings.TrimSpace(r.Header.Get("If-Match")); h != "" && h != "*" {
		v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
		if err != nil || v < 1 {
			return 0, apperr.Field(apperr.Invalid, "If-Match", "If-Match must be an ETag this API returned, such as \"3\"")
		}
		fromHeader = v
	}
	switch {
	case body == nil:
		return fromHeader, nil
	case fromHeader != 0 && fromHeader != *body:
		return 0, apperr.Field(apperr.Invalid, "version", "version %d disagrees with If-Match %d", *body, fromHeader)
	}
	return *body, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
