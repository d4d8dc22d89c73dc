package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func env(overrides map[string]string) func(string) string {
	base := map[string]string{
		"TABLE_NAME":     "t",
		"SYNC_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
		"SYNC_DLQ_URL":   "https://sqs.us-east-1.amazonaws.com/1/dlq",
		"SECRET_PREFIX":  "igny8/integrations/dev/",
	}
	for k, v := range overrides {
		base[k] = v
	}
	return func(k string) string { return base[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountClaim != "custom:account_id" || c.AdminScope != "igny8/admin" || c.SecretsCacheTTL != 5*time.Minute ||
		c.MaxBodyBytes != 1<<20 || c.AllowHTTP || c.AllowLoopback || c.Stage != "dev" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		want      []string
	}{
		{"missing table", map[string]string{"TABLE_NAME": ""}, []string{"TABLE_NAME is required"}},
		{"relative queue URL", map[string]string{"SYNC_QUEUE_URL": "queue"}, []string{"SYNC_QUEUE_URL must be an absolute URL"}},
		{"prefix without slash", map[string]string{"SECRET_PREFIX": "igny8"}, []string{"SECRET_PREFIX must end with '/'"}},
		{"bad bool", map[string]string{"DEV_ALLOW_HTTP": "yes please"}, []string{"DEV_ALLOW_HTTP must be true or false"}},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{"bad ttl", map[string]string{"SECRETS_CACHE_TTL": "5 minutes"}, []string{"SECRETS_CACHE_TTL"}},
		{"body too big", map[string]string{"API_MAX_BODY_BYTES": "10000000"}, []string{"API_MAX_BODY_BYTES"}},
		{"several at once", map[string]string{"TABLE_NAME": "", "SECRET_PREFIX": ""}, []string{"TABLE_NAME", "SECRET_PREFIX"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.overrides))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestEveryDeclaredVariableIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables {
		if v.Doc == "" || seen[v.Name] {
			t.Errorf("variable %s is undocumented or declared twice", v.Name)
		}
		seen[v.Name] = true
	}
}

func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variables {
		if !strings.Contains(string(readme), "| `"+v.Name+"` |") {
			t.Errorf("README's configuration table has no row for %s", v.Name)
		}
	}
}
