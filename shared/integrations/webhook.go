package integrations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/webhooksecret"
	"github.com/igny8/integrations/shared/wordpress"
)

// ConfigWebhook is the service-owned config_json key describing the
// integration's webhook secret (never the secret itself).
const ConfigWebhook = "webhook"

// managedKeys are the config_json keys the service owns.
var managedKeys = []string{ConfigConnection, ConfigStructure, ConfigWebhook}

// WebhookSecrets creates, rotates and reads webhook signing secrets.
type WebhookSecrets interface {
	Create(ctx context.Context, in store.Integration) (string, error)
	Rotate(ctx context.Context, in store.Integration, grace time.Duration) (string, *time.Time, error)
	Current(ctx context.Context, in store.Integration) (string, error)
}

var _ WebhookSecrets = (*webhooksecret.Store)(nil)

// WebhookInfo is config_json.webhook.
type WebhookInfo struct {
	SecretSet bool `json:"secret_set"`
	// SecretRotatedAt is when the secret last changed (created or rotated).
	SecretRotatedAt time.Time `json:"secret_rotated_at"`
	// PreviousSecretValidUntil is when the secret before the last
	// rotation stops being accepted.
	PreviousSecretValidUntil *time.Time `json:"previous_secret_valid_until,omitempty"`
}

// PluginReport is what a connection test found out about the IGNY8
// companion plugin, kept in config_json.connection.plugin.
type PluginReport struct {
	// Detected: the site's REST index lists the plugin's namespace.
	Detected bool `json:"detected"`
	// Configured: the plugin accepted the delivery endpoint, the
	// integration ID and the current secret.
	Configured    bool   `json:"configured"`
	PluginVersion string `json:"plugin_version,omitempty"`
	Endpoint      string `json:"endpoint,omitempty"`
	// Warning says why a detected plugin could not be configured; it
	// never fails the connection test.
	Warning *Diagnosis `json:"warning,omitempty"`
}

// SecretRotation is the answer of a webhook secret rotation. The secret
// is shown here and in the create response only.
type SecretRotation struct {
	IntegrationID            string        `json:"integration_id"`
	WebhookSecret            string        `json:"webhook_secret"`
	PreviousSecretValidUntil *time.Time    `json:"previous_secret_valid_until"`
	Plugin                   *PluginReport `json:"plugin"`
}

// createWebhookSecret gives a new integration its secret.
func (s *Service) createWebhookSecret(ctx context.Context, in store.Integration) (string, error) {
	secret, err := s.deps.WebhookSecrets.Create(ctx, in)
	if err != nil {
		return "", fmt.Errorf("create the webhook secret: %w", err)
	}
	return secret, nil
}

// RotateWebhookSecret replaces the integration's webhook secret, keeps the
// old one valid for the configured grace period, sends the new one to the
// plugin when the site has it, and returns the new secret (once).
func (s *Service) RotateWebhookSecret(ctx context.Context, accountID, id string) (SecretRotation, error) {
	in, err := s.deps.Store.GetIntegration(ctx, accountID, id)
	if err != nil {
		return SecretRotation{}, storeError(err)
	}
	ctx = s.log(ctx, in)
	if in.WebhookSecretName == "" {
		in.WebhookSecretName = webhooksecret.SecretName(in.ID)
	}
	secret, until, err := s.deps.WebhookSecrets.Rotate(ctx, in, s.deps.SecretGrace)
	if err != nil {
		return SecretRotation{}, err
	}
	s.deps.Logger.InfoContext(ctx, "webhook secret rotated")
	// Saving the integration bumps its version, which is what makes every
	// warm receiver read the rotated secret instead of its cached copy.
	name := in.WebhookSecretName
	saved, err := s.mutate(ctx, accountID, id, func(cur *store.Integration) error {
		cur.WebhookSecretName = name
		return setConfig(cur, ConfigWebhook, WebhookInfo{SecretSet: true, SecretRotatedAt: s.deps.Now().UTC(), PreviousSecretValidUntil: until})
	})
	if err != nil {
		return SecretRotation{}, err
	}
	out := SecretRotation{IntegrationID: saved.ID, WebhookSecret: secret, PreviousSecretValidUntil: until}
	if report, ok := ConnectionOf(saved); ok && report.Site != nil && slices.Contains(report.Site.Namespaces, wordpress.PluginNamespace) {
		creds, err := s.creds.Get(ctx, saved)
		var plugin *PluginReport
		if err != nil {
			plugin = &PluginReport{Detected: true, Warning: pluginWarning(err)}
		} else {
			plugin = s.configurePlugin(ctx, saved, creds, secret)
		}
		out.Plugin = plugin
		if _, err := s.mutate(ctx, accountID, id, func(cur *store.Integration) error {
			r, ok := ConnectionOf(*cur)
			if !ok {
				return nil
			}
			r.Plugin = plugin
			return setConfig(cur, ConfigConnection, r)
		}); err != nil {
			s.deps.Logger.WarnContext(ctx, "could not record the plugin's configuration", logging.Err(err))
		}
	}
	return out, nil
}

