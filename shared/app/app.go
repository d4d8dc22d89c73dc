// Package app wires the service's dependencies — configuration, AWS clients,
// store, secrets, job sender — into the four Lambda handlers. The functions'
// main packages and the local stack both build handlers here, so the code
// that runs locally is the code that runs in Lambda.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/aiproviders"
	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/aisettings"
	"github.com/igny8/integrations/shared/awsclients"
	"github.com/igny8/integrations/shared/config"
	"github.com/igny8/integrations/shared/content"
	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/httpapi"
	"github.com/igny8/integrations/shared/integrations"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/metrics"
	"github.com/igny8/integrations/shared/publisher"
	"github.com/igny8/integrations/shared/publishing"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/ssrf"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/syncworker"
	"github.com/igny8/integrations/shared/webhook"
	"github.com/igny8/integrations/shared/webhooksecret"
	"github.com/igny8/integrations/shared/wordpress"
)

// MetricsNamespace is the CloudWatch namespace of the service's metrics.
const MetricsNamespace = "IGNY8/Integrations"

// App holds the wired dependencies.
type App struct {
	Config  config.Config
	Clients awsclients.Clients
	Logger  *slog.Logger
	Store   *store.Store
	Secrets *secrets.Store
	Jobs    *jobs.Sender
	// Integrations is the domain service behind the integration routes.
	Integrations *integrations.Service
	// WebhookSecrets holds each integration's webhook signing secret.
	WebhookSecrets *webhooksecret.Store
	// Sync is the sync engine: its runners serve the worker, its
	// status and run starts serve the API.
	Sync *contentsync.Engine
	// Content is the content service; its auto-approval watches every
	// content write of this instance's store.
	Content *content.Service
	// Publishing serves the publishing settings, the schedule preview and
	// the scheduled publisher.
	Publishing *publishing.Service
	// Models is the AI model registry (a TTL cache over DynamoDB, seeded
	// from the embedded data file on first read).
	Models *airegistry.Registry
	// AISettings holds the AI provider keys and default models.
	AISettings *aisettings.Service
	// webhookMetrics receives the receiver's EMF lines (nil locally).
	webhookMetrics *metrics.Emitter
	// wordpressTransport is shared by every WordPress client of this
	// instance, so warm invocations reuse connections to the same site.
	wordpressTransport http.RoundTripper
}

// New wires an App from a validated configuration and built clients. It
// makes no network calls, so it is cheap in a Lambda INIT phase.
func New(cfg config.Config, clients awsclients.Clients, logger *slog.Logger) *App {
	a := &App{
		Config:             cfg,
		Clients:            clients,
		Logger:             logger,
		Store:              store.New(clients.DynamoDB, cfg.TableName),
		Secrets:            secrets.New(clients.SecretsManager, cfg.SecretPrefix, cfg.SecretsCacheTTL),
		Jobs:               jobs.NewSender(clients.SQS, cfg.SyncQueueURL),
		wordpressTransport: ssrf.Policy{AllowLoopback: cfg.AllowLoopback}.Transport(10 * time.Second),
	}
	a.WebhookSecrets = webhooksecret.New(a.Secrets, nil)
	a.Integrations = integrations.New(integrations.Deps{
		Store:           a.Store,
		Secrets:         a.Secrets,
		WebhookSecrets:  a.WebhookSecrets,
		WebhookEndpoint: WebhookEndpoint(cfg.WebhookPublicURL),
		SecretGrace:     cfg.WebhookSecretGrace,
		Connect:         a.ConnectWordPress,
		AllowHTTP:       cfg.AllowHTTP,
		StructureMaxAge: cfg.StructureMaxAge,
		Logger:          logger,
		Schedule:        a.Store,
	})
	a.Models = airegistry.NewEmbedded(a.Store, cfg.ModelCacheTTL, logger)
	a.AISettings = aisettings.New(aisettings.Deps{
		Store: a.Store, Secrets: a.Secrets, Registry: a.Models, Logger: logger,
		Checker: aiproviders.New(aiproviders.BaseURLs{
			OpenAI: cfg.OpenAIBaseURL, Anthropic: cfg.AnthropicBaseURL, Runware: cfg.RunwareBaseURL, Bria: cfg.BriaBaseURL,
		}, cfg.AIProviderTimeout),
	})
	a.Sync = contentsync.New(contentsync.Deps{
		Store:           a.Store,
		Credentials:     sitecreds.New(a.Secrets),
		Open:            a.OpenWordPress,
		Jobs:            a.Jobs,
		Download:        &http.Client{Transport: a.wordpressTransport, Timeout: cfg.WordPressTimeout},
		Logger:          logger,
		EventRetention:  cfg.EventRetention,
		SiteConcurrency: cfg.SiteConcurrency,
		Stage:           cfg.Stage,
	})
	a.Content = content.New(a.Store, a.Sync).WithAutoApproval(logger, cfg.EventRetention)
	a.Publishing = publishing.New(publishing.Deps{Store: a.Store, Push: a.Sync, Logger: logger})
	return a
}

