// Package config reads the service's configuration from environment
// variables and validates it once, at start-up, so that a misconfigured
// function fails its INIT phase with a message naming the variable instead of
// failing the first request.
//
// Every variable the code reads is listed in Variables; the template test
// checks that template.yaml sets each of them, and the README's configuration
// reference is written from the same list.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Variable describes one environment variable the service reads.
type Variable struct {
	Name     string
	Required bool
	Default  string
	Doc      string
}

// Variables is the complete list of environment variables read by this
// package. Nothing else in the service calls os.Getenv.
var Variables = []Variable{
	{Name: "STAGE", Default: "dev", Doc: "Deployment stage name (dev, prod, local); used in metric dimensions and log lines."},
	{Name: "TABLE_NAME", Required: true, Doc: "Name of the DynamoDB single table."},
	{Name: "SYNC_QUEUE_URL", Required: true, Doc: "URL of the SQS sync-jobs queue."},
	{Name: "SYNC_DLQ_URL", Required: true, Doc: "URL of the sync-jobs dead-letter queue (read for health reports)."},
	{Name: "SECRET_PREFIX", Required: true, Doc: "Prefix of every Secrets Manager secret the service owns, e.g. igny8/integrations/dev/. IAM policies are scoped to it."},
	{Name: "JWT_ACCOUNT_CLAIM", Default: "custom:account_id", Doc: "JWT claim that carries the caller's account ID."},
	{Name: "JWT_ADMIN_SCOPE", Default: "igny8/admin", Doc: "Scope (or Cognito group) that grants admin-only endpoints."},
	{Name: "LOG_LEVEL", Default: "info", Doc: "debug, info, warn or error."},
	{Name: "SECRETS_CACHE_TTL", Default: "5m", Doc: "How long a secret value is cached in memory (Go duration)."},
	{Name: "API_MAX_BODY_BYTES", Default: "1048576", Doc: "Largest accepted API request body in bytes; larger bodies get 413."},
	{Name: "STRUCTURE_MAX_AGE", Default: "1h", Doc: "How old a site's stored structure and per-type counts may be before content_types reads them from WordPress again (Go duration)."},
	{Name: "WORDPRESS_TIMEOUT", Default: "20s", Doc: "Timeout of one request to a WordPress site (Go duration); failed attempts are retried with backoff within the caller's own deadline."},
	{Name: "SYNC_EVENT_RETENTION_DAYS", Default: "30", Doc: "How many days sync events (the sync history) are kept before DynamoDB's TTL removes them."},
	{Name: "SITE_CONCURRENCY", Default: "4", Doc: "How many requests the sync workers together may have in flight to one WordPress site."},
	{Name: "SYNC_RETRY_BASE_DELAY", Default: "5s", Doc: "Delay before a failed sync job's first retry (Go duration); it doubles per receive up to 15 minutes, with full jitter. WordPress's Retry-After overrides it."},
	{Name: "MODEL_REGISTRY_CACHE_TTL", Default: "5m", Doc: "How long each function instance serves the AI model registry from memory before reading it from DynamoDB again (Go duration; 0 reads it on every use)."},
	{Name: "AI_PROVIDER_TIMEOUT", Default: "5s", Doc: "Timeout of one AI provider connection test (Go duration); it must leave room within the API function's 10 s timeout."},
	{Name: "OPENAI_BASE_URL", Default: "https://api.openai.com", Doc: "OpenAI API base URL (connection tests call <base>/v1/models)."},
	{Name: "ANTHROPIC_BASE_URL", Default: "https://api.anthropic.com", Doc: "Anthropic API base URL (connection tests call <base>/v1/models)."},
	{Name: "RUNWARE_BASE_URL", Default: "https://api.runware.ai", Doc: "Runware API base URL (connection tests POST the authentication task to <base>/v1)."},
	{Name: "BRIA_BASE_URL", Default: "https://engine.prod.bria-api.com", Doc: "Bria API base URL (connection tests call <base>/v2/status/<id>)."},
	{Name: "WEBHOOK_PUBLIC_URL", Default: "", Doc: "Public base URL of the webhook function URL (https://<id>.lambda-url.<region>.on.aws/; the template sets it from the function URL). The service configures the WordPress plugin to deliver to this URL plus /api/v1/integration/webhook/wordpress/; empty turns the plugin's automatic configuration off."},
	{Name: "WEBHOOK_RATE_PER_SECOND", Default: "10", Doc: "Webhook deliveries accepted per second per integration, on average; more get 429 with Retry-After."},
	{Name: "WEBHOOK_RATE_BURST", Default: "20", Doc: "Webhook deliveries one integration may send in a burst (at least WEBHOOK_RATE_PER_SECOND): the limit counts BURST deliveries per window of BURST/RATE seconds."},
	{Name: "WEBHOOK_SECRET_GRACE", Default: "24h", Doc: "How long the previous webhook secret stays valid after a rotation (Go duration, 0 to 720h)."},
	{Name: "DEV_ALLOW_HTTP", Default: "false", Doc: "Development only: accept http:// site URLs."},
	{Name: "DEV_ALLOW_LOOPBACK", Default: "false", Doc: "Development only: let the SSRF guard dial loopback addresses (a local WordPress)."},
}

