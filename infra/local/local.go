// Package local is the local stack: it runs the service's four Lambda
// handlers on a laptop, in one process, without Docker or an AWS account.
// It embeds the kumo AWS emulator, creates the table, queues and secrets
// that template.yaml declares, and drives the handlers the way AWS would:
// an HTTP API with the template's routes and a JWT authorizer (payload 2.0
// events), a function URL for the webhook receiver, an SQS event source
// mapping for the sync worker (batches, partial batch failures, visibility
// timeouts, redrive to the dead-letter queue) and an EventBridge Scheduler
// ticker for the publisher. Everything is read from the template, so a new
// route or queue needs no change here.
//
// Start is the entry point for the command (infra/local/cmd/localstack) and
// for tests, which run stacks in-process on random ports.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sivchari/kumo"

	"github.com/igny8/integrations/infra/samtemplate"
	"github.com/igny8/integrations/shared/app"
	"github.com/igny8/integrations/shared/awsclients"
	"github.com/igny8/integrations/shared/config"
	"github.com/igny8/integrations/shared/logging"
)

// Defaults of the local stack.
const (
	DefaultAPIAddr      = "127.0.0.1:3000"
	DefaultWebhookAddr  = "127.0.0.1:3001"
	DefaultNamePrefix   = "igny8-local-"
	DefaultKeyFile      = ".local/jwt-signing-key.pem"
	DefaultSecretPrefix = "igny8/integrations/local/"
	// DefaultWorkerConcurrency is the local number of concurrent SQS batches
	// when the template sets no ScalingConfig.MaximumConcurrency; Options
	// can raise it.
	DefaultWorkerConcurrency = 2
)

// Options configure a stack. The zero value starts the development stack on
// the default ports with the repository's template.
type Options struct {
	// TemplatePath is template.yaml; default: the repository's.
	TemplatePath string
	// APIAddr and WebhookAddr are the listen addresses ("127.0.0.1:0" picks a
	// free port).
	APIAddr     string
	WebhookAddr string
	// NamePrefix is put before every resource's logical ID to name the local
	// table and queues. Every emulator in a process shares one store, so
	// tests use a unique prefix per stack.
	NamePrefix string
	// SigningKeyPath is the ES256 key the local authorizer trusts; default
	// <repo>/.local/jwt-signing-key.pem, created on first use. "-" means an
	// in-memory key.
	SigningKeyPath string
	// Issuer and Audience of local tokens; defaults http://<api addr>/local
	// and DefaultAudience.
	Issuer   string
	Audience string
	// SecretPrefix is SECRET_PREFIX; default DefaultSecretPrefix.
	SecretPrefix string
	// Parameters override template parameter defaults (Stage is "local").
	Parameters map[string]string
	// Env overrides the functions' environment after the local values.
	Env map[string]string
	// QueueOverrides change queues by logical ID.
	QueueOverrides map[string]QueueOverride
	// WorkerConcurrency, when > 0, replaces the SQS event's
	// MaximumConcurrency (default: the template's, capped at
	// DefaultWorkerConcurrency when the template sets none).
	WorkerConcurrency int
	// BatchingWindow, when non-zero, replaces the SQS event's
	// MaximumBatchingWindowInSeconds; negative means none.
	BatchingWindow time.Duration
	// PublishEvery, when > 0, fires the schedules at this interval instead
	// of their expressions (development speed-up).
	PublishEvery time.Duration
	// HoldEventSources creates everything but starts the SQS pollers and
	// schedules only when StartEventSources is called.
	HoldEventSources bool
	// Logger receives the stack's own logs and, unless AppLogger is set, the
	// handlers' logs. Default: JSON on stderr at info.
	Logger    *slog.Logger
	AppLogger *slog.Logger
	// Observe is called after every invocation (tests use it).
	Observe func(Invocation)
	// WrapAPI, WrapWebhook, WrapSyncWorker and WrapPublisher wrap the
	// handlers built by app.New (tests inject behaviour).
	WrapAPI        func(APIHandler) APIHandler
	WrapWebhook    func(WebhookHandler) WebhookHandler
	WrapSyncWorker func(SyncWorkerHandler) SyncWorkerHandler
	WrapPublisher  func(PublisherHandler) PublisherHandler
}