// pluginStep runs after a successful connection test: when the site has the
// plugin, it sends the plugin its configuration. secret is the current
// secret when the caller has it ("" to read it).
func (s *Service) pluginStep(ctx context.Context, in store.Integration, creds Credentials, report *ConnectionReport, secret string) {
	if report.Status != StatusConnected || report.Site == nil {
		return
	}
	if !slices.Contains(report.Site.Namespaces, wordpress.PluginNamespace) {
		report.Plugin = &PluginReport{}
		return
	}
	if secret == "" {
		var err error
		if secret, err = s.deps.WebhookSecrets.Current(ctx, in); err != nil {
			if errors.Is(err, webhooksecret.ErrMissing) {
				report.Plugin = &PluginReport{Detected: true, Warning: &Diagnosis{Code: "webhook_secret_missing",
					Message: "This integration has no webhook secret yet.",
					Hint:    "Create one with POST /api/v1/integration/{id}/webhook_secret/; the plugin is configured with it."}}
				return
			}
			report.Plugin = &PluginReport{Detected: true, Warning: pluginWarning(err)}
			return
		}
	}
	report.Plugin = s.configurePlugin(ctx, in, creds, secret)
}

// configurePlugin sends the plugin its configuration. Failures become a
// warning: the connection itself works.
func (s *Service) configurePlugin(ctx context.Context, in store.Integration, creds Credentials, secret string) *PluginReport {
	r := &PluginReport{Detected: true}
	if s.deps.WebhookEndpoint == "" {
		r.Warning = &Diagnosis{Code: "webhook_endpoint_unknown", Message: "The service does not know its public webhook URL, so the plugin was not configured.",
			Hint: "Set WEBHOOK_PUBLIC_URL (the template sets it from the webhook function URL)."}
		return r
	}
	site, err := s.site(in, creds)
	if err != nil {
		r.Warning = pluginWarning(err)
		return r
	}
	st, err := site.ConfigurePlugin(ctx, wordpress.PluginConfig{Endpoint: s.deps.WebhookEndpoint, IntegrationID: in.ID, Secret: secret})
	if err != nil {
		r.Warning = pluginWarning(err)
		s.deps.Logger.WarnContext(ctx, "could not configure the WordPress plugin", logging.Err(err))
		return r
	}
	r.Configured = st.SecretSet && st.IntegrationID == in.ID
	r.PluginVersion, r.Endpoint = st.PluginVersion, st.Endpoint
	if !r.Configured {
		r.Warning = &Diagnosis{Code: "plugin_not_configured", Message: "The plugin answered but did not keep the configuration."}
	}
	s.deps.Logger.InfoContext(ctx, "WordPress plugin configured", logging.String("plugin_version", st.PluginVersion))
	return r
}

func pluginWarning(err error) *Diagnosis {
	if d, ok := diagnose(err); ok {
		if d.HTTPStatus == 403 || d.HTTPStatus == 401 {
			d.Hint = "Configuring the plugin needs an administrator's Application Password (manage_options); enter the endpoint, integration ID and secret on the plugin's settings page instead."
		}
		return d
	}
	return &Diagnosis{Code: "internal", Message: "Configuring the plugin failed on our side."}
}
