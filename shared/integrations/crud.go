package integrations

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/siteurl"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/webhooksecret"
)

// Field limits. WordPress user logins are at most 60 characters;
// Application Passwords are 24 characters (29 with the spaces WordPress
// shows), so the bounds are generous without accepting megabytes.
const (
	MaxSiteIDLength     = 128
	MaxUsernameLength   = 60
	MinPasswordLength   = 8
	MaxPasswordLength   = 256
	MaxConfigJSONBytes  = 32 << 10
	maxConfigJSONDepth  = 8
	passwordLast4Length = 4
)

var siteIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// Credentials are a site's WordPress credentials as the caller sends them.
type Credentials = sitecreds.Credentials

// CreateInput is a new integration as the caller describes it.
type CreateInput struct {
	AccountID       string
	SiteID          string
	Platform        string
	ExternalSiteURL string
	Credentials     *Credentials
	// IsActive and SyncEnabled default to true.
	IsActive    *bool
	SyncEnabled *bool
	// SyncIntervalMinutes schedules incremental pulls (nil or 0: none).
	SyncIntervalMinutes *int
	Config              map[string]any
}

// UpdateInput changes an integration. Nil fields are left as they are
// (PATCH); the API's PUT fills every field.
type UpdateInput struct {
	AccountID string
	ID        string
	// ExpectedVersion is the version the caller read (If-Match); 0 means
	// any version.
	ExpectedVersion int64
	SiteID          *string
	Platform        *string
	ExternalSiteURL *string
	IsActive        *bool
	SyncEnabled     *bool
	// SyncIntervalMinutes changes the scheduled sync (0 turns it off).
	SyncIntervalMinutes *int
	// Config replaces the caller's part of config_json when non-nil.
	Config map[string]any
	// Username and ApplicationPassword rotate the credentials: a new secret
	// version is written and the connection is tested again.
	Username            *string
	ApplicationPassword *string
}

// Result is an integration after a change, with the connection test the
// change triggered (nil when nothing connection-related changed).
type Result struct {
	Integration store.Integration
	Connection  *ConnectionReport
	// WebhookSecret is set by Create only: the one time the secret is shown.
	WebhookSecret string
}

// Create validates and normalises the input, stores the credentials in
// Secrets Manager, stores the integration, then tests the connection and
// reads the site's structure (the seed's setup flow). A site that cannot be
// reached is still saved, with connection_status "error" and the diagnosis,
// so the user can fix the site and test again.
func (s *Service) Create(ctx context.Context, in CreateInput) (Result, error) {
	siteID, err := validateSiteID(in.SiteID)
	if err != nil {
		return Result{}, err
	}
	if err := validatePlatform(in.Platform); err != nil {
		return Result{}, err
	}
	u, err := s.normalizeURL(in.ExternalSiteURL)
	if err != nil {
		return Result{}, err
	}
	if in.Credentials == nil {
		return Result{}, apperr.Field(apperr.Invalid, "credentials", "credentials are required: the WordPress username and an Application Password")
	}
	creds, err := validateCredentials(*in.Credentials, true)
	if err != nil {
		return Result{}, err
	}
	cfg, err := validateConfig(in.Config)
	if err != nil {
		return Result{}, err
	}
	interval, err := validateSyncInterval(in.SyncIntervalMinutes, 0)
	if err != nil {
		return Result{}, err
	}
	id := s.deps.Store.NewID()
	it := store.Integration{
		AccountID:           in.AccountID,
		ID:                  id,
		SiteID:              siteID,
		Platform:            in.Platform,
		ExternalSiteURL:     u,
		IsActive:            boolOr(in.IsActive, true),
		SyncEnabled:         boolOr(in.SyncEnabled, true),
		SyncIntervalMinutes: interval,
		SyncStatus:          "idle",
		ConnectionStatus:    StatusUntested,
		Config:              cfg,
		CredentialsSecret:   sitecreds.SecretName(id),
		Username:            creds.Username,
		PasswordLast4:       last4(creds.ApplicationPassword),
		WebhookSecretName:   webhooksecret.SecretName(id),
	}
	ctx = s.log(ctx, it)
	// The secret first: if storing the integration then fails, what is left
	// behind is an unreferenced secret, never an integration that claims
	// credentials it does not have.
	if err := s.creds.Put(ctx, it, creds); err != nil {
		return Result{}, err
	}
	secret, err := s.createWebhookSecret(ctx, it)
	if err == nil {
		it.Config = withWebhookInfo(it.Config, WebhookInfo{SecretSet: true, SecretRotatedAt: s.deps.Now().UTC()})
	}
	var created store.Integration
	if err == nil {
		created, err = s.deps.Store.CreateIntegration(ctx, it)
		err = storeError(err)
	}
	if err != nil {
		for _, name := range []string{it.CredentialsSecret, it.WebhookSecretName} {
			if derr := s.creds.Delete(ctx, name); derr != nil {
				s.deps.Logger.WarnContext(ctx, "could not remove a secret of an integration that was not created", logging.Err(derr))
			}
		}
		return Result{}, err
	}
	s.deps.Logger.InfoContext(ctx, "integration created", logging.String("site_url", u))
	if err := s.scheduleSync(ctx, created, 0); err != nil {
		return Result{}, err
	}
	res, err := s.testAndDescribe(ctx, created, creds, secret)
	res.WebhookSecret = secret
	return res, err
}