// Stack is a running local stack.
type Stack struct {
	// APIURL and WebhookURL are the base URLs of the HTTP API and of the
	// function URL ("" when the template has none).
	APIURL     string
	WebhookURL string
	// EmulatorURL is the embedded AWS emulator's endpoint (for the AWS CLI:
	// --endpoint-url).
	EmulatorURL string
	Clients     awsclients.Clients
	Config      config.Config
	Template    *samtemplate.Template
	Tables      map[string]LocalTable
	Queues      map[string]LocalQueue
	Routes      []Route
	Signer      *Signer
	// PersistDir is the emulator's data folder ("" when in memory).
	PersistDir string

	logger    *slog.Logger
	emulator  *kumo.Server
	servers   []*http.Server
	inv       *invoker
	sources   []func(context.Context)
	srcCtx    context.Context
	srcCancel context.CancelFunc
	srcWG     sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

// Token mints a development token for account (admin adds the admin scope).
func (s *Stack) Token(account string, admin bool, ttl time.Duration) (string, error) {
	return s.Signer.Token(account, admin, ttl)
}

// Start creates the resources and starts the servers and, unless
// HoldEventSources is set, the pollers and schedules. Close stops it.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts = withDefaults(opts)
	logger := opts.Logger
	appLogger := opts.AppLogger
	if appLogger == nil {
		appLogger = logger
	}
	tmplPath := opts.TemplatePath
	if tmplPath == "" {
		if tmplPath, err = samtemplate.FindRepoFile("template.yaml"); err != nil {
			return nil, err
		}
	}
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return nil, err
	}

	st := &Stack{Template: tmpl, logger: logger, PersistDir: os.Getenv("KUMO_DATA_DIR")}
	st.inv = &invoker{logger: logger, observe: opts.Observe}
	defer func() {
		if err != nil {
			_ = st.Close()
		}
	}()
	st.emulator = newEmulator()
	st.EmulatorURL = st.emulator.URL
	st.Clients, err = awsclients.New(ctx, awsclients.Options{Endpoint: st.EmulatorURL})
	if err != nil {
		return nil, fmt.Errorf("build AWS clients: %w", err)
	}

	params := map[string]string{"Stage": "local"}
	for k, v := range opts.Parameters {
		params[k] = v
	}
	res := &resources{prefix: opts.NamePrefix, tables: map[string]LocalTable{}, queues: map[string]LocalQueue{},
		secrets: map[string]string{}, fns: map[string]functionInfo{}, apiIDs: map[string]bool{}}
	resolver := &samtemplate.Resolver{Parameters: params, AccountID: LocalAccountID, Region: LocalRegion,
		StackName: strings.TrimSuffix(opts.NamePrefix, "-"), Resource: res.resolve}
	for _, id := range tmpl.ResourcesOfType(samtemplate.TypeHttpApi) {
		res.apiIDs[id] = true
	}

	if err := createTables(ctx, st.Clients, tmpl, res); err != nil {
		return nil, err
	}
	if err := createQueues(ctx, st.Clients, tmpl, res, opts.QueueOverrides); err != nil {
		return nil, err
	}
	secrets, err := tmpl.Secrets(resolver)
	if err != nil {
		return nil, err
	}
	if err := createSecrets(ctx, st.Clients, secrets, res); err != nil {
		return nil, err
	}
	st.Tables, st.Queues = res.tables, res.queues

	fns, err := tmpl.Functions(resolver)
	if err != nil {
		return nil, err
	}
	for _, f := range fns {
		name := opts.NamePrefix + f.LogicalID
		res.fns[f.LogicalID] = functionInfo{LogicalID: f.LogicalID, Name: name,
			ARN:     fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", LocalRegion, LocalAccountID, name),
			Timeout: time.Duration(f.Timeout) * time.Second}
	}
	// Function environments resolve !Ref to functions too, so read them again
	// now that every function is known.
	if fns, err = tmpl.Functions(resolver); err != nil {
		return nil, err
	}

	// The function URL's listener opens first, so the configuration can
	// name its address (WEBHOOK_PUBLIC_URL) even on a random port.
	var webhookLn net.Listener
	if slices.ContainsFunc(fns, func(f samtemplate.Function) bool { return f.FunctionURL != nil }) {
		if webhookLn, err = listen(ctx, opts.WebhookAddr); err != nil {
			return nil, err
		}
		st.WebhookURL = "http://" + webhookLn.Addr().String()
	}
	cfg, err := st.loadConfig(tmpl, resolver, fns, opts)
	if err != nil {
		if webhookLn != nil {
			webhookLn.Close()
		}
		return nil, err
	}
	st.Config = cfg
	a := app.New(cfg, st.Clients, appLogger)

	if err := st.startHTTP(ctx, tmpl, resolver, fns, res, a, opts, webhookLn); err != nil {
		return nil, err
	}
	if err := st.prepareEventSources(fns, res, a, opts); err != nil {
		return nil, err
	}
	st.srcCtx, st.srcCancel = context.WithCancel(context.WithoutCancel(ctx))
	if !opts.HoldEventSources {
		st.StartEventSources()
	}
	return st, nil
}

