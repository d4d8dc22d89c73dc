package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

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

// handleListIntegrations lists the caller's integrations, one DynamoDB
// Query per page, optionally filtered by site_id and platform.
func (s *Server) handleListIntegrations(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	siteID, err := queryParam(r, "site_id", 128)
	if err != nil {
		return err
	}
	platform, err := queryParam(r, "platform", 32)
	if err != nil {
		return err
	}
	res, err := s.deps.Integrations.ListIntegrations(r.Context(), account(r), store.IntegrationFilter{SiteID: siteID, Platform: platform}, page)
	if err != nil {
		return storeError(err)
	}
	out := list[integrationJSON]{Items: make([]integrationJSON, 0, len(res.Items)), NextCursor: res.NextCursor}
	for _, in := range res.Items {
		out.Items = append(out.Items, presentIntegration(in))
	}
	return encode(w, http.StatusOK, out)
}

// storeError maps the store's typed errors to application errors. Not-found
// is deliberately the same whether the item is missing or belongs to another
// account, so existence never leaks across tenants.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apperr.Wrap(err, apperr.NotFound, "Not found")
	case errors.Is(err, store.ErrInvalidCursor):
		return &apperr.Error{Code: apperr.Invalid, Field: "cursor", Message: "cursor is not one this API returned for this listing", Err: err}
	case errors.Is(err, store.ErrPreconditionFailed):
		return apperr.Wrap(err, apperr.PreconditionFailed, "The resource changed since you read it; read it again and retry with its current version")
	case errors.Is(err, store.ErrConflict):
		return apperr.Wrap(err, apperr.Conflict, "%s", err.Error())
	case errors.Is(err, store.ErrInvalid):
		return apperr.Wrap(err, apperr.Invalid, "A required field is missing")
	case errors.Is(err, store.ErrItemTooLarge):
		return apperr.Wrap(err, apperr.PayloadTooLarge, "The resource would exceed the storage size limit")
	}
	return err
}
