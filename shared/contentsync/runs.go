package contentsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/metrics"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/syncworker"
	"github.com/igny8/integrations/shared/wordpress"
)

// Run directions and modes.
const (
	DirectionPull = "pull"
	DirectionPush = "push"
	DirectionBoth = "both"

	ModeIncremental = "incremental"
	ModeFull        = "full"
)

// Sync event vocabulary (the seed's SyncEvent).
const (
	EventContentPush = "content_push"
	EventContentPull = "content_pull"
	EventWebhook     = "webhook"
	EventConflict    = "conflict"

	DirectionIGNY8ToWP = "igny8_to_wp"
	DirectionWPToIGNY8 = "wp_to_igny8"

	EventPending = "pending"
	EventSuccess = "success"
	EventFailed  = "failed"
)

// planJobKey marks the run job's own contribution to its run.
const planJobKey = "plan"

// allTypesCursor keys the incremental cursor of runs over every type.
const allTypesCursor = "*"

// StartRequest is a request to start a sync run.
type StartRequest struct {
	AccountID, IntegrationID string
	Direction                string
	Mode                     string
	ContentTypes             []string
}

// ValidateStart checks a start request's options (empty means default).
func ValidateStart(req StartRequest) error {
	switch {
	case req.Direction != "" && req.Direction != DirectionPull && req.Direction != DirectionPush && req.Direction != DirectionBoth:
		return apperr.Field(apperr.Invalid, "direction", "direction must be pull, push or both")
	case req.Mode != "" && req.Mode != ModeIncremental && req.Mode != ModeFull:
		return apperr.Field(apperr.Invalid, "mode", "mode must be incremental or full")
	case len(req.ContentTypes) > 20:
		return apperr.Field(apperr.Invalid, "content_types", "at most 20 content types")
	}
	for _, t := range req.ContentTypes {
		if !wordpress.ValidCollection(t) {
			return apperr.Field(apperr.Invalid, "content_types", "content type %q is not a post type slug or REST base", t)
		}
	}
	return nil
}

func withDefaults(req StartRequest) StartRequest {
	if req.Direction == "" {
		req.Direction = DirectionPull
	}
	if req.Mode == "" {
		req.Mode = ModeIncremental
	}
	return req
}

// ActiveRunError says a run is already going; Run is that run.
type ActiveRunError struct{ Run store.SyncRun }

func (e *ActiveRunError) Error() string { return "a sync run is already in progress: " + e.Run.ID }

// StartRun validates the request, records the run (one at a time per
// integration) and enqueues its run job.
func (e *Engine) StartRun(ctx context.Context, req StartRequest) (store.SyncRun, error) {
	if err := ValidateStart(req); err != nil {
		return store.SyncRun{}, err
	}
	req = withDefaults(req)
	in, err := e.deps.Store.GetIntegration(ctx, req.AccountID, req.IntegrationID)
	if err != nil {
		return store.SyncRun{}, err
	}
	if !in.IsActive {
		return store.SyncRun{}, apperr.New(apperr.Conflict, "The integration is not active; activate it (is_active) before syncing")
	}
	run, err := e.deps.Store.StartSyncRun(ctx, store.SyncRun{AccountID: in.AccountID, IntegrationID: in.ID,
		Direction: req.Direction, Mode: req.Mode, ContentTypes: req.ContentTypes, Phase: "queued"})
	var active *store.ActiveRunError
	if errors.As(err, &active) {
		cur, gerr := e.deps.Store.GetSyncRun(ctx, in.AccountID, in.ID, active.RunID)
		if gerr != nil {
			cur = store.SyncRun{ID: active.RunID}
		}
		return store.SyncRun{}, &ActiveRunError{Run: cur}
	}
	if err != nil {
		return store.SyncRun{}, err
	}
	env, err := envelope(TypeRun, in.AccountID, in.ID, "run:"+run.ID, runPayload{RunID: run.ID})
	if err != nil {
		return store.SyncRun{}, err
	}
	if err := e.deps.Jobs.Send(ctx, env); err != nil {
		// Without its job the run would block the integration forever.
		_, _, ferr := e.deps.Store.FinishSyncRun(ctx, in.AccountID, in.ID, run.ID, store.RunFailed, "could not enqueue the run", nil)
		return store.SyncRun{}, errors.Join(fmt.Errorf("enqueue run %s: %w", run.ID, err), ferr)
	}
	if err := e.setIntegrationStatus(ctx, in, "syncing", ""); err != nil {
		e.deps.Logger.WarnContext(ctx, "could not mark the integration syncing", logging.Err(err))
	}
	return run, nil
}