// emulatorMu serialises kumo.NewServer: constructing servers concurrently
// races on the emulator's process-wide service wiring.
var emulatorMu sync.Mutex

func newEmulator() *kumo.Server {
	emulatorMu.Lock()
	defer emulatorMu.Unlock()
	return kumo.NewServer()
}

func withDefaults(o Options) Options {
	if o.APIAddr == "" {
		o.APIAddr = DefaultAPIAddr
	}
	if o.WebhookAddr == "" {
		o.WebhookAddr = DefaultWebhookAddr
	}
	if o.NamePrefix == "" {
		o.NamePrefix = DefaultNamePrefix
	}
	if o.SecretPrefix == "" {
		o.SecretPrefix = DefaultSecretPrefix
	}
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}
	if o.Logger == nil {
		o.Logger = logging.New(os.Stderr, slog.LevelInfo)
	}
	return o
}

// loadConfig builds the functions' configuration: the template's Globals
// environment resolved to local resources, then the local values the brief
// of the local stack fixes, then Options.Env.
func (st *Stack) loadConfig(tmpl *samtemplate.Template, r *samtemplate.Resolver, fns []samtemplate.Function, opts Options) (config.Config, error) {
	env := map[string]string{}
	for _, f := range fns {
		for k, v := range f.Environment {
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
	}
	table, queue, dlq := st.Tables["Table"], st.Queues["SyncQueue"], st.Queues["SyncDeadLetterQueue"]
	if table.Name == "" && len(st.Tables) == 1 {
		for _, t := range st.Tables {
			table = t
		}
	}
	claim, _ := tmpl.Parameter(r, "AccountClaim")
	scope, _ := tmpl.Parameter(r, "AdminScope")
	local := map[string]string{
		"STAGE": "local", "SECRET_PREFIX": opts.SecretPrefix, "DEV_ALLOW_HTTP": "true", "DEV_ALLOW_LOOPBACK": "true",
		"TABLE_NAME": table.Name, "SYNC_QUEUE_URL": queue.URL, "SYNC_DLQ_URL": dlq.URL,
		"JWT_ACCOUNT_CLAIM": firstNonEmpty(claim, "custom:account_id"), "JWT_ADMIN_SCOPE": firstNonEmpty(scope, "igny8/admin"),
	}
	// The plugin delivers to the local function URL.
	local["WEBHOOK_PUBLIC_URL"] = st.WebhookURL
	for k, v := range local {
		if v != "" {
			env[k] = v
		}
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return config.Config{}, fmt.Errorf("local configuration: %w", err)
	}
	return cfg, nil
}

// startHTTP builds the routes and the authorizer and starts the API and
// function URL servers.
func (st *Stack) startHTTP(ctx context.Context, tmpl *samtemplate.Template, r *samtemplate.Resolver, fns []samtemplate.Function, res *resources, a *app.App, opts Options, webhookLn net.Listener) error {
	apis, err := tmpl.HTTPAPIs(r)
	if err != nil {
		return err
	}
	apiByID := map[string]samtemplate.HTTPAPI{}
	for _, api := range apis {
		apiByID[api.LogicalID] = api
	}
	var routes []Route
	apiFunction := ""
	for _, f := range fns {
		for _, ev := range f.Events {
			if ev.HTTP == nil {
				continue
			}
			if apiFunction != "" && apiFunction != f.LogicalID {
				return fmt.Errorf("HttpApi events on %s and %s: the local stack serves one API function", apiFunction, f.LogicalID)
			}
			apiFunction = f.LogicalID
			api := apiByID[ev.HTTP.ApiID]
			authorizer := ev.HTTP.Authorizer
			if authorizer == "" {
				authorizer = api.DefaultAuthorizer
			}
			if authorizer == samtemplate.AuthNone {
				authorizer = ""
			}
			scopes := ev.HTTP.AuthorizationScopes
			if authorizer != "" && scopes == nil {
				scopes = api.Authorizers[authorizer].AuthorizationScopes
			}
			routes = append(routes, Route{Key: ev.HTTP.RouteKey(), Method: ev.HTTP.Method, Path: ev.HTTP.Path,
				Function: f.LogicalID, Authorizer: authorizer, Scopes: scopes,
				Timeout: time.Duration(ev.HTTP.TimeoutInMillis) * time.Millisecond})
		}
	}
	router, err := NewRouter(routes)
	if err != nil {
		return err
	}
	st.Routes = router.Routes()

	apiLn, err := listen(ctx, opts.APIAddr)
	if err != nil {
		if webhookLn != nil {
			webhookLn.Close()
		}
		return err
	}
	st.APIURL = "http://" + apiLn.Addr().String()
	issuer := firstNonEmpty(opts.Issuer, st.APIURL+issuerPath)
	keyPath := opts.SigningKeyPath
	switch keyPath {
	case "":
		if keyPath, err = samtemplate.FindRepoFile(DefaultKeyFile); err != nil {
			apiLn.Close()
			return err
		}
	case "-":
		keyPath = ""
	}
	key, err := LoadOrCreateKey(keyPath)
	if err != nil {
		apiLn.Close()
		return err
	}
	if st.Signer, err = NewSigner(key, issuer, opts.Audience, st.Config.AccountClaim, st.Config.AdminScope); err != nil {
		apiLn.Close()
		return err
	}
	apiHandler := a.APIHandler()
	if opts.WrapAPI != nil {
		apiHandler = opts.WrapAPI(apiHandler)
	}
	st.serve(apiLn, &apiGateway{router: router, signer: st.Signer, handler: apiHandler, fns: res.fns, inv: st.inv, logger: st.logger})

	served := false
	for _, f := range fns {
		if f.FunctionURL == nil {
			continue
		}
		if served {
			st.logger.Warn("more than one function URL in the template; serving only the first", slog.String("function", f.LogicalID))
			continue
		}
		served = true
		if !strings.EqualFold(f.FunctionURL.AuthType, "NONE") {
			st.logger.Warn("function URL AuthType is not NONE; the local stack does not check IAM signatures", slog.String("function", f.LogicalID))
		}
		ln := webhookLn
		h := a.WebhookHandler()
		if opts.WrapWebhook != nil {
			h = opts.WrapWebhook(h)
		}
		st.serve(ln, &functionURL{urlID: localFunctionURLID, handler: h, fn: res.fns[f.LogicalID], inv: st.inv, logger: st.logger})
	}
	return nil
}

func listen(ctx context.Context, addr string) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

func (st *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	st.servers = append(st.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			st.logger.Error("local server stopped", slog.String("addr", ln.Addr().String()), slog.Any("error", err))
		}
	}()
}