// Update applies a PUT or PATCH. Changing the URL or the credentials tests
// the connection again.
func (s *Service) Update(ctx context.Context, in UpdateInput) (Result, error) {
	cur, err := s.deps.Store.GetIntegration(ctx, in.AccountID, in.ID)
	if err != nil {
		return Result{}, storeError(err)
	}
	ctx = s.log(ctx, cur)
	if in.ExpectedVersion != 0 && in.ExpectedVersion != cur.Version {
		return Result{}, storeError(fmt.Errorf("update integration %s: version %d, stored %d: %w", cur.ID, in.ExpectedVersion, cur.Version, store.ErrPreconditionFailed))
	}
	next := cur
	if in.SiteID != nil {
		if next.SiteID, err = validateSiteID(*in.SiteID); err != nil {
			return Result{}, err
		}
	}
	if in.Platform != nil {
		if err := validatePlatform(*in.Platform); err != nil {
			return Result{}, err
		}
		next.Platform = *in.Platform
	}
	if in.ExternalSiteURL != nil {
		if next.ExternalSiteURL, err = s.normalizeURL(*in.ExternalSiteURL); err != nil {
			return Result{}, err
		}
	}
	if in.IsActive != nil {
		next.IsActive = *in.IsActive
	}
	if in.SyncEnabled != nil {
		next.SyncEnabled = *in.SyncEnabled
	}
	if next.SyncIntervalMinutes, err = validateSyncInterval(in.SyncIntervalMinutes, cur.SyncIntervalMinutes); err != nil {
		return Result{}, err
	}
	if in.Config != nil {
		cfg, err := validateConfig(in.Config)
		if err != nil {
			return Result{}, err
		}
		next.Config = mergeManaged(cfg, cur.Config)
	}
	rotate := in.Username != nil || in.ApplicationPassword != nil
	var creds Credentials
	if rotate {
		creds, err = s.rotatedCredentials(ctx, cur, in)
		if err != nil {
			return Result{}, err
		}
		next.Username, next.PasswordLast4 = creds.Username, last4(creds.ApplicationPassword)
		if next.CredentialsSecret == "" {
			next.CredentialsSecret = sitecreds.SecretName(cur.ID)
		}
	}
	reconnect := rotate || next.ExternalSiteURL != cur.ExternalSiteURL
	if reconnect {
		next.ConnectionStatus = StatusUntested
	}
	next.Version = cur.Version
	if rotate {
		// The version was checked above; a concurrent change between here
		// and the write below fails the write with 412 and the caller
		// retries, re-sending the same password.
		if err := s.creds.Put(ctx, next, creds); err != nil {
			return Result{}, err
		}
		s.deps.Logger.InfoContext(ctx, "integration credentials rotated")
	}
	saved, err := s.deps.Store.UpdateIntegration(ctx, next)
	if err != nil {
		return Result{}, storeError(err)
	}
	if err := s.scheduleSync(ctx, saved, cur.SyncIntervalMinutes); err != nil {
		return Result{}, err
	}
	if !reconnect {
		return Result{Integration: saved}, nil
	}
	if !rotate {
		if creds, err = s.creds.Get(ctx, saved); err != nil {
			return s.recordFailure(ctx, saved, err)
		}
	}
	return s.testAndDescribe(ctx, saved, creds, "")
}

