package publishing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
)

// RunStats is what one publisher run did.
type RunStats struct {
	// SitesDue is how many sites the due index returned.
	SitesDue int
	// Published is how many items were claimed and their pushes queued.
	Published int
	// Recovered counts pending pushes of an interrupted earlier run queued now.
	Recovered int
	// Dropped counts stale queue entries (content no longer approved).
	Dropped int
	// Failed counts sites whose handling failed (retried next run).
	Failed int
}

// maxDuePerShard bounds the sites one run reads from each due-index shard
// (four shards: 10,000 due sites a tick); the rest stay due for the next.
const maxDuePerShard = 2500

// maxClaimAttempts bounds the claims one site tries per run (stale entries
// dropped on the way).
const maxClaimAttempts = 4

// Publish is one publisher run at now: it reads the sites due a visit from
// the due index (no scan), and for each, in its time zone, publishes at
// most one item when a planned time is due and the limits allow, then
// moves the site's next visit to its next planned time. Safe to run twice
// or concurrently: every decision is re-checked by the claim transaction.
func (s *Service) Publish(ctx context.Context, now time.Time) (RunStats, error) {
	sites, err := s.deps.Store.DueSites(ctx, now, maxDuePerShard)
	if err != nil {
		return RunStats{}, fmt.Errorf("read due sites: %w", err)
	}
	stats := RunStats{SitesDue: len(sites)}
	var mu sync.Mutex
	work := make(chan store.PublishSettings)
	var wg sync.WaitGroup
	for range min(s.deps.Concurrency, max(len(sites), 1)) {
		wg.Go(func() {
			for ps := range work {
				st, err := s.publishSite(ctx, ps, now)
				mu.Lock()
				stats.Published += st.Published
				stats.Recovered += st.Recovered
				stats.Dropped += st.Dropped
				if err != nil {
					stats.Failed++
				}
				mu.Unlock()
				if err != nil {
					s.deps.Logger.ErrorContext(logging.With(ctx, logging.String("account_id", ps.AccountID), logging.String("site_id", ps.SiteID)),
						"publisher: site failed; the next run retries", logging.Err(err))
				}
			}
		})
	}
	for _, ps := range sites {
		work <- ps
	}
	close(work)
	wg.Wait()
	return stats, nil
}

func (s *Service) publishSite(ctx context.Context, ps store.PublishSettings, now time.Time) (RunStats, error) {
	var st RunStats
	if ps.Pending != nil {
		// An earlier run claimed an item and stopped before (or while)
		// queueing its push: queue it now (the push is idempotent).
		if err := s.enqueue(ctx, ps, *ps.Pending); err != nil {
			return st, err
		}
		if err := s.deps.Store.ClearPendingPush(ctx, ps.AccountID, ps.SiteID, ps.Pending.ContentID, &now, false); err != nil {
			return st, err
		}
		st.Recovered++
	}
	if !ps.AutoPublishEnabled {
		return st, nil // the settings write took the site out of the index
	}
	if ps.ApprovedWaiting <= 0 {
		// Due because its settings changed, with nothing waiting.
		return st, s.drained(ctx, ps)
	}
	rules, err := RulesOf(ps)
	if err != nil {
		return st, err
	}
	counts, err := s.deps.Store.GetPublishCounts(ctx, ps.AccountID, ps.SiteID, now.In(rules.Location))
	if err != nil {
		return st, err
	}
	c := Counts{At: now, Day: counts.Day, Week: counts.Week, Month: counts.Month, LastAt: counts.LastAt}
	at, planned, ok := rules.Next(c, now)
	if !ok {
		// These settings never publish (a limit of 0, no days or slots):
		// out of the index until the settings change.
		return st, s.deps.Store.MoveDue(ctx, ps.AccountID, ps.SiteID, nil, false)
	}
	if at.After(now) {
		return st, s.deps.Store.MoveDue(ctx, ps.AccountID, ps.SiteID, &at, false)
	}
	for range maxClaimAttempts {
		entries, err := s.deps.Store.OldestApproved(ctx, ps.AccountID, ps.SiteID, 1)
		if err != nil {
			return st, err
		}
		if len(entries) == 0 {
			return st, s.drained(ctx, ps)
		}
		e := entries[0]
		err = s.deps.Store.ClaimApproved(ctx, store.Claim{Entry: e, Now: now, Local: now.In(rules.Location), Planned: planned,
			Daily: ps.DailyLimit, Weekly: ps.WeeklyLimit, Monthly: ps.MonthlyLimit})
		switch {
		case err == nil:
		case errors.Is(err, store.ErrClaimStale):
			if err := s.deps.Store.DropApproved(ctx, e); err != nil {
				return st, err
			}
			st.Dropped++
			continue
		case errors.Is(err, store.ErrClaimGone):
			continue
		case errors.Is(err, store.ErrClaimNotDue), errors.Is(err, store.ErrClaimLimit), errors.Is(err, store.ErrClaimBlocked):
			// Another run published (or the settings changed) first; it
			// moves the site's next visit.
			return st, nil
		default:
			return st, err
		}
		pending := store.PendingPush{ContentID: e.ContentID, IntegrationID: e.IntegrationID, ContentVersion: e.ContentVersion}
		if err := s.enqueue(ctx, ps, pending); err != nil {
			return st, err // the pending push stays recorded: the next run queues it
		}
		st.Published++
		s.deps.Logger.InfoContext(ctx, "publisher: queued a scheduled push", logging.String("site_id", ps.SiteID),
			logging.String("content_id", e.ContentID), logging.String("planned", planned.UTC().Format(time.RFC3339)))
		next, _, ok := rules.Next(rules.Record(c, now), now)
		var nextp *time.Time
		if ok {
			nextp = &next
		}
		return st, s.deps.Store.ClearPendingPush(ctx, ps.AccountID, ps.SiteID, e.ContentID, nextp, ps.ApprovedWaiting-1-int64(st.Dropped) <= 0)
	}
	return st, nil
}

// drained takes a site whose queue is empty out of the due index; the
// counter is read again consistently so a concurrent approval is kept.
func (s *Service) drained(ctx context.Context, ps store.PublishSettings) error {
	cur, _, err := s.deps.Store.GetPublishSettings(ctx, ps.AccountID, ps.SiteID)
	if err != nil {
		return err
	}
	// Look again after reading the counter: an approval since then
	// changes the counter, and the reset's condition keeps it.
	entries, err := s.deps.Store.OldestApproved(ctx, ps.AccountID, ps.SiteID, 1)
	if err != nil || len(entries) > 0 {
		return err
	}
	return s.deps.Store.ResetApprovedWaiting(ctx, ps.AccountID, ps.SiteID, cur.ApprovedWaiting)
}

func (s *Service) enqueue(ctx context.Context, ps store.PublishSettings, p store.PendingPush) error {
	c := store.Content{AccountID: ps.AccountID, SiteID: ps.SiteID, ID: p.ContentID, IntegrationID: p.IntegrationID, Version: p.ContentVersion}
	if err := s.deps.Push.EnqueuePush(ctx, c, ""); err != nil {
		return fmt.Errorf("queue push of %s: %w", p.ContentID, err)
	}
	return nil
}