// OpenWordPress is ConnectWordPress for callers that need the whole client.
func (a *App) OpenWordPress(siteURL string, creds wordpress.Credentials) (*wordpress.Client, error) {
	return wordpress.New(siteURL, creds, wordpress.Options{
		Policy:    ssrf.Policy{AllowLoopback: a.Config.AllowLoopback},
		Transport: a.wordpressTransport,
		Timeout:   a.Config.WordPressTimeout,
	})
}

// ConnectWordPress opens a WordPress client for a site through the SSRF
// guard: the one way any function talks to a user's site.
func (a *App) ConnectWordPress(siteURL string, creds wordpress.Credentials) (integrations.Site, error) {
	return wordpress.New(siteURL, creds, wordpress.Options{
		Policy:    ssrf.Policy{AllowLoopback: a.Config.AllowLoopback},
		Transport: a.wordpressTransport,
		Timeout:   a.Config.WordPressTimeout,
	})
}

// FromEnvironment is what each function's main calls: configuration from the
// process environment, default AWS clients, JSON logs on stdout.
func FromEnvironment(ctx context.Context) (*App, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return nil, err
	}
	clients, err := awsclients.New(ctx, awsclients.Options{})
	if err != nil {
		return nil, fmt.Errorf("build AWS clients: %w", err)
	}
	a := New(cfg, clients, logging.New(os.Stdout, cfg.LogLevel))
	// In Lambda, stdout is CloudWatch Logs, which turns EMF lines into
	// metrics; the local stack and tests leave metrics off.
	a.Sync.EmitMetrics(metrics.New(os.Stdout, MetricsNamespace))
	a.webhookMetrics = metrics.New(os.Stdout, MetricsNamespace)
	return a, nil
}

// MustFromEnvironment is FromEnvironment for main packages: a configuration
// error is printed (naming the variable) and the process exits, which fails
// the Lambda INIT phase visibly.
func MustFromEnvironment(ctx context.Context) *App {
	a, err := FromEnvironment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return a
}

// APIHandler is the HTTP API function's handler.
func (a *App) APIHandler() func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpapi.NewLambdaHandler(httpapi.Deps{Config: a.Config, Logger: a.Logger, Integrations: a.Integrations, Sync: a.Sync,
		Content: a.Content, Library: a.Store, Publishing: a.Publishing, AI: a.AISettings, Models: a.Models})
}

// WebhookEndpoint is the full delivery URL for a public base URL ("" for "").
func WebhookEndpoint(base string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + webhook.Path
}

// WebhookHandler is the webhook receiver's handler.
func (a *App) WebhookHandler() func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return webhook.NewHandler(webhook.Deps{
		Logger:       a.Logger,
		Integrations: a.Store,
		Keys:         a.WebhookSecrets,
		Guard:        a.Store,
		Jobs:         a.Jobs,
		Rate:         WebhookRate(a.Config),
		AllowHTTP:    a.Config.AllowHTTP,
		// Most deliveries then cost no integration read.
		IntegrationCacheTTL: webhook.DefaultIntegrationCacheTTL,
		Metrics:             a.webhookMetrics,
		Stage:               a.Config.Stage,
	})
}

// WebhookRate is the receiver's per-integration window from the config:
// BURST deliveries per BURST/RATE seconds.
func WebhookRate(cfg config.Config) store.RateWindow {
	return store.RateWindow{Limit: cfg.WebhookBurst, Length: time.Duration(cfg.WebhookBurst) * time.Second / time.Duration(cfg.WebhookRate)}
}

// SyncWorkerHandler is the sync worker's handler.
func (a *App) SyncWorkerHandler() func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	runners := syncworker.DefaultRunners()
	for typ, run := range a.Sync.Runners() {
		runners[typ] = run
	}
	return syncworker.NewHandler(syncworker.Deps{Logger: a.Logger, Runners: runners, Visibility: a.Clients.SQS, QueueURL: a.Config.SyncQueueURL,
		BackoffBase: a.Config.RetryBaseDelay, AfterBatch: a.Sync.ReleaseParkedLeases})
}

// PublisherHandler is the scheduled publisher's handler.
func (a *App) PublisherHandler() func(context.Context, events.EventBridgeEvent) error {
	return publisher.NewHandler(publisher.Deps{Logger: a.Logger, Publisher: a.Publishing, Syncs: a.Sync})
}