// Delete removes the integration and its secrets. The credentials go first
// so that a failure half-way leaves an integration the user can delete
// again, never a live credential nobody references.
func (s *Service) Delete(ctx context.Context, accountID, id string, expectedVersion int64) error {
	cur, err := s.deps.Store.GetIntegration(ctx, accountID, id)
	if err != nil {
		return storeError(err)
	}
	ctx = s.log(ctx, cur)
	if expectedVersion != 0 && expectedVersion != cur.Version {
		return storeError(fmt.Errorf("delete integration %s: version %d, stored %d: %w", id, expectedVersion, cur.Version, store.ErrPreconditionFailed))
	}
	for _, name := range []string{cur.CredentialsSecret, cur.WebhookSecretName} {
		if name == "" {
			continue
		}
		if err := s.creds.Delete(ctx, name); err != nil {
			return fmt.Errorf("delete integration %s: %w", id, err)
		}
	}
	if err := s.deps.Store.DeleteIntegration(ctx, accountID, id, cur.Version); err != nil {
		return storeError(err)
	}
	s.deps.Logger.InfoContext(ctx, "integration deleted")
	return nil
}

// rotatedCredentials merges a rotation request with the stored secret: a
// new username alone keeps the password, and vice versa.
func (s *Service) rotatedCredentials(ctx context.Context, cur store.Integration, in UpdateInput) (Credentials, error) {
	c := Credentials{Username: cur.Username}
	if in.Username != nil {
		c.Username = *in.Username
	}
	if in.ApplicationPassword != nil {
		c.ApplicationPassword = *in.ApplicationPassword
	} else {
		old, err := s.creds.Get(ctx, cur)
		if err != nil {
			return Credentials{}, apperr.Field(apperr.Invalid, "credentials.application_password", "Send the Application Password too: no stored password to keep")
		}
		c.ApplicationPassword = old.ApplicationPassword
	}
	return validateCredentials(c, true)
}

func (s *Service) normalizeURL(raw string) (string, error) {
	u, err := siteurl.Normalize(raw, siteurl.Options{AllowHTTP: s.deps.AllowHTTP})
	if err != nil {
		return "", apperr.Field(apperr.Invalid, "external_site_url", "%s", err.Error())
	}
	return u, nil
}

func validateSiteID(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", apperr.Field(apperr.Invalid, "site_id", "site_id is required")
	case len(v) > MaxSiteIDLength:
		return "", apperr.Field(apperr.Invalid, "site_id", "site_id must be at most %d characters", MaxSiteIDLength)
	case !siteIDPattern.MatchString(v):
		return "", apperr.Field(apperr.Invalid, "site_id", "site_id may contain letters, digits, '.', '_', ':' and '-'")
	}
	return v, nil
}

func validatePlatform(p string) error {
	switch {
	case p == PlatformWordPress:
		return nil
	case p == "":
		return apperr.Field(apperr.Invalid, "platform", "platform is required; the supported platform is %q", PlatformWordPress)
	case futurePlatforms[strings.ToLower(p)]:
		return apperr.Field(apperr.Unprocessable, "platform", "%s is not supported yet; the supported platform is %q", p, PlatformWordPress)
	}
	return apperr.Field(apperr.Unprocessable, "platform", "platform %q is not supported; the supported platform is %q", truncate(p, 32), PlatformWordPress)
}

func validateCredentials(c Credentials, needPassword bool) (Credentials, error) {
	c.Username = strings.TrimSpace(c.Username)
	c.ApplicationPassword = strings.TrimSpace(c.ApplicationPassword)
	switch {
	case c.Username == "":
		return c, apperr.Field(apperr.Invalid, "credentials.username", "the WordPress username is required")
	case utf8.RuneCountInString(c.Username) > MaxUsernameLength:
		return c, apperr.Field(apperr.Invalid, "credentials.username", "the WordPress username must be at most %d characters", MaxUsernameLength)
	case strings.ContainsAny(c.Username, ":\r\n"):
		// Basic auth splits on the first colon.
		return c, apperr.Field(apperr.Invalid, "credentials.username", "the WordPress username must not contain ':' or line breaks")
	case needPassword && c.ApplicationPassword == "":
		return c, apperr.Field(apperr.Invalid, "credentials.application_password", "an Application Password is required: create one under Users → Profile → Application Passwords in WordPress")
	case len(c.ApplicationPassword) > MaxPasswordLength:
		return c, apperr.Field(apperr.Invalid, "credentials.application_password", "the Application Password must be at most %d characters", MaxPasswordLength)
	case c.ApplicationPassword != "" && len(strings.ReplaceAll(c.ApplicationPassword, " ", "")) < MinPasswordLength:
		return c, apperr.Field(apperr.Invalid, "credentials.application_password", "that is too short to be an Application Password (WordPress makes them 24 characters)")
	case strings.ContainsAny(c.ApplicationPassword, "\r\n"):
		return c, apperr.Field(apperr.Invalid, "credentials.application_password", "the Application Password must not contain line breaks")
	}
	return c, nil
}

