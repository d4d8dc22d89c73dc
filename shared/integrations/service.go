// Package integrations is the domain service for site connections: creating,
// changing and deleting an account's integrations, keeping each site's
// WordPress credentials in Secrets Manager, testing the connection and
// reading the site's structure. The API calls it; it calls the store, the
// secrets store and the WordPress client, and nothing else.
//
// Three keys of an integration's config_json belong to the service and are
// read-only for callers (ignored when sent): "connection" (the last
// connection test, with what it found out about the companion plugin),
// "structure" (the site's post types, taxonomies and counts) and "webhook"
// (when the webhook secret last changed; never the secret).
package integrations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/webhooksecret"
	"github.com/igny8/integrations/shared/wordpress"
)

// Site is what the service needs from a WordPress site's client.
type Site interface {
	TestConnection(ctx context.Context) (wordpress.Connection, error)
	Types(ctx context.Context) ([]wordpress.PostType, error)
	Taxonomies(ctx context.Context) ([]wordpress.Taxonomy, error)
	CollectionTotal(ctx context.Context, restBase string) (int, error)
	ConfigurePlugin(ctx context.Context, cfg wordpress.PluginConfig) (wordpress.PluginState, error)
}

// Connector opens a client for a site URL with credentials. Production
// wiring returns a *wordpress.Client built on the SSRF-guarded transport.
type Connector func(siteURL string, creds wordpress.Credentials) (Site, error)

// Secrets is the part of the secrets store the service uses.
type Secrets = sitecreds.Secrets

// Deps are the service's collaborators and settings.
type Deps struct {
	Store   store.IntegrationStore
	Secrets Secrets
	Connect Connector
	// WebhookSecrets keeps each integration's webhook signing secret.
	WebhookSecrets WebhookSecrets
	// WebhookEndpoint is the full delivery URL sent to the plugin ("":
	// unknown, the plugin is not configured automatically).
	WebhookEndpoint string
	// SecretGrace is how long a rotated-out webhook secret stays valid.
	SecretGrace time.Duration
	// AllowHTTP accepts http:// site URLs (development only).
	AllowHTTP bool
	// StructureMaxAge is how old the stored structure and counts may be
	// before content_types refreshes them.
	StructureMaxAge time.Duration
	Logger          *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Schedule keeps each integration's scheduled sync (sync_interval_minutes)
	// in the due index the publisher reads; nil: not kept (tests).
	Schedule SyncScheduler
}

// SyncScheduler sets an integration's next scheduled sync (*store.Store).
type SyncScheduler interface {
	SetSyncDue(ctx context.Context, accountID, integrationID string, next *time.Time) error
}

// Service implements the integrations use cases.
type Service struct {
	deps  Deps
	creds *sitecreds.Store
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.StructureMaxAge <= 0 {
		d.StructureMaxAge = time.Hour
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.WebhookSecrets == nil {
		if ws, ok := d.Secrets.(webhooksecret.Secrets); ok {
			d.WebhookSecrets = webhooksecret.New(ws, d.Now)
		}
	}
	return &Service{deps: d, creds: sitecreds.New(d.Secrets)}
}

// Platforms the service can connect. Others are recognised by name so the
// API can say "not supported yet" instead of "invalid".
const PlatformWordPress = "wordpress"

var futurePlatforms = map[string]bool{"shopify": true, "webflow": true, "ghost": true, "wix": true, "squarespace": true}

// Config keys the service owns.
const (
	ConfigConnection = "connection"
	ConfigStructure  = "structure"
)

// Connection statuses.
const (
	StatusConnected = "connected"
	StatusError     = "error"
	// StatusUntested is the state before the first test and after the URL
	// or credentials change without a test.
	StatusUntested = "untested"
)

// Get returns one of the account's integrations.
func (s *Service) Get(ctx context.Context, accountID, id string) (store.Integration, error) {
	in, err := s.deps.Store.GetIntegration(ctx, accountID, id)
	if err != nil {
		return store.Integration{}, storeError(err)
	}
	return in, nil
}

// List returns one page of the account's integrations.
func (s *Service) List(ctx context.Context, accountID string, f store.IntegrationFilter, p store.PageRequest) (store.Page[store.Integration], error) {
	page, err := s.deps.Store.ListIntegrations(ctx, accountID, f, p)
	return page, storeError(err)
}

// mutate applies change to the stored integration under optimistic locking,
// re-reading and re-applying when a concurrent writer got there first, so a
// service-managed update never overwrites a caller's change.
func (s *Service) mutate(ctx context.Context, accountID, id string, change func(*store.Integration) error) (store.Integration, error) {
	const attempts = 4
	for i := 0; ; i++ {
		cur, err := s.deps.Store.GetIntegration(ctx, accountID, id)
		if err != nil {
			return store.Integration{}, storeError(err)
		}
		if err := change(&cur); err != nil {
			return store.Integration{}, err
		}
		out, err := s.deps.Store.UpdateIntegration(ctx, cur)
		if errors.Is(err, store.ErrPreconditionFailed) && i+1 < attempts {
			continue
		}
		if err != nil {
			return store.Integration{}, storeError(err)
		}
		return out, nil
	}
}

func (s *Service) log(ctx context.Context, in store.Integration) context.Context {
	return logging.With(ctx, logging.IntegrationID(in.ID), logging.AccountID(in.AccountID))
}

// storeError maps the store's typed errors to application errors. Not found
// is the same whether the item is missing or another account's, so
// existence never leaks across tenants.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apperr.Wrap(err, apperr.NotFound, "No integration with that ID in your account")
	case errors.Is(err, store.ErrInvalidCursor):
		return &apperr.Error{Code: apperr.Invalid, Field: "cursor", Message: "cursor is not one this API returned for this listing", Err: err}
	case errors.Is(err, store.ErrPreconditionFailed):
		return apperr.Wrap(err, apperr.PreconditionFailed, "The integration changed since you read it; read it again and retry with its current version")
	case errors.Is(err, store.ErrItemTooLarge):
		return apperr.Wrap(err, apperr.PayloadTooLarge, "The integration would exceed the storage size limit; make config_json smaller")
	case errors.Is(err, store.ErrInvalid):
		return apperr.Wrap(err, apperr.Invalid, "A required field is missing")
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		e := apperr.Wrap(err, apperr.Conflict, "%s", conflictMessage(ce))
		switch ce.Reason {
		case store.ConflictSitePlatform:
			e.Field = "site_id"
		case store.ConflictURL:
			e.Field = "external_site_url"
		}
		return e
	}
	return fmt.Errorf("integration store: %w", err)
}

func conflictMessage(ce *store.ConflictError) string {
	switch ce.Reason {
	case store.ConflictSitePlatform:
		return "This site already has an integration for that platform: " + ce.Detail
	case store.ConflictURL:
		return "Another integration in your account already connects this URL: " + ce.Detail
	}
	return ce.Detail
}