// Config is the validated configuration shared by all functions.
type Config struct {
	Stage           string
	TableName       string
	SyncQueueURL    string
	SyncDLQURL      string
	SecretPrefix    string
	AccountClaim    string
	AdminScope      string
	LogLevel        slog.Level
	SecretsCacheTTL time.Duration
	MaxBodyBytes    int64
	// StructureMaxAge bounds the age of a site's cached structure and counts.
	StructureMaxAge time.Duration
	// WordPressTimeout is the per-attempt timeout of WordPress requests.
	WordPressTimeout time.Duration
	// EventRetention is how long sync events are kept.
	EventRetention time.Duration
	// SiteConcurrency bounds concurrent sync jobs per site.
	SiteConcurrency int
	// RetryBaseDelay is the sync worker's first backoff.
	RetryBaseDelay time.Duration
	AllowHTTP      bool
	AllowLoopback  bool
	// ModelCacheTTL is how long the model registry is served from memory.
	ModelCacheTTL time.Duration
	// AIProviderTimeout bounds one provider connection test.
	AIProviderTimeout time.Duration
	// AI provider API base URLs (tests point them at local servers).
	OpenAIBaseURL, AnthropicBaseURL, RunwareBaseURL, BriaBaseURL string
	// WebhookPublicURL is the webhook function URL's base ("" when unknown).
	WebhookPublicURL string
	// WebhookRate and WebhookBurst are the per-integration delivery limit.
	WebhookRate, WebhookBurst int
	// WebhookSecretGrace is how long a rotated-out webhook secret stays valid.
	WebhookSecretGrace time.Duration
}