// prepareEventSources builds the SQS pollers and schedules of the template.
func (st *Stack) prepareEventSources(fns []samtemplate.Function, res *resources, a *app.App, opts Options) error {
	for _, f := range fns {
		for _, ev := range f.Events {
			switch {
			case ev.SQS != nil:
				if !ev.SQS.Enabled {
					continue
				}
				q, ok := res.queues[ev.SQS.Queue]
				if !ok {
					return fmt.Errorf("%s event %s: queue %s is not in the template", f.LogicalID, ev.Name, ev.SQS.Queue)
				}
				h := a.SyncWorkerHandler()
				if opts.WrapSyncWorker != nil {
					h = opts.WrapSyncWorker(h)
				}
				conc := ev.SQS.MaximumConcurrency
				if conc == 0 || conc > DefaultWorkerConcurrency {
					conc = DefaultWorkerConcurrency
				}
				if opts.WorkerConcurrency > 0 {
					conc = opts.WorkerConcurrency
				}
				window := time.Duration(ev.SQS.MaximumBatchingWindowInSeconds) * time.Second
				if opts.BatchingWindow != 0 {
					window = max(opts.BatchingWindow, 0)
				}
				p := &sqsPoller{client: st.Clients.SQS, queueURL: q.URL, queueARN: q.ARN, batchSize: ev.SQS.BatchSize,
					batchingWindow: window, reportFailures: ev.SQS.ReportsBatchItemFailures(), concurrency: conc,
					pollWait: int32(min(5*time.Second, max(time.Second, q.VisibilityTimeout)) / time.Second),
					handler:  h, fn: res.fns[f.LogicalID], inv: st.inv, logger: st.logger}
				st.sources = append(st.sources, p.run)
			case ev.Schedule != nil:
				if !ev.Schedule.Enabled {
					continue
				}
				sched, warn := ParseSchedule(ev.Schedule.Expression, ev.Schedule.ExpressionTimezone)
				if warn != "" {
					st.logger.Warn(warn, slog.String("function", f.LogicalID))
				}
				if opts.PublishEvery > 0 {
					sched = everySchedule{opts.PublishEvery}
				}
				h := a.PublisherHandler()
				if opts.WrapPublisher != nil {
					h = opts.WrapPublisher(h)
				}
				s := &scheduledEvent{name: ev.Name, input: ev.Schedule.Input, schedule: sched, handler: h,
					scheduleARN: fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/default/%s%s-%s", LocalRegion, LocalAccountID, opts.NamePrefix, f.LogicalID, ev.Name),
					fn:          res.fns[f.LogicalID], inv: st.inv, logger: st.logger}
				st.sources = append(st.sources, s.run)
			}
		}
	}
	return nil
}

