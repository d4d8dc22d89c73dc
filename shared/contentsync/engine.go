// Package contentsync moves content between IGNY8 and WordPress: the pull
// engine (WordPress → IGNY8: taxonomies, posts of every synced type, their
// terms and featured images) and the push engine (IGNY8 → WordPress: one
// content item with its terms and featured image, created exactly once).
//
// Work runs as SQS jobs. A run job discovers what to pull and pulls page 1
// of each type; the other pages fan out as page jobs that workers pull in
// parallel. Every job is safe to run twice: item writes are idempotent
// (creates are guarded by the WordPress-ID lookup, updates happen only when
// the fingerprint changed), and a job's contribution to the run's progress
// is recorded together with a per-job marker, so a redelivered job never
// counts twice. The job that brings the done pages up to the planned pages
// closes the run.
package contentsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/metrics"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/syncworker"
	"github.com/igny8/integrations/shared/wordpress"
)

// Job types of the sync engine.
const (
	TypeRun      jobs.Type = "sync.run"
	TypePullPage jobs.Type = "sync.pull_page"
	TypePush     jobs.Type = "sync.push"
)

// Sender puts jobs on the sync queue.
type Sender interface {
	Send(ctx context.Context, envs ...jobs.Envelope) error
}

// Opener builds a WordPress client for a site (through the SSRF guard).
type Opener func(siteURL string, creds wordpress.Credentials) (*wordpress.Client, error)

// Deps are the engine's collaborators and settings.
type Deps struct {
	Store       *store.Store
	Credentials *sitecreds.Store
	Open        Opener
	Jobs        Sender
	// Download fetches images to push; its transport must be the SSRF
	// guard's (image URLs are user-supplied).
	Download *http.Client
	Logger   *slog.Logger
	// Metrics receives one EMF line per job (nil: none). The integration
	// and run are properties, not dimensions: their cardinality is unbounded.
	Metrics *metrics.Emitter
	Stage   string
	// EventRetention is how long sync events are kept (TTL).
	EventRetention time.Duration
	// SiteConcurrency is how many requests may be in flight to one site at
	// once, across every worker (default 4), so small hosts aren't
	// overwhelmed.
	SiteConcurrency int
	// IncrementalOverlap is subtracted from the incremental cursor, so a
	// post saved while the last run read its page is not missed.
	IncrementalOverlap time.Duration
	Now                func() time.Time
}

// Engine runs sync jobs.
type Engine struct {
	deps Deps
	// gates holds each site's in-process request semaphore (sitegate.go).
	gateMu sync.Mutex
	gates  map[string]*localSite
}

// New returns the engine.
func New(d Deps) *Engine {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.EventRetention <= 0 {
		d.EventRetention = 30 * 24 * time.Hour
	}
	if d.SiteConcurrency <= 0 {
		d.SiteConcurrency = 4
	}
	if d.IncrementalOverlap <= 0 {
		d.IncrementalOverlap = 15 * time.Minute
	}
	return &Engine{deps: d}
}

// Runners are the worker's runners for the engine's job types.
func (e *Engine) Runners() map[jobs.Type]syncworker.Runner {
	return map[jobs.Type]syncworker.Runner{
		TypeRun:      e.adapt(e.runJob),
		TypePullPage: e.adapt(e.pullPageJob),
		TypePush:     e.adapt(e.pushJob),
		// Webhook deliveries (webhookjobs.go).
		jobs.TypeWebhookPull:   e.adapt(e.webhookJob),
		jobs.TypeWebhookDelete: e.adapt(e.webhookJob),
	}
}

// adapt turns a job function into a runner and classifies its failure:
// permanent WordPress errors are dropped (after the job recorded them),
// temporary ones are redelivered by SQS.
func (e *Engine) adapt(fn func(context.Context, jobs.Envelope) error) syncworker.Runner {
	return func(ctx context.Context, job jobs.Envelope, _ events.SQSMessage) error {
		ctx = logging.With(ctx, logging.AccountID(job.AccountID))
		err := fn(ctx, job)
		if err != nil && !errors.Is(err, syncworker.ErrPermanent) && !wordpress.IsPermanent(err) {
			e.metric(job, nil, metrics.Metric{Name: "JobRetries", Unit: metrics.Count, Value: 1})
		}
		if err == nil || errors.Is(err, syncworker.ErrPermanent) {
			return err
		}
		if wordpress.IsPermanent(err) {
			return fmt.Errorf("%w: %w", syncworker.ErrPermanent, err)
		}
		if we, ok := wordpress.AsError(err); ok && we.RetryAfter > 0 {
			return &syncworker.RetryLater{After: we.RetryAfter, Err: err}
		}
		return err
	}
}

