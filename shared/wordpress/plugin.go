package wordpress

import (
	"context"
	"net/http"
	"slices"
)

// PluginNamespace is the REST namespace of the IGNY8 companion plugin; its
// presence in the REST index's namespaces means the plugin is active.
const PluginNamespace = "igny8/v1"

// HasPlugin reports whether the site's REST index lists the plugin.
func (s Site) HasPlugin() bool { return slices.Contains(s.Namespaces, PluginNamespace) }

// PluginConfig is what the service tells the plugin: where to deliver,
// which integration it is and the signing secret.
type PluginConfig struct {
	Endpoint      string `json:"endpoint"`
	IntegrationID string `json:"integration_id"`
	Secret        string `json:"secret"`
}

// String never shows the secret.
func (p PluginConfig) String() string {
	return "wordpress.PluginConfig{Endpoint:" + p.Endpoint + ", IntegrationID:" + p.IntegrationID + ", Secret:[redacted]}"
}

// PluginState is the plugin's answer: its configuration without the secret.
type PluginState struct {
	Endpoint      string `json:"endpoint"`
	IntegrationID string `json:"integration_id"`
	SecretSet     bool   `json:"secret_set"`
	PluginVersion string `json:"plugin_version"`
}

// ConfigurePlugin sends the plugin its configuration (POST
// /wp-json/igny8/v1/config, which needs manage_options). Sending the same
// configuration twice changes nothing, so the request may be retried.
func (c *Client) ConfigurePlugin(ctx context.Context, cfg PluginConfig) (PluginState, error) {
	var st PluginState
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: PluginNamespace + "/config", Body: cfg, Out: &st, Idempotent: true})
	return st, err
}
