package contentsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
)

// StartDueSyncs starts an incremental pull for every integration whose
// scheduled sync (sync_interval_minutes) is due at now and that has no run
// active, found through the scheduled-sync due index (no scan), and moves
// each one's next due time one interval on. An integration that is
// inactive or has sync disabled skips this turn; one whose interval was
// turned off leaves the index. Concurrent callers start one run: the
// one-run-at-a-time lock refuses the others. It returns how many runs it
// started; failures of single integrations are logged and retried on the
// next call.
func (e *Engine) StartDueSyncs(ctx context.Context, now time.Time) (int, error) {
	due, err := e.deps.Store.DueSyncs(ctx, now, 0)
	if err != nil {
		return 0, fmt.Errorf("read due syncs: %w", err)
	}
	started := 0
	for _, st := range due {
		ok, err := e.startScheduled(ctx, st, now)
		if err != nil {
			e.deps.Logger.ErrorContext(logging.With(ctx, logging.String("integration_id", st.IntegrationID)),
				"scheduled sync could not start; the next tick retries", logging.Err(err))
			continue
		}
		if ok {
			started++
		}
	}
	return started, nil
}

func (e *Engine) startScheduled(ctx context.Context, st store.SyncState, now time.Time) (bool, error) {
	in, err := e.deps.Store.GetIntegration(ctx, st.AccountID, st.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return false, e.deps.Store.SetSyncDue(ctx, st.AccountID, st.IntegrationID, nil)
	}
	if err != nil {
		return false, err
	}
	if in.SyncIntervalMinutes <= 0 {
		return false, e.deps.Store.SetSyncDue(ctx, in.AccountID, in.ID, nil)
	}
	next := now.Add(time.Duration(in.SyncIntervalMinutes) * time.Minute)
	started := false
	if in.IsActive && in.SyncEnabled {
		_, err = e.StartRun(ctx, StartRequest{AccountID: in.AccountID, IntegrationID: in.ID, Direction: DirectionPull, Mode: ModeIncremental})
		var active *ActiveRunError
		switch {
		case err == nil:
			started = true
		case errors.As(err, &active):
			// A run is going (someone else's, or a concurrent tick's):
			// this turn is covered.
		default:
			return false, err
		}
	}
	// With a run active this records the time only; finishing the run
	// puts the integration back in the index at next.
	return started, e.deps.Store.SetSyncDue(ctx, in.AccountID, in.ID, &next)
}
