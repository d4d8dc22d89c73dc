// Command localstack runs the whole service locally (`make dev`): the
// embedded AWS emulator with the template's table, queues and secrets, the
// HTTP API on 127.0.0.1:3000 with a JWT authorizer, the webhook function URL
// on 127.0.0.1:3001, the SQS poller for the sync worker and the publisher's
// schedule. `localstack token -account X [-admin]` (`make token`) prints a
// token the running stack accepts.
//
// With -data-dir (default .local/data) the emulator keeps its state across
// runs: kumo reads KUMO_DATA_DIR once, at start-up, so the command
// re-executes itself with the variable set when it is not already.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/igny8/integrations/infra/local"
	"github.com/igny8/integrations/infra/samtemplate"
	"github.com/igny8/integrations/shared/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, stop, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

// run is the whole program; stop releases the signal handler once shutdown
// starts, so a second Ctrl-C ends the process at once.
func run(ctx context.Context, stop func(), args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("localstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiAddr := fs.String("api-addr", local.DefaultAPIAddr, "HTTP API listen address")
	webhookAddr := fs.String("webhook-addr", local.DefaultWebhookAddr, "webhook function URL listen address")
	dataDir := fs.String("data-dir", ".local/data", "folder where the emulator keeps its state between runs (relative to the repository root); '' keeps it in memory")
	publishEvery := fs.Duration("publish-every", 0, "invoke the publisher at this interval instead of the template's schedule (e.g. 30s)")
	workers := fs.Int("worker-concurrency", 0, "concurrent sync-worker batches (default: the template's MaximumConcurrency, at most 2)")
	prefix := fs.String("name-prefix", local.DefaultNamePrefix, "prefix of the local table and queue names")
	tmplPath := fs.String("template", "", "template.yaml to read (default: the repository's)")
	keyPath := fs.String("signing-key", "", "ES256 key the local authorizer trusts (default .local/jwt-signing-key.pem)")
	logLevel := fs.String("log-level", "info", "log level of the stack and the functions: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}

	dir, err := resolveDataDir(*dataDir)
	if err != nil {
		return err
	}
	if getenv(local.DataDirEnv) != dir {
		return reexec(dir, getenv)
	}

	logger := logging.New(stderr, level)
	st, err := local.Start(ctx, local.Options{
		TemplatePath: *tmplPath, APIAddr: *apiAddr, WebhookAddr: *webhookAddr, NamePrefix: *prefix,
		SigningKeyPath: *keyPath, PublishEvery: *publishEvery, WorkerConcurrency: *workers,
		Logger: logger, Env: map[string]string{"LOG_LEVEL": *logLevel},
	})
	if err != nil {
		return err
	}
	if err := st.Banner(stdout); err != nil {
		_ = st.Close()
		return err
	}
	<-ctx.Done()
	stop()
	logger.Info("shutting down: finishing in-flight invocations and saving state")
	start := time.Now()
	if err := st.Close(); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("stopped", slog.String("took", time.Since(start).Round(time.Millisecond).String()))
	return nil
}

// resolveDataDir makes the data folder absolute, relative to the repository
// root, so `go run` from any folder uses the same state.
func resolveDataDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	if !filepath.IsAbs(dir) {
		root, err := samtemplate.FindRepoFile("")
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data folder: %w", err)
	}
	return filepath.Clean(dir), nil
}

// reexec replaces the process with itself, KUMO_DATA_DIR set to dir (or
// removed when dir is ""), because kumo reads it only at package init. A
// faster snapshot interval keeps shutdown short.
func reexec(dir string, getenv func(string) string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable to set %s: %w", local.DataDirEnv, err)
	}
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		if len(kv) > len(local.DataDirEnv) && kv[:len(local.DataDirEnv)+1] == local.DataDirEnv+"=" {
			continue
		}
		env = append(env, kv)
	}
	if dir != "" {
		env = append(env, local.DataDirEnv+"="+dir)
		if getenv(local.FlushIntervalEnv) == "" {
			env = append(env, local.FlushIntervalEnv+"=200")
		}
	}
	return execSelf(exe, os.Args, env)
}

func runToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("localstack token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	account := fs.String("account", "", "account ID the token carries (required)")
	admin := fs.Bool("admin", false, "add the admin scope")
	ttl := fs.Duration("ttl", 12*time.Hour, "validity")
	apiAddr := fs.String("api-addr", local.DefaultAPIAddr, "address of the running stack's HTTP API (it is part of the issuer)")
	keyPath := fs.String("signing-key", "", "signing key (default .local/jwt-signing-key.pem)")
	tmplPath := fs.String("template", "", "template.yaml (for the account claim and admin scope defaults)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *account == "" {
		return errors.New("token: -account is required")
	}
	path := *keyPath
	if path == "" {
		p, err := local.KeyPath()
		if err != nil {
			return err
		}
		path = p
	}
	key, err := local.LoadOrCreateKey(path)
	if err != nil {
		return err
	}
	if *tmplPath == "" {
		p, err := samtemplate.FindRepoFile("template.yaml")
		if err != nil {
			return err
		}
		*tmplPath = p
	}
	tmpl, err := samtemplate.Load(*tmplPath)
	if err != nil {
		return err
	}
	claim, _ := tmpl.Parameter(nil, "AccountClaim")
	scope, _ := tmpl.Parameter(nil, "AdminScope")
	signer, err := local.NewSigner(key, "http://"+*apiAddr+"/local", local.DefaultAudience, orDefault(claim, "custom:account_id"), orDefault(scope, "igny8/admin"))
	if err != nil {
		return err
	}
	tok, err := signer.Token(*account, *admin, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