// progressDelta is one job's contribution to its run.
type progressDelta struct {
	store.RunProgress
}

func (d *progressDelta) add(o progressDelta) {
	d.ItemsCreated += o.ItemsCreated
	d.ItemsUpdated += o.ItemsUpdated
	d.ItemsUnchanged += o.ItemsUnchanged
	d.ItemsFailed += o.ItemsFailed
	d.ItemsConflicted += o.ItemsConflicted
	d.PagesDone += o.PagesDone
}

// completeJob records a job's progress once (the run keeps the keys of the
// jobs it counted, so a redelivered job adds nothing) and closes the run
// when it was the last job.
func (e *Engine) completeJob(ctx context.Context, in store.Integration, runID, jobKey string, d progressDelta) error {
	if jobKey != planJobKey {
		d.PagesDone++ // the plan counts the first pages it pulled itself
	}
	d.PageKey = jobKey
	e.metric(jobs.Envelope{Type: TypePullPage, IntegrationID: in.ID}, map[string]any{"run_id": runID, "job": jobKey},
		metrics.Metric{Name: "PagesPulled", Unit: metrics.Count, Value: float64(d.PagesDone)},
		metrics.Metric{Name: "ItemsCreated", Unit: metrics.Count, Value: float64(d.ItemsCreated)},
		metrics.Metric{Name: "ItemsUpdated", Unit: metrics.Count, Value: float64(d.ItemsUpdated)},
		metrics.Metric{Name: "ItemsUnchanged", Unit: metrics.Count, Value: float64(d.ItemsUnchanged)},
		metrics.Metric{Name: "ItemsFailed", Unit: metrics.Count, Value: float64(d.ItemsFailed)},
		metrics.Metric{Name: "Conflicts", Unit: metrics.Count, Value: float64(d.ItemsConflicted)})
	run, err := e.deps.Store.AddSyncRunProgress(ctx, in.AccountID, in.ID, runID, d.RunProgress)
	if errors.Is(err, store.ErrRunFinished) {
		return nil // the run ended (finished or failed) while this job ran
	}
	if err != nil {
		return fmt.Errorf("record progress of %s: %w", jobKey, err)
	}
	if run.PlanningDone && run.PagesDone >= run.PagesTotal && !isTerminal(run.Status) {
		return e.finish(ctx, in, run, store.RunSucceeded, "")
	}
	return nil
}

// finish closes the run and updates the integration's sync status.
func (e *Engine) finish(ctx context.Context, in store.Integration, run store.SyncRun, status, msg string) error {
	cursors := map[string]time.Time{}
	if status == store.RunSucceeded && run.Direction != DirectionPush {
		if len(run.ContentTypes) == 0 {
			cursors[allTypesCursor] = run.StartedAt
		}
		for _, t := range run.ContentTypes {
			cursors[t] = run.StartedAt
		}
	}
	_, finished, err := e.deps.Store.FinishSyncRun(ctx, in.AccountID, in.ID, run.ID, status, msg, cursors)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", run.ID, err)
	}
	if !finished {
		return nil
	}
	syncStatus := "idle"
	if status != store.RunSucceeded {
		syncStatus = "error"
	}
	if err := e.setIntegrationStatus(ctx, in, syncStatus, msg); err != nil {
		return err
	}
	e.deps.Logger.InfoContext(ctx, "sync run finished", logging.String("run_id", run.ID), logging.String("status", status))
	return nil
}

