package contentsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/igny8/integrations/shared/store"
)

// RunView is a run as sync_status shows it.
type RunView struct {
	ID           string     `json:"id"`
	Direction    string     `json:"direction"`
	Mode         string     `json:"mode"`
	ContentTypes []string   `json:"content_types"`
	Status       string     `json:"status"`
	Phase        string     `json:"phase"`
	PagesTotal   int64      `json:"pages_total"`
	PagesDone    int64      `json:"pages_done"`
	Percent      int        `json:"percent"`
	Created      int64      `json:"items_created"`
	Updated      int64      `json:"items_updated"`
	Unchanged    int64      `json:"items_unchanged"`
	Failed       int64      `json:"items_failed"`
	Conflicts    int64      `json:"items_conflicted"`
	Error        string     `json:"error,omitempty"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
}

// ViewRun presents a run.
func ViewRun(r store.SyncRun) RunView {
	v := RunView{ID: r.ID, Direction: r.Direction, Mode: r.Mode, ContentTypes: r.ContentTypes, Status: r.Status, Phase: r.Phase,
		PagesTotal: r.PagesTotal, PagesDone: r.PagesDone, Created: r.ItemsCreated, Updated: r.ItemsUpdated,
		Unchanged: r.ItemsUnchanged, Failed: r.ItemsFailed, Conflicts: r.ItemsConflicted, Error: r.Error,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if v.ContentTypes == nil {
		v.ContentTypes = []string{}
	}
	switch {
	case isTerminal(r.Status):
		v.Percent = 100
	case r.PlanningDone && r.PagesTotal > 0:
		v.Percent = int(min(99, r.PagesDone*100/r.PagesTotal))
	}
	return v
}

// Status is the sync_status answer.
type Status struct {
	// Status is idle, syncing or error (the seed's values).
	Status string   `json:"status"`
	Run    *RunView `json:"run"`
}

// Status reports the integration's sync status with its current or last run.
func (e *Engine) Status(ctx context.Context, accountID, integrationID string) (Status, error) {
	if _, err := e.deps.Store.GetIntegration(ctx, accountID, integrationID); err != nil {
		return Status{}, err
	}
	run, err := e.deps.Store.LatestSyncRun(ctx, accountID, integrationID)
	if errors.Is(err, store.ErrNotFound) {
		return Status{Status: "idle"}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("sync status: %w", err)
	}
	v := ViewRun(run)
	out := Status{Status: "idle", Run: &v}
	switch {
	case !isTerminal(run.Status):
		out.Status = "syncing"
	case run.Status == store.RunFailed:
		out.Status = "error"
	}
	return out, nil
}

// Health is the sync_health answer.
type Health struct {
	LastSuccessfulSync *time.Time `json:"last_successful_sync"`
	FailedEvents24h    int        `json:"failed_events_24h"`
	FailedEvents7d     int        `json:"failed_events_7d"`
	LastRun            *RunView   `json:"last_run"`
}

// Health reports the integration's sync health.
func (e *Engine) Health(ctx context.Context, accountID, integrationID string) (Health, error) {
	if _, err := e.deps.Store.GetIntegration(ctx, accountID, integrationID); err != nil {
		return Health{}, err
	}
	state, err := e.deps.Store.GetSyncState(ctx, accountID, integrationID)
	if err != nil {
		return Health{}, err
	}
	now := e.deps.Now()
	day, err := e.deps.Store.CountFailedSyncEventsSince(ctx, accountID, integrationID, now.Add(-24*time.Hour))
	if err != nil {
		return Health{}, err
	}
	week, err := e.deps.Store.CountFailedSyncEventsSince(ctx, accountID, integrationID, now.Add(-7*24*time.Hour))
	if err != nil {
		return Health{}, err
	}
	h := Health{LastSuccessfulSync: state.LastSuccessAt, FailedEvents24h: day, FailedEvents7d: week}
	if run, err := e.deps.Store.LatestSyncRun(ctx, accountID, integrationID); err == nil {
		v := ViewRun(run)
		h.LastRun = &v
	} else if !errors.Is(err, store.ErrNotFound) {
		return Health{}, err
	}
	return h, nil
}

// Events lists the integration's sync events, newest first.
func (e *Engine) Events(ctx context.Context, accountID, integrationID string, f store.EventFilter, p store.PageRequest) (store.Page[store.SyncEvent], error) {
	if _, err := e.deps.Store.GetIntegration(ctx, accountID, integrationID); err != nil {
		return store.Page[store.SyncEvent]{}, err
	}
	return e.deps.Store.ListSyncEvents(ctx, accountID, integrationID, f, p)
}
