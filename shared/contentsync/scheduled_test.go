package contentsync_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/content"
	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil/fakewp"
)

// TestScheduledSyncStartsOncePerInterval: an integration with
// sync_interval_minutes is found through the due index, pulled once per
// interval however many publisher ticks run at once, and leaves the index
// when the interval is turned off.
func TestScheduledSyncStartsOncePerInterval(t *testing.T) {
	e := newSyncEnv(t)
	ctx := context.Background()
	e.seed(5)
	in := e.in
	in.SyncIntervalMinutes = 15
	saved, err := e.st.UpdateIntegration(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	e.in = saved
	now := time.Now().UTC()
	due := now.Add(-time.Minute)
	if err := e.st.SetSyncDue(ctx, in.AccountID, in.ID, &due); err != nil {
		t.Fatal(err)
	}
	if n, err := e.eng.StartDueSyncs(ctx, now.Add(-2*time.Minute)); err != nil || n != 0 {
		t.Fatalf("before it is due: %d started, %v", n, err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 3 {
		wg.Go(func() {
			n, err := e.eng.StartDueSyncs(ctx, now)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 1 {
		t.Fatalf("%d scheduled runs started by 3 concurrent ticks, want 1", total)
	}
	e.drain(false)
	run, err := e.st.LatestSyncRun(ctx, in.AccountID, in.ID)
	if err != nil || run.Status != store.RunSucceeded || run.Mode != "incremental" || run.Direction != "pull" || run.ItemsCreated != 8 {
		t.Fatalf("scheduled run: %+v, %v; want a succeeded incremental pull of 5 posts and 3 pages", run, err)
	}
	st, err := e.st.GetSyncState(ctx, in.AccountID, in.ID)
	if err != nil || st.NextDueAt == nil || st.NextDueAt.Sub(now) != 15*time.Minute {
		t.Fatalf("next due %v (%v), want 15 minutes after the tick", st.NextDueAt, err)
	}
	if n, _ := e.eng.StartDueSyncs(ctx, now.Add(10*time.Minute)); n != 0 {
		t.Fatalf("%d runs started before the interval elapsed", n)
	}
	if n, _ := e.eng.StartDueSyncs(ctx, now.Add(16*time.Minute)); n != 1 {
		t.Fatalf("%d runs started after the interval, want 1", n)
	}
	e.drain(false)

	// Turned off: the next due tick takes it out of the index.
	if saved, err = e.st.GetIntegration(ctx, in.AccountID, in.ID); err != nil {
		t.Fatal(err)
	}
	saved.SyncIntervalMinutes = 0
	if _, err = e.st.UpdateIntegration(ctx, saved); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.eng.StartDueSyncs(ctx, now.Add(40*time.Minute)); n != 0 {
		t.Fatalf("%d runs started with the interval off", n)
	}
	if left, _ := e.st.DueSyncs(ctx, now.Add(time.Hour), 0); len(left) != 0 {
		t.Fatalf("still due after the interval was turned off: %+v", left)
	}
}

// TestPulledPendingPostIsAutoApproved: with auto_approval_enabled, a
// WordPress post pending review is pulled into review and approved at once,
// queued for the publisher, with a content_approved event; a draft is not.
func TestPulledPendingPostIsAutoApproved(t *testing.T) {
	e := newSyncEnv(t)
	ctx := context.Background()
	content.New(e.st, e.eng).WithAutoApproval(slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Hour)
	if _, err := e.st.SavePublishSettings(ctx, store.PublishSettings{AccountID: e.in.AccountID, SiteID: e.in.SiteID, AutoApprovalEnabled: true,
		DailyLimit: 5, WeeklyLimit: 20, MonthlyLimit: 60, PublishDays: []string{"mon"}, TimeSlots: []store.TimeSlot{{Start: "09:00", End: "17:00"}}, Timezone: "UTC"}, 0); err != nil {
		t.Fatal(err)
	}
	e.wp.AddPosts(1, "post", func(_ int, p *fakewp.Post) { p.Title, p.Slug, p.Status = "Pending one", "pending-one", "pending" })
	e.wp.AddPosts(1, "post", func(_ int, p *fakewp.Post) { p.Title, p.Slug, p.Status = "Draft one", "draft-one", "draft" })
	e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	page, err := e.st.ListContent(ctx, e.in.AccountID, store.ContentFilter{SiteID: e.in.SiteID}, store.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	var approvedAt *time.Time
	for _, c := range page.Items {
		statuses[c.Title] = c.Status
		if c.Title == "Pending one" {
			approvedAt = c.ApprovedAt
		}
	}
	if statuses["Pending one"] != store.ContentApproved || approvedAt == nil || statuses["Draft one"] != store.ContentDraft {
		t.Fatalf("statuses after the pull: %v (approved_at %v)", statuses, approvedAt)
	}
	queued, err := e.st.OldestApproved(ctx, e.in.AccountID, e.in.SiteID, 10)
	if err != nil || len(queued) != 1 {
		t.Fatalf("approved queue: %+v, %v", queued, err)
	}
	evts, err := e.st.ListSyncEvents(ctx, e.in.AccountID, e.in.ID, store.EventFilter{EventType: content.EventContentApproved}, store.PageRequest{})
	if err != nil || len(evts.Items) != 1 || evts.Items[0].ContentID != queued[0].ContentID {
		t.Fatalf("content_approved events: %+v, %v", evts.Items, err)
	}
	// The pull after it sees nothing changed: auto-approval is no local edit.
	if run := e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false); run.ItemsConflicted != 0 || run.ItemsUpdated != 0 {
		t.Fatalf("re-sync after auto-approval: %+v", run)
	}
}