// failRun ends a run whose planning failed permanently; temporary failures
// go back to SQS for another attempt.
func (e *Engine) failRun(ctx context.Context, run store.SyncRun, cause error) error {
	if !wordpress.IsPermanent(cause) && !errors.Is(cause, syncworker.ErrPermanent) {
		return cause
	}
	in := store.Integration{AccountID: run.AccountID, ID: run.IntegrationID}
	e.event(ctx, in, store.SyncEvent{EventType: EventContentPull, Direction: DirectionWPToIGNY8, Status: EventFailed, ErrorMessage: errorMessage(cause), RunID: run.ID})
	if err := e.finish(ctx, in, run, store.RunFailed, errorMessage(cause)); err != nil {
		return err
	}
	return fmt.Errorf("%w: %w", syncworker.ErrPermanent, cause)
}

// setIntegrationStatus records sync_status, sync_error and last_sync_at.
func (e *Engine) setIntegrationStatus(ctx context.Context, in store.Integration, status, msg string) error {
	for range 4 {
		cur, err := e.deps.Store.GetIntegration(ctx, in.AccountID, in.ID)
		if err != nil {
			return err
		}
		cur.SyncStatus, cur.SyncError = status, msg
		if status == "idle" {
			now := e.deps.Now().UTC()
			cur.LastSyncAt = &now
		}
		if _, err = e.deps.Store.UpdateIntegration(ctx, cur); !errors.Is(err, store.ErrPreconditionFailed) {
			return err
		}
	}
	return fmt.Errorf("update sync status of integration %s: kept colliding", in.ID)
}

// modifiedAfter is the incremental lower bound for a type: the cursor minus
// the overlap window, in the site's local time because WordPress compares
// modified_after with post_modified (local), not post_modified_gmt.
func (e *Engine) modifiedAfter(in store.Integration, state store.SyncState, contentType string) *time.Time {
	c, ok := state.Cursors[contentType]
	if !ok {
		if c, ok = state.Cursors[allTypesCursor]; !ok {
			return nil
		}
	}
	offset, known := siteOffset(in)
	after := c.Add(-e.deps.IncrementalOverlap)
	if known {
		after = after.Add(offset)
	} else {
		// Unknown offset: go back as far as any time zone could be.
		after = after.Add(-14 * time.Hour)
	}
	return &after
}

// siteOffset reads the site's gmt_offset from the last connection test.
func siteOffset(in store.Integration) (time.Duration, bool) {
	hours, ok := in.ConfigValue("connection", "site", "gmt_offset").(float64)
	if !ok {
		return 0, false
	}
	return time.Duration(hours * float64(time.Hour)), true
}

func (e *Engine) event(ctx context.Context, in store.Integration, evt store.SyncEvent) {
	evt.AccountID, evt.IntegrationID = in.AccountID, in.ID
	e.events(ctx, []store.SyncEvent{evt})
}

// events writes sync events; losing history must not fail the sync, so a
// failure is logged.
func (e *Engine) events(ctx context.Context, evts []store.SyncEvent) {
	if len(evts) == 0 {
		return
	}
	if err := e.deps.Store.PutSyncEvents(ctx, evts, e.deps.EventRetention); err != nil {
		e.deps.Logger.ErrorContext(ctx, "could not write sync events", logging.Err(err))
	}
}

func isTerminal(status string) bool {
	return status == store.RunSucceeded || status == store.RunFailed || status == store.RunCanceled
}

func errorMessage(err error) string {
	if we, ok := wordpress.AsError(err); ok {
		return we.Code + ": " + we.Message
	}
	return err.Error()
}