// validateConfig bounds the caller's config_json. The keys the service owns
// are read-only: they are dropped, like the integration's other read-only
// fields, so a client can send back what it read.
func validateConfig(in map[string]any) (map[string]any, error) {
	cfg := make(map[string]any, len(in))
	for k, v := range in {
		if !slices.Contains(managedKeys, k) {
			cfg[k] = v
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, apperr.Field(apperr.Invalid, "config_json", "config_json cannot be encoded")
	}
	if len(raw) > MaxConfigJSONBytes {
		return nil, apperr.Field(apperr.Invalid, "config_json", "config_json must be at most %d bytes as JSON", MaxConfigJSONBytes)
	}
	if depth(cfg) > maxConfigJSONDepth {
		return nil, apperr.Field(apperr.Invalid, "config_json", "config_json must nest at most %d levels deep", maxConfigJSONDepth)
	}
	return cfg, nil
}

// mergeManaged keeps the service-owned keys of old in the caller's new config.
func mergeManaged(next, old map[string]any) map[string]any {
	out := make(map[string]any, len(next)+len(managedKeys))
	for k, v := range next {
		out[k] = v
	}
	for _, k := range managedKeys {
		if v, ok := old[k]; ok {
			out[k] = v
		}
	}
	return out
}

func depth(v any) int {
	switch t := v.(type) {
	case map[string]any:
		d := 0
		for _, c := range t {
			d = max(d, depth(c))
		}
		return d + 1
	case []any:
		d := 0
		for _, c := range t {
			d = max(d, depth(c))
		}
		return d + 1
	}
	return 0
}

func last4(password string) string {
	p := strings.ReplaceAll(password, " ", "")
	if len(p) <= passwordLast4Length*2 {
		// Too short to reveal any of it safely.
		return ""
	}
	return p[len(p)-passwordLast4Length:]
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Scheduled sync interval bounds, in minutes.
const (
	MinSyncIntervalMinutes = 15
	MaxSyncIntervalMinutes = 7 * 24 * 60
)

// validateSyncInterval returns the interval to store: v when given (0 or
// MinSyncIntervalMinutes to MaxSyncIntervalMinutes), else cur.
func validateSyncInterval(v *int, cur int) (int, error) {
	if v == nil {
		return cur, nil
	}
	if *v != 0 && (*v < MinSyncIntervalMinutes || *v > MaxSyncIntervalMinutes) {
		return 0, apperr.Field(apperr.Unprocessable, "sync_interval_minutes",
			"sync_interval_minutes must be 0 (off) or from %d to %d", MinSyncIntervalMinutes, MaxSyncIntervalMinutes)
	}
	return *v, nil
}

// scheduleSync puts the integration's next scheduled sync one interval from
// now when its interval changed (or takes it off the schedule at 0).
func (s *Service) scheduleSync(ctx context.Context, in store.Integration, oldInterval int) error {
	if s.deps.Schedule == nil || in.SyncIntervalMinutes == oldInterval {
		return nil
	}
	var next *time.Time
	if in.SyncIntervalMinutes > 0 {
		t := s.deps.Now().UTC().Add(time.Duration(in.SyncIntervalMinutes) * time.Minute)
		next = &t
	}
	if err := s.deps.Schedule.SetSyncDue(ctx, in.AccountID, in.ID, next); err != nil {
		return fmt.Errorf("schedule the sync of integration %s: %w", in.ID, err)
	}
	return nil
}

// withWebhookInfo returns cfg with config_json.webhook set to w.
func withWebhookInfo(cfg map[string]any, w WebhookInfo) map[string]any {
	in := store.Integration{Config: cfg}
	if err := setConfig(&in, ConfigWebhook, w); err != nil {
		return cfg
	}
	return in.Config
}