// StartEventSources starts the SQS pollers and schedules (once).
func (st *Stack) StartEventSources() {
	st.startOnce.Do(func() {
		for _, run := range st.sources {
			st.srcWG.Add(1)
			go func() {
				defer st.srcWG.Done()
				run(st.srcCtx)
			}()
		}
	})
}

// Close shuts the stack down cleanly: the servers stop accepting and finish
// their requests, the pollers and schedules stop after their in-flight
// invocations, and, when the emulator persists to disk, its state is
// flushed before Close returns.
func (st *Stack) Close() error {
	st.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var errs []error
		for _, srv := range st.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop server: %w", err))
			}
		}
		if st.srcCancel != nil {
			st.srcCancel()
		}
		st.srcWG.Wait()
		if st.inv != nil {
			st.inv.inflight.Wait()
		}
		if st.PersistDir != "" && st.emulator != nil {
			if err := st.flush(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if st.emulator != nil {
			st.emulator.Close()
		}
		st.closeErr = errors.Join(errs...)
	})
	return st.closeErr
}

// Banner is the start-up text: URLs, resources, tokens and a curl line.
func (st *Stack) Banner(w io.Writer) error {
	dev, err := st.Token("dev-account", false, 12*time.Hour)
	if err != nil {
		return err
	}
	admin, err := st.Token("dev-account", true, 12*time.Hour)
	if err != nil {
		return err
	}
	persist := "in memory (state is lost on exit)"
	if st.PersistDir != "" {
		persist = st.PersistDir
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nIGNY8 Integrations local stack is ready\n\n")
	fmt.Fprintf(&b, "  HTTP API       %s   (routes and JWT authorizer from template.yaml)\n", st.APIURL)
	if st.WebhookURL != "" {
		fmt.Fprintf(&b, "  Webhook URL    %s   (function URL, auth NONE)\n", st.WebhookURL)
	}
	fmt.Fprintf(&b, "  AWS emulator   %s   (aws --endpoint-url %s ...)\n", st.EmulatorURL, st.EmulatorURL)
	fmt.Fprintf(&b, "  Data           %s\n", persist)
	for _, id := range slices.Sorted(maps.Keys(st.Tables)) {
		fmt.Fprintf(&b, "  Table          %s\n", st.Tables[id].Name)
	}
	for _, id := range slices.Sorted(maps.Keys(st.Queues)) {
		q := st.Queues[id]
		fmt.Fprintf(&b, "  Queue          %s   %s\n", q.Name, q.URL)
	}
	fmt.Fprintf(&b, "\n  Routes\n")
	for _, r := range st.Routes {
		auth := "public"
		if r.Authorizer != "" {
			auth = "JWT"
			if len(r.Scopes) > 0 {
				auth += " + scope " + strings.Join(r.Scopes, " ")
			}
		}
		fmt.Fprintf(&b, "    %-40s %s\n", r.Key, auth)
	}
	fmt.Fprintf(&b, "\n  Issuer %s, audience %s, valid 12 h\n", st.Signer.Issuer, st.Signer.Audience)
	fmt.Fprintf(&b, "  Developer token (account dev-account):\n    %s\n", dev)
	fmt.Fprintf(&b, "  Admin token (account dev-account, scope %s):\n    %s\n", st.Signer.AdminScope, admin)
	fmt.Fprintf(&b, "\n  Try:\n    curl -H \"Authorization: Bearer %s\" %s/api/v1/integration/\n\n", dev, st.APIURL)
	fmt.Fprintf(&b, "  More tokens: make token ACCOUNT=<id> [ADMIN=1]    Stop: Ctrl-C\n\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// KeyPath returns the default signing key path in the repository.
func KeyPath() (string, error) {
	p, err := samtemplate.FindRepoFile(DefaultKeyFile)
	if err != nil {
		return "", err
	}
	return filepath.Clean(p), nil
}