// runPayload is a run job's payload. A run job that nears the Lambda
// deadline hands the rest of its planning to a continuation job carrying
// what it already did.
type runPayload struct {
	RunID        string        `json:"run_id"`
	Continuation *continuation `json:"continuation,omitempty"`
}

// continuation is a run job's finished planning steps.
type continuation struct {
	Seq            int               `json:"seq"`
	PushesQueued   bool              `json:"pushes_queued"`
	TaxonomiesDone bool              `json:"taxonomies_done"`
	DoneTypes      []string          `json:"done_types"`
	Total          store.RunProgress `json:"total"`
}

// deadlineMargin is how much time a run job keeps in hand: one more type's
// first page (a few requests with retries) must fit in it.
const deadlineMargin = 20 * time.Second

// nearDeadline reports whether the invocation is about to run out of time.
func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < deadlineMargin
}

// pagePayload is a page job's payload: one page of one type.
type pagePayload struct {
	RunID         string     `json:"run_id"`
	ContentType   string     `json:"content_type"`
	RESTBase      string     `json:"rest_base"`
	Page          int        `json:"page"`
	ModifiedAfter *time.Time `json:"modified_after,omitempty"`
	// DatedAfter asks instead for posts dated after it and modified before
	// it (the incremental run's second listing): a scheduled post that
	// WordPress's cron published changed only its status, not its
	// modified date.
	DatedAfter *time.Time `json:"dated_after,omitempty"`
	Taxonomies []taxField `json:"taxonomies,omitempty"`
}

// pass names the page's listing in job keys: the modified-after listing
// and the dated-after one are different pages.
func (p pagePayload) pass() string {
	if p.DatedAfter != nil {
		return p.ContentType + ":dated"
	}
	return p.ContentType
}

// taxField pairs a taxonomy slug with the REST field posts carry its terms in.
type taxField struct {
	Slug     string `json:"slug"`
	RESTBase string `json:"rest_base"`
}

// pushPayload is a push job's payload.
type pushPayload struct {
	ContentID string `json:"content_id"`
	RunID     string `json:"run_id,omitempty"`
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

func decodePayload[T any](job jobs.Envelope) (T, error) {
	var v T
	if err := json.Unmarshal(job.Payload, &v); err != nil {
		return v, fmt.Errorf("%w: decode %s payload: %w", syncworker.ErrPermanent, job.Type, err)
	}
	return v, nil
}

func envelope(typ jobs.Type, accountID, integrationID, key string, payload any) (jobs.Envelope, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return jobs.Envelope{}, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return jobs.Envelope{Type: typ, AccountID: accountID, IntegrationID: integrationID, IdempotencyKey: key, EnqueuedAt: time.Now().UTC(), Payload: raw}, nil
}

// site opens the integration and a client for it.
func (e *Engine) site(ctx context.Context, accountID, integrationID string) (store.Integration, *wordpress.Client, error) {
	in, err := e.deps.Store.GetIntegration(ctx, accountID, integrationID)
	if errors.Is(err, store.ErrNotFound) {
		return in, nil, fmt.Errorf("%w: integration %s is gone", syncworker.ErrPermanent, integrationID)
	}
	if err != nil {
		return in, nil, err
	}
	creds, err := e.deps.Credentials.Get(ctx, in)
	if err != nil {
		return in, nil, err
	}
	c, err := e.deps.Open(in.ExternalSiteURL, creds.WordPress())
	if err != nil {
		return in, nil, fmt.Errorf("open WordPress client: %w", err)
	}
	return in, c.WithGate(siteGate{e: e, accountID: accountID, integrationID: integrationID}), nil
}

// conflictPolicy reads config_json.conflict_policy (manual by default).
func conflictPolicy(in store.Integration) string {
	switch p, _ := in.Config["conflict_policy"].(string); p {
	case PolicyIGNY8Wins, PolicyWordPressWins:
		return p
	}
	return PolicyManual
}

// EmitMetrics turns on per-job EMF metrics.
func (e *Engine) EmitMetrics(m *metrics.Emitter) { e.deps.Metrics = m }

// metric emits one EMF line for a job.
func (e *Engine) metric(job jobs.Envelope, props map[string]any, ms ...metrics.Metric) {
	if e.deps.Metrics == nil {
		return
	}
	if props == nil {
		props = map[string]any{}
	}
	props["integration_id"] = job.IntegrationID
	if err := e.deps.Metrics.Emit(map[string]string{"Stage": e.deps.Stage, "JobType": string(job.Type)}, props, ms...); err != nil {
		e.deps.Logger.Warn("could not emit metrics", logging.Err(err))
	}
}
