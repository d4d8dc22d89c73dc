package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/integrations"
	"github.com/igny8/integrations/shared/webhooksecret"
)

func TestWebhookSecretIsShownOnceConfiguresThePluginRotatesAndIsDeleted(t *testing.T) {
	e := newAPIEnv(t)
	e.wp.InstallPlugin()
	created := call(t, e.h, "POST", "/api/v1/integration/", accountA, e.createBody("site-1", e.wp.Password))
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	body := created.json(t)
	id := body["id"].(string)
	secret, _ := body["webhook_secret"].(string)
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) != 32 {
		t.Fatalf("webhook_secret = %q, want whsec_ + base64 of 32 bytes", secret)
	}
	if created.headers["Cache-Control"] != "no-store" {
		t.Errorf("the response with the secret may be cached: Cache-Control %q", created.headers["Cache-Control"])
	}
	// The plugin was configured by the create's connection test.
	plugin := body["connection"].(map[string]any)["plugin"].(map[string]any)
	if plugin["detected"] != true || plugin["configured"] != true || plugin["plugin_version"] != "1.0.0-fake" {
		t.Fatalf("connection.plugin = %v", plugin)
	}
	cfg, _ := e.wp.Plugin()
	if cfg.Secret != secret || cfg.IntegrationID != id || cfg.Endpoint != "http://127.0.0.1:3001/api/v1/integration/webhook/wordpress/" {
		t.Fatalf("the plugin holds %+v", cfg)
	}

	// No other response shows it.
	var shown [][]byte
	for _, r := range []response{
		call(t, e.h, "GET", "/api/v1/integration/"+id+"/", accountA, ""),
		call(t, e.h, "GET", "/api/v1/integration/", accountA, ""),
		call(t, e.h, "POST", "/api/v1/integration/"+id+"/test_connection/", accountA, ""),
		call(t, e.h, "PATCH", "/api/v1/integration/"+id+"/", accountA, `{"sync_enabled": true}`),
	} {
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		shown = append(shown, r.body)
	}
	if cfg, _ := e.wp.Plugin(); cfg.Posts != 2 {
		t.Fatalf("test_connection configured the plugin %d times in all, want 2 (create and test)", cfg.Posts)
	}

	// Rotation shows the new one once and sends it to the plugin; the old
	// one stays valid for the grace period.
	rot := call(t, e.h, "POST", "/api/v1/integration/"+id+"/webhook_secret/", accountA, "")
	if rot.status != 200 {
		t.Fatalf("rotate: %d %s", rot.status, rot.body)
	}
	var r integrations.SecretRotation
	if err := json.Unmarshal(rot.body, &r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.WebhookSecret, "whsec_") || r.WebhookSecret == secret || r.IntegrationID != id {
		t.Fatalf("rotation = %+v", r)
	}
	if r.PreviousSecretValidUntil == nil || time.Until(*r.PreviousSecretValidUntil) < 59*time.Minute || time.Until(*r.PreviousSecretValidUntil) > time.Hour {
		t.Fatalf("previous_secret_valid_until = %v, want an hour from now", r.PreviousSecretValidUntil)
	}
	if r.Plugin == nil || !r.Plugin.Configured {
		t.Fatalf("rotation did not configure the plugin: %+v", r.Plugin)
	}
	if cfg, _ := e.wp.Plugin(); cfg.Secret != r.WebhookSecret {
		t.Fatal("the plugin still holds the old secret")
	}
	stored, err := e.secretValue(t, webhooksecret.SecretName(id))
	if err != nil || !strings.Contains(stored, r.WebhookSecret) || !strings.Contains(stored, secret) {
		t.Fatalf("the stored secret must hold the new and (for the grace) the old value: %v", err)
	}
	got := call(t, e.h, "GET", "/api/v1/integration/"+id+"/", accountA, "")
	shown = append(shown, got.body)
	wh, _ := got.json(t)["config_json"].(map[string]any)["webhook"].(map[string]any)
	if wh["secret_set"] != true || wh["previous_secret_valid_until"] == nil {
		t.Fatalf("config_json.webhook = %v", wh)
	}
	for _, b := range shown {
		for _, s := range []string{secret, r.WebhookSecret, strings.TrimPrefix(secret, "whsec_")} {
			if strings.Contains(string(b), s) {
				t.Fatalf("a response other than create/rotate shows a webhook secret: %s", b)
			}
		}
	}
	for _, s := range []string{secret, r.WebhookSecret} {
		if strings.Contains(e.logs.String(), strings.TrimPrefix(s, "whsec_")) {
			t.Fatal("a log line contains a webhook secret")
		}
	}
	// Another account cannot rotate it.
	if r := call(t, e.h, "POST", "/api/v1/integration/"+id+"/webhook_secret/", accountB, ""); r.status != 404 {
		t.Fatalf("another account's rotation: %d", r.status)
	}

	// Deleting the integration deletes the secret.
	if r := call(t, e.h, "DELETE", "/api/v1/integration/"+id+"/", accountA, ""); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	if _, err := e.secretValue(t, webhooksecret.SecretName(id)); err == nil {
		t.Fatal("the webhook secret survived the delete")
	}
}

func TestConnectionReportsASiteWithoutThePlugin(t *testing.T) {
	e := newAPIEnv(t)
	body := e.create(t, accountA, "site-1")
	plugin := body["connection"].(map[string]any)["plugin"].(map[string]any)
	if plugin["detected"] != false || plugin["configured"] != false {
		t.Fatalf("connection.plugin = %v, want not detected", plugin)
	}
	// Rotation without the plugin: the new secret, no plugin report.
	r := call(t, e.h, "POST", "/api/v1/integration/"+body["id"].(string)+"/webhook_secret/", accountA, "")
	if r.status != 200 || r.json(t)["plugin"] != nil {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
}

func TestAPluginThatRefusesItsConfigurationOnlyWarns(t *testing.T) {
	e := newAPIEnv(t)
	e.wp.InstallPlugin()
	e.wp.ForbidPluginConfig() // an editor's Application Password
	body := e.create(t, accountA, "site-1")
	conn := body["connection"].(map[string]any)
	plugin := conn["plugin"].(map[string]any)
	warning, _ := plugin["warning"].(map[string]any)
	if conn["status"] != "connected" || body["connection_status"] != "connected" {
		t.Fatalf("a plugin failure failed the connection: %v", conn)
	}
	if plugin["detected"] != true || plugin["configured"] != false || warning["code"] != "forbidden" || warning["hint"] == "" {
		t.Fatalf("connection.plugin = %v, want detected, not configured, a forbidden warning with a hint", plugin)
	}
	// The outcome is kept in config_json.connection.
	got := call(t, e.h, "GET", "/api/v1/integration/"+body["id"].(string)+"/", accountA, "").json(t)
	stored := got["config_json"].(map[string]any)["connection"].(map[string]any)["plugin"].(map[string]any)
	if stored["configured"] != false || stored["detected"] != true {
		t.Fatalf("config_json.connection.plugin = %v", stored)
	}
}