// Load reads and validates the configuration. getenv is os.Getenv in
// production and a map lookup in tests. All problems are reported together,
// each naming its variable.
func Load(getenv func(string) string) (Config, error) {
	v := func(name string) string {
		if s := strings.TrimSpace(getenv(name)); s != "" {
			return s
		}
		for _, d := range Variables {
			if d.Name == name {
				return d.Default
			}
		}
		panic("config: variable not declared in Variables: " + name)
	}
	var errs []error
	required := func(name string) string {
		s := v(name)
		if s == "" {
			errs = append(errs, fmt.Errorf("%s is required but not set", name))
		}
		return s
	}
	boolean := func(name string) bool {
		b, err := strconv.ParseBool(v(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s must be true or false, got %q", name, v(name)))
		}
		return b
	}

	duration := func(name string, lo, hi time.Duration) time.Duration {
		d, err := time.ParseDuration(v(name))
		if err != nil || d < lo || d > hi {
			errs = append(errs, fmt.Errorf("%s must be a Go duration from %s to %s, got %q", name, lo, hi, v(name)))
		}
		return d
	}

	c := Config{
		Stage:        v("STAGE"),
		TableName:    required("TABLE_NAME"),
		SyncQueueURL: required("SYNC_QUEUE_URL"),
		SyncDLQURL:   required("SYNC_DLQ_URL"),
		SecretPrefix: required("SECRET_PREFIX"),
		AccountClaim: v("JWT_ACCOUNT_CLAIM"),
		AdminScope:   v("JWT_ADMIN_SCOPE"),
		AllowHTTP:    boolean("DEV_ALLOW_HTTP"),

		AllowLoopback: boolean("DEV_ALLOW_LOOPBACK"),
	}

	for _, name := range []string{"SYNC_QUEUE_URL", "SYNC_DLQ_URL"} {
		if s := v(name); s != "" {
			if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s must be an absolute URL, got %q", name, s))
			}
		}
	}
	if c.SecretPrefix != "" && !strings.HasSuffix(c.SecretPrefix, "/") {
		errs = append(errs, fmt.Errorf("SECRET_PREFIX must end with '/', got %q", c.SecretPrefix))
	}
	if err := c.LogLevel.UnmarshalText([]byte(v("LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", v("LOG_LEVEL")))
	}
	ttl, err := time.ParseDuration(v("SECRETS_CACHE_TTL"))
	if err != nil || ttl < 0 {
		errs = append(errs, fmt.Errorf("SECRETS_CACHE_TTL must be a non-negative Go duration such as 5m, got %q", v("SECRETS_CACHE_TTL")))
	}
	c.SecretsCacheTTL = ttl
	c.StructureMaxAge = duration("STRUCTURE_MAX_AGE", time.Second, 7*24*time.Hour)
	c.WordPressTimeout = duration("WORDPRESS_TIMEOUT", time.Second, 5*time.Minute)
	days, err := strconv.Atoi(v("SYNC_EVENT_RETENTION_DAYS"))
	if err != nil || days < 1 || days > 3650 {
		errs = append(errs, fmt.Errorf("SYNC_EVENT_RETENTION_DAYS must be a whole number of days from 1 to 3650, got %q", v("SYNC_EVENT_RETENTION_DAYS")))
	}
	c.EventRetention = time.Duration(days) * 24 * time.Hour
	conc, err := strconv.Atoi(v("SITE_CONCURRENCY"))
	if err != nil || conc < 1 || conc > 32 {
		errs = append(errs, fmt.Errorf("SITE_CONCURRENCY must be a whole number from 1 to 32, got %q", v("SITE_CONCURRENCY")))
	}
	c.SiteConcurrency = conc
	c.RetryBaseDelay = duration("SYNC_RETRY_BASE_DELAY", 0, 5*time.Minute)
	c.ModelCacheTTL = duration("MODEL_REGISTRY_CACHE_TTL", 0, 24*time.Hour)
	c.AIProviderTimeout = duration("AI_PROVIDER_TIMEOUT", 100*time.Millisecond, 60*time.Second)
	providerURL := func(name string) string {
		s := v(name)
		u, err := url.Parse(s)
		switch {
		case err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
			errs = append(errs, fmt.Errorf("%s must be a base URL such as https://api.example.com (no path), got %q", name, s))
		case u.Scheme != "https" && !(u.Scheme == "http" && c.AllowHTTP):
			errs = append(errs, fmt.Errorf("%s must use https (http only with DEV_ALLOW_HTTP=true), got %q", name, s))
		}
		return strings.TrimRight(s, "/")
	}
	c.OpenAIBaseURL = providerURL("OPENAI_BASE_URL")
	c.AnthropicBaseURL = providerURL("ANTHROPIC_BASE_URL")
	c.RunwareBaseURL = providerURL("RUNWARE_BASE_URL")
	c.BriaBaseURL = providerURL("BRIA_BASE_URL")
	c.WebhookPublicURL = strings.TrimRight(v("WEBHOOK_PUBLIC_URL"), "/")
	if c.WebhookPublicURL != "" {
		if u, err := url.Parse(c.WebhookPublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("WEBHOOK_PUBLIC_URL must be an http(s) URL without a query, got %q", c.WebhookPublicURL))
		}
	}
	rate, err := strconv.Atoi(v("WEBHOOK_RATE_PER_SECOND"))
	if err != nil || rate < 1 || rate > 10000 {
		errs = append(errs, fmt.Errorf("WEBHOOK_RATE_PER_SECOND must be a whole number from 1 to 10000, got %q", v("WEBHOOK_RATE_PER_SECOND")))
	}
	burst, err := strconv.Atoi(v("WEBHOOK_RATE_BURST"))
	if err != nil || burst < rate || burst > 60*rate {
		errs = append(errs, fmt.Errorf("WEBHOOK_RATE_BURST must be a whole number from WEBHOOK_RATE_PER_SECOND to 60 times it, got %q", v("WEBHOOK_RATE_BURST")))
	}
	c.WebhookRate, c.WebhookBurst = rate, burst
	c.WebhookSecretGrace = duration("WEBHOOK_SECRET_GRACE", 0, 720*time.Hour)
	body, err := strconv.ParseInt(v("API_MAX_BODY_BYTES"), 10, 64)
	if err != nil || body < 1024 || body > 6<<20 {
		// 6 MB is the Lambda synchronous invocation payload limit.
		errs = append(errs, fmt.Errorf("API_MAX_BODY_BYTES must be an integer between 1024 and 6291456, got %q", v("API_MAX_BODY_BYTES")))
	}
	c.MaxBodyBytes = body
	if c.AccountClaim == "" {
		errs = append(errs, errors.New("JWT_ACCOUNT_CLAIM must not be empty"))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}
