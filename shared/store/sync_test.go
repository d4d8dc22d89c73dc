package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/google/uuid"
)

// mustIntegration creates an integration of account for sync tests (n keeps
// site and URL unique within the account); id may be "" (generated).
func (e *env) mustIntegration(account, id string, n int) Integration {
	e.t.Helper()
	in := integ(account, fmt.Sprintf("site-%d", n), "wordpress", url(n))
	in.ID = id
	return e.mustCreate(in)
}

func pullRun(account, integrationID string) SyncRun {
	return SyncRun{AccountID: account, IntegrationID: integrationID, Direction: DirectionPull, Mode: ModeIncremental, ContentTypes: []string{"post", "page"}}
}

func (e *env) mustStart(account, integrationID string) SyncRun {
	e.t.Helper()
	r, err := e.s.StartSyncRun(context.Background(), pullRun(account, integrationID))
	if err != nil {
		e.t.Fatalf("start sync run: %v", err)
	}
	return r
}

func (e *env) mustState(account, integrationID string) SyncState {
	e.t.Helper()
	st, err := e.s.GetSyncState(context.Background(), account, integrationID)
	if err != nil {
		e.t.Fatalf("get sync state: %v", err)
	}
	return st
}

func (e *env) mustFinish(account, integrationID, runID, status, msg string, cursors map[string]time.Time) (SyncRun, bool) {
	e.t.Helper()
	r, done, err := e.s.FinishSyncRun(context.Background(), account, integrationID, runID, status, msg, cursors)
	if err != nil {
		e.t.Fatalf("finish sync run %s: %v", runID, err)
	}
	return r, done
}

func at(h, m int) time.Time { return time.Date(2025, 5, 1, h, m, 0, 0, time.UTC) }

func TestSyncRunLifecycle(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.mustIntegration("acct-1", "", 1)

	if st := e.mustState("acct-1", in.ID); !reflect.DeepEqual(st, SyncState{AccountID: "acct-1", IntegrationID: in.ID}) {
		t.Fatalf("state before any run: %+v", st)
	}
	if _, err := e.s.LatestSyncRun(ctx, "acct-1", in.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("latest run before any run: %v", err)
	}

	r1 := e.mustStart("acct-1", in.ID)
	if id, err := uuid.Parse(r1.ID); err != nil || id.Version() != 7 {
		t.Fatalf("run ID %q is not a UUIDv7 (%v)", r1.ID, err)
	}
	if r1.Status != RunQueued || r1.StartedAt.IsZero() || r1.FinishedAt != nil || r1.Terminal() || r1.Complete() {
		t.Fatalf("started run: %+v", r1)
	}
	if got, err := e.s.GetSyncRun(ctx, "acct-1", in.ID, r1.ID); err != nil || !reflect.DeepEqual(got, r1) {
		t.Fatalf("get run:\n%+v (%v)\nwant\n%+v", got, err, r1)
	}
	if st := e.mustState("acct-1", in.ID); st.ActiveRunID != r1.ID || st.Version != 1 {
		t.Fatalf("state while running: %+v", st)
	}

	// One run at a time: the second start names the active run.
	_, err := e.s.StartSyncRun(ctx, pullRun("acct-1", in.ID))
	var active *ActiveRunError
	var conflict *ConflictError
	if !errors.As(err, &active) || active.RunID != r1.ID || !errors.Is(err, ErrConflict) {
		t.Fatalf("second start: err = %v, want *ActiveRunError{%s}", err, r1.ID)
	}
	if !errors.As(err, &conflict) || conflict.Reason != ConflictSyncActive {
		t.Fatalf("second start as *ConflictError: %+v", conflict)
	}
	if page, err := e.s.ListSyncRuns(ctx, "acct-1", in.ID, PageRequest{}); err != nil || len(page.Items) != 1 {
		t.Fatalf("refused start left a run behind: %+v %v", page, err)
	}
	if latest, err := e.s.LatestSyncRun(ctx, "acct-1", in.ID); err != nil || latest.ID != r1.ID {
		t.Fatalf("latest while active: %+v %v", latest, err)
	}

	// Finish with success: the lock is released and the cursors stored.
	fin, done := e.mustFinish("acct-1", in.ID, r1.ID, RunSucceeded, "", map[string]time.Time{"post": at(10, 0)})
	if !done || fin.Status != RunSucceeded || fin.FinishedAt == nil || !fin.Terminal() {
		t.Fatalf("finish: %+v done=%v", fin, done)
	}
	if got, _ := e.s.GetSyncRun(ctx, "acct-1", in.ID, r1.ID); !reflect.DeepEqual(got, fin) {
		t.Fatalf("stored finished run\n%+v\nwant\n%+v", got, fin)
	}
	st := e.mustState("acct-1", in.ID)
	if st.ActiveRunID != "" || st.LastRunID != r1.ID || st.LastSuccessAt == nil || !st.LastSuccessAt.Equal(*fin.FinishedAt) ||
		!reflect.DeepEqual(st.Cursors, map[string]time.Time{"post": at(10, 0)}) {
		t.Fatalf("state after success: %+v", st)
	}

	// Finishing again (a redelivered message) changes nothing.
	e.calls.Reset()
	again, done, err := e.s.FinishSyncRun(ctx, "acct-1", in.ID, r1.ID, RunFailed, "late failure", map[string]time.Time{"post": at(23, 0)})
	if err != nil || done || !reflect.DeepEqual(again, fin) {
		t.Fatalf("second finish: %+v done=%v err=%v", again, done, err)
	}
	if n := e.calls.Total(); n != 1 {
		t.Fatalf("second finish made %d calls (%v), want one GetItem", n, e.calls.Snapshot())
	}
	if st2 := e.mustState("acct-1", in.ID); !reflect.DeepEqual(st2, st) {
		t.Fatalf("second finish changed the state:\n%+v\nwas\n%+v", st2, st)
	}

	// A failed run keeps the cursors; a later success merges them forward only.
	r2 := e.mustStart("acct-1", in.ID)
	if latest, err := e.s.LatestSyncRun(ctx, "acct-1", in.ID); err != nil || latest.ID != r2.ID {
		t.Fatalf("latest while r2 active: %+v %v", latest, err)
	}
	failed, done := e.mustFinish("acct-1", in.ID, r2.ID, RunFailed, "boom", map[string]time.Time{"post": at(12, 0), "page": at(12, 0)})
	if !done || failed.Error != "boom" {
		t.Fatalf("failed finish: %+v %v", failed, done)
	}
	st = e.mustState("acct-1", in.ID)
	if !reflect.DeepEqual(st.Cursors, map[string]time.Time{"post": at(10, 0)}) || st.LastRunID != r2.ID || !st.LastSuccessAt.Equal(*fin.FinishedAt) {
		t.Fatalf("state after failure: %+v", st)
	}
	r3 := e.mustStart("acct-1", in.ID)
	e.mustFinish("acct-1", in.ID, r3.ID, RunSucceeded, "", map[string]time.Time{"post": at(9, 0), "page": at(11, 0)})
	st = e.mustState("acct-1", in.ID)
	if want := map[string]time.Time{"post": at(10, 0), "page": at(11, 0)}; !reflect.DeepEqual(st.Cursors, want) {
		t.Fatalf("merged cursors %v, want %v", st.Cursors, want)
	}

	// Newest first, by pages.
	if latest, err := e.s.LatestSyncRun(ctx, "acct-1", in.ID); err != nil || latest.ID != r3.ID || latest.Status != RunSucceeded {
		t.Fatalf("latest without an active run: %+v %v", latest, err)
	}
	p1, err := e.s.ListSyncRuns(ctx, "acct-1", in.ID, PageRequest{Limit: 2})
	if err != nil || len(p1.Items) != 2 || p1.Items[0].ID != r3.ID || p1.Items[1].ID != r2.ID || p1.NextCursor == "" {
		t.Fatalf("runs page 1: %+v %v", p1, err)
	}
	p2, err := e.s.ListSyncRuns(ctx, "acct-1", in.ID, PageRequest{Limit: 2, Cursor: p1.NextCursor})
	if err != nil || len(p2.Items) != 1 || p2.Items[0].ID != r1.ID || p2.NextCursor != "" {
		t.Fatalf("runs page 2: %+v %v", p2, err)
	}
}

func TestSyncRunValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, r := range []SyncRun{
		{IntegrationID: "i", Direction: DirectionPull, Mode: ModeFull},
		{AccountID: "a", Direction: DirectionPull, Mode: ModeFull},
		{AccountID: "a", IntegrationID: "i", Mode: ModeFull},
		{AccountID: "a", IntegrationID: "i", Direction: DirectionPull},
	} {
		if _, err := e.s.StartSyncRun(ctx, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("start %+v: err = %v, want ErrInvalid", r, err)
		}
	}
	if _, _, err := e.s.FinishSyncRun(ctx, "a", "i", "r", RunRunning, "", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("finish with a non-terminal status: %v", err)
	}
	if _, err := e.s.AddSyncRunProgress(ctx, "a", "i", "r", RunProgress{Status: RunSucceeded}); !errors.Is(err, ErrInvalid) {
		t.Errorf("progress with a terminal status: %v", err)
	}
	if n := e.calls.Total(); n != 0 {
		t.Errorf("invalid input made %d calls", n)
	}
}

func TestSyncTenantIsolation(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	a := e.mustIntegration("acct-A", "", 1)
	r := e.mustStart("acct-A", a.ID)

	// Account B names A's integration and run: nothing is visible or writable.
	if _, err := e.s.StartSyncRun(ctx, pullRun("acct-B", a.ID)); !errors.Is(err, ErrNotFound) {
		t.Errorf("B starts a run on A's integration: %v", err)
	}
	if item := e.rawItem(SyncStateKey("acct-B", a.ID)); item != nil {
		t.Errorf("refused start created a state item for B: %v", item)
	}
	if _, err := e.s.GetSyncRun(ctx, "acct-B", a.ID, r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B reads A's run: %v", err)
	}
	if _, err := e.s.LatestSyncRun(ctx, "acct-B", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B reads A's latest run: %v", err)
	}
	if page, err := e.s.ListSyncRuns(ctx, "acct-B", a.ID, PageRequest{}); err != nil || len(page.Items) != 0 {
		t.Errorf("B lists A's runs: %+v %v", page, err)
	}
	if st := e.mustState("acct-B", a.ID); st.ActiveRunID != "" || st.Version != 0 {
		t.Errorf("B sees A's state: %+v", st)
	}
	if _, err := e.s.AddSyncRunProgress(ctx, "acct-B", a.ID, r.ID, RunProgress{PagesDone: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("B adds progress to A's run: %v", err)
	}
	if _, _, err := e.s.FinishSyncRun(ctx, "acct-B", a.ID, r.ID, RunCanceled, "", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("B finishes A's run: %v", err)
	}
	if got, _ := e.s.GetSyncRun(ctx, "acct-A", a.ID, r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("A's run changed:\n%+v\nwant\n%+v", got, r)
	}
	// A start for an integration that does not exist is refused atomically.
	if _, err := e.s.StartSyncRun(ctx, pullRun("acct-A", "no-such-integration")); !errors.Is(err, ErrNotFound) {
		t.Errorf("start for a missing integration: %v", err)
	}
	if item := e.rawItem(SyncStateKey("acct-A", "no-such-integration")); item != nil {
		t.Errorf("refused start left a state item: %v", item)
	}
}

func TestSyncRunProgressConcurrent(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	skipWithoutAtomicConcurrency(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.mustIntegration("acct-1", "", 1)
	run := e.mustStart("acct-1", in.ID)

	planned, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{PagesTotal: 20, PlanningDone: true, Status: RunRunning, Phase: "pulling"})
	if err != nil || planned.PagesTotal != 20 || !planned.PlanningDone || planned.Status != RunRunning || planned.Phase != "pulling" || planned.Complete() {
		t.Fatalf("planning update: %+v %v", planned, err)
	}
	const pages = 20
	base := at(8, 0)
	var closers atomic.Int32
	var closer atomic.Value
	var wg sync.WaitGroup
	errs := make(chan error, pages)
	for i := range pages {
		wg.Go(func() {
			d := RunProgress{PagesDone: 1, ItemsCreated: 3, ItemsUpdated: 2, ItemsUnchanged: 5, ItemsConflicted: int64(i % 2),
				Cursor: new(base.Add(time.Duration(i) * time.Minute)), PageKey: fmt.Sprintf("post:%d", i+1)}
			if i%4 == 0 {
				d.ItemsFailed = 1
			}
			r, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, d)
			if err != nil {
				errs <- err
				return
			}
			if r.Complete() {
				closers.Add(1)
				closer.Store(r)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent progress: %v", err)
	}
	if n := closers.Load(); n != 1 {
		t.Fatalf("%d callers saw the run complete, want exactly 1", n)
	}
	got, err := e.s.GetSyncRun(ctx, "acct-1", in.ID, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := SyncRun{PagesTotal: 20, PagesDone: 20, ItemsCreated: 60, ItemsUpdated: 40, ItemsUnchanged: 100, ItemsFailed: 5, ItemsConflicted: 10}
	if got.PagesTotal != want.PagesTotal || got.PagesDone != want.PagesDone || got.ItemsCreated != want.ItemsCreated ||
		got.ItemsUpdated != want.ItemsUpdated || got.ItemsUnchanged != want.ItemsUnchanged || got.ItemsFailed != want.ItemsFailed ||
		got.ItemsConflicted != want.ItemsConflicted {
		t.Fatalf("counters after 20 pages: %+v", got)
	}
	if !got.Cursor.Equal(base.Add(19 * time.Minute)) {
		t.Fatalf("run cursor %v, want the highest reported %v", got.Cursor, base.Add(19*time.Minute))
	}
	if c := closer.Load().(SyncRun); c.PagesDone != 20 || !c.Cursor.Equal(got.Cursor) {
		t.Fatalf("the closing caller saw %+v", c)
	}

	// A redelivered page changes nothing and still reports the run complete,
	// so the redelivered job can close a run whose closer crashed.
	e.calls.Reset()
	dup, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{PagesDone: 1, ItemsCreated: 3, PageKey: "post:7"})
	if err != nil || dup.PagesDone != 20 || dup.ItemsCreated != 60 || !dup.Complete() {
		t.Fatalf("redelivered page: %+v %v", dup, err)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"UpdateItem": 1, "GetItem": 1}) {
		t.Fatalf("redelivered page calls %v", got)
	}

	// Exactly one of several concurrent closers finishes the run.
	var finishers atomic.Int32
	for range 8 {
		wg.Go(func() {
			_, done, err := e.s.FinishSyncRun(ctx, "acct-1", in.ID, run.ID, RunSucceeded, "", map[string]time.Time{"post": got.Cursor})
			if err != nil {
				t.Errorf("concurrent finish: %v", err)
			}
			if done {
				finishers.Add(1)
			}
		})
	}
	wg.Wait()
	if n := finishers.Load(); n != 1 {
		t.Fatalf("%d concurrent finishers succeeded, want 1", n)
	}
	if st := e.mustState("acct-1", in.ID); st.ActiveRunID != "" || st.LastRunID != run.ID || !st.Cursors["post"].Equal(got.Cursor) {
		t.Fatalf("state after concurrent finish: %+v", st)
	}

	// Progress after the end is refused and says so.
	late, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{PagesDone: 1})
	if !errors.Is(err, ErrRunFinished) || !errors.Is(err, ErrPreconditionFailed) || late.Status != RunSucceeded {
		t.Fatalf("late progress: %+v %v", late, err)
	}
	if after, _ := e.s.GetSyncRun(ctx, "acct-1", in.ID, run.ID); after.PagesDone != 20 {
		t.Fatalf("late progress counted: %+v", after)
	}
	if _, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, "no-such-run", RunProgress{PagesDone: 1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("progress for a missing run: %v", err)
	}
	if item := e.rawItem(SyncRunKey("acct-1", in.ID, "no-such-run")); item != nil {
		t.Fatalf("progress created a run item: %v", item)
	}
}

// TestSyncRunPlanningLast: pages may finish before planning does; then the
// planner's update is the one that sees the run complete.
func TestSyncRunPlanningLast(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.mustIntegration("acct-1", "", 1)
	run := e.mustStart("acct-1", in.ID)
	if r, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{PagesTotal: 3}); err != nil || r.Complete() {
		t.Fatalf("plan 3 pages: %+v %v", r, err)
	}
	for i := range 3 {
		r, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{PagesDone: 1, PageKey: fmt.Sprint(i)})
		if err != nil || r.Complete() {
			t.Fatalf("page %d: %+v %v", i, r, err)
		}
	}
	r, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{PlanningDone: true, Phase: "pushing"})
	if err != nil || !r.Complete() || r.Phase != "pushing" {
		t.Fatalf("planning done: %+v %v", r, err)
	}
}

// TestSyncRunProgressEveryField sets every field at once: 14 attribute
// names in one update expression (the emulator mangles placeholders from
// #10 on unless they are rewritten).
func TestSyncRunProgressEveryField(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.mustIntegration("acct-1", "", 1)
	run := e.mustStart("acct-1", in.ID)
	c := at(7, 30)
	for i := range 5 {
		r, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, RunProgress{
			PagesTotal: 1, PagesDone: 1, ItemsCreated: 1, ItemsUpdated: 2, ItemsUnchanged: 3, ItemsFailed: 4, ItemsConflicted: 5,
			PlanningDone: true, Phase: "pulling", Status: RunRunning, Cursor: &c, PageKey: fmt.Sprint(i),
		})
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		n := int64(i + 1)
		if r.PagesTotal != n || r.PagesDone != n || r.ItemsCreated != n || r.ItemsUpdated != 2*n || r.ItemsUnchanged != 3*n ||
			r.ItemsFailed != 4*n || r.ItemsConflicted != 5*n || !r.PlanningDone || r.Phase != "pulling" || r.Status != RunRunning || !r.Cursor.Equal(c) {
			t.Fatalf("after update %d: %+v", i, r)
		}
	}
	raw := e.rawItem(SyncRunKey("acct-1", in.ID, run.ID))
	for name := range raw {
		if strings.ContainsAny(name, "#:. \n") {
			t.Fatalf("stored attribute with a mangled name %q (attributes %v)", name, keysOf(raw))
		}
	}
}

func TestSyncRunCursorRaise(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.mustIntegration("acct-1", "", 1)
	run := e.mustStart("acct-1", in.ID)
	steps := []struct {
		cursor time.Time
		want   time.Time
		calls  int
	}{
		{at(10, 0), at(10, 0), 1},   // first cursor: one update
		{at(9, 0), at(10, 0), 2},    // lower: refused, then applied without it
		{at(10, 0), at(10, 0), 2},   // equal: not raised
		{at(10, 1), at(10, 1), 1},   // higher: raised
		{time.Time{}, at(10, 1), 1}, // none given
	}
	for i, s := range steps {
		d := RunProgress{ItemsCreated: 1}
		if !s.cursor.IsZero() {
			d.Cursor = &s.cursor
		}
		e.calls.Reset()
		r, err := e.s.AddSyncRunProgress(ctx, "acct-1", in.ID, run.ID, d)
		if err != nil || !r.Cursor.Equal(s.want) || r.ItemsCreated != int64(i+1) {
			t.Fatalf("step %d: %+v %v", i, r, err)
		}
		if n := e.calls.Count("UpdateItem"); n != s.calls || e.calls.Total() != n {
			t.Fatalf("step %d: calls %v, want %d UpdateItem", i, e.calls.Snapshot(), s.calls)
		}
	}
}

// dueIDs returns integration IDs, one per due shard, so a test covers
// every shard deterministically.
func dueIDs(prefix string) []string {
	out := make([]string, DueShards)
	found := 0
	for n := 0; found < DueShards; n++ {
		id := fmt.Sprintf("%s-%d", prefix, n)
		if sh := shardOf(id, DueShards); out[sh] == "" {
			out[sh] = id
			found++
		}
	}
	return out
}

func TestSyncDue(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	now := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	ids := dueIDs("int")    // one per shard
	more := dueIDs("extra") // one more per shard
	for i, id := range append(append([]string{}, ids...), more...) {
		acct := "acct-1"
		if i%2 == 1 {
			acct = "acct-2"
		}
		e.mustIntegration(acct, id, i)
	}
	acctOf := func(id string) string {
		for i, x := range append(append([]string{}, ids...), more...) {
			if x == id {
				if i%2 == 1 {
					return "acct-2"
				}
				return "acct-1"
			}
		}
		t.Fatalf("unknown id %s", id)
		return ""
	}
	set := func(id string, due *time.Time) {
		t.Helper()
		if err := e.s.SetSyncDue(ctx, acctOf(id), id, due); err != nil {
			t.Fatalf("set due %s: %v", id, err)
		}
	}
	// Due: ids[0] 3 h ago, ids[1] 1 h ago, ids[2] exactly now, ids[3] a
	// minute from now (not due). more[0] was due but is unscheduled;
	// more[1] is due but running; more[2] is scheduled while running.
	set(ids[0], new(now.Add(-3*time.Hour)))
	set(ids[1], new(now.Add(-time.Hour)))
	set(ids[2], new(now))
	set(ids[3], new(now.Add(time.Minute)))
	set(more[0], new(now.Add(-2*time.Hour)))
	set(more[0], nil)
	set(more[1], new(now.Add(-2*time.Hour)))
	runMore1 := e.mustStart(acctOf(more[1]), more[1])
	runMore2 := e.mustStart(acctOf(more[2]), more[2])
	set(more[2], new(now.Add(-30*time.Minute)))

	due := func(limit int, wantIDs ...string) {
		t.Helper()
		e.calls.Reset()
		got, err := e.s.DueSyncs(ctx, now, limit)
		if err != nil {
			t.Fatalf("due syncs: %v", err)
		}
		if q := e.calls.Count("Query"); q != DueShards || e.calls.Total() != q {
			t.Fatalf("due syncs calls %v, want %d Queries", e.calls.Snapshot(), DueShards)
		}
		var gotIDs []string
		for _, st := range got {
			gotIDs = append(gotIDs, st.IntegrationID)
			if st.AccountID != acctOf(st.IntegrationID) || st.NextDueAt == nil || st.NextDueAt.After(now) || st.ActiveRunID != "" {
				t.Fatalf("due state %+v", st)
			}
		}
		if !reflect.DeepEqual(gotIDs, wantIDs) {
			t.Fatalf("due (limit %d) = %v, want %v", limit, gotIDs, wantIDs)
		}
	}
	due(0, ids[0], ids[1], ids[2])

	// The state of a running integration keeps its schedule for later.
	if st := e.mustState(acctOf(more[2]), more[2]); st.NextDueAt == nil || !st.NextDueAt.Equal(now.Add(-30*time.Minute)) || st.ActiveRunID != runMore2.ID {
		t.Fatalf("scheduled while running: %+v", st)
	}
	// Finishing a run puts a scheduled integration back in the index.
	e.mustFinish(acctOf(more[1]), more[1], runMore1.ID, RunSucceeded, "", nil)
	e.mustFinish(acctOf(more[2]), more[2], runMore2.ID, RunFailed, "x", nil)
	due(0, ids[0], more[1], ids[1], more[2], ids[2])

	// Starting a run takes an integration out of the index.
	started := e.mustStart(acctOf(ids[0]), ids[0])
	due(0, more[1], ids[1], more[2], ids[2])
	e.mustFinish(acctOf(ids[0]), ids[0], started.ID, RunCanceled, "", nil)

	// The per-shard limit applies to each shard: more[1] and ids[1] share a
	// shard, as do more[2] and ids[2]; the older of each pair comes first.
	if shardOf(more[1], DueShards) != 1 || shardOf(ids[1], DueShards) != 1 {
		t.Fatalf("test setup: shards of %s, %s", more[1], ids[1])
	}
	due(1, ids[0], more[1], more[2])
	// Moving the due time forward takes it out; clearing it too.
	set(ids[0], new(now.Add(time.Hour)))
	set(more[1], nil)
	due(0, ids[1], more[2], ids[2])
}

// TestSyncCallCounts pins the DynamoDB calls of each operation.
func TestSyncCallCounts(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.mustIntegration("a", "", 1)
	var run SyncRun
	steps := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"start", func() (err error) { run, err = e.s.StartSyncRun(ctx, pullRun("a", in.ID)); return }, map[string]int{"TransactWriteItems": 1}},
		{"start while active", func() error {
			if _, err := e.s.StartSyncRun(ctx, pullRun("a", in.ID)); !errors.Is(err, ErrConflict) {
				return fmt.Errorf("want a conflict, got %v", err)
			}
			return nil
		}, map[string]int{"TransactWriteItems": 1, "GetItem": 1}},
		{"get state", func() error { _, err := e.s.GetSyncState(ctx, "a", in.ID); return err }, map[string]int{"GetItem": 1}},
		{"get run", func() error { _, err := e.s.GetSyncRun(ctx, "a", in.ID, run.ID); return err }, map[string]int{"GetItem": 1}},
		{"latest (active)", func() error { _, err := e.s.LatestSyncRun(ctx, "a", in.ID); return err }, map[string]int{"GetItem": 2}},
		{"list", func() error { _, err := e.s.ListSyncRuns(ctx, "a", in.ID, PageRequest{}); return err }, map[string]int{"Query": 1}},
		{"progress", func() error {
			_, err := e.s.AddSyncRunProgress(ctx, "a", in.ID, run.ID, RunProgress{PagesDone: 1, ItemsCreated: 100, PageKey: "p1"})
			return err
		}, map[string]int{"UpdateItem": 1}},
		{"set due (running)", func() error { return e.s.SetSyncDue(ctx, "a", in.ID, new(at(1, 0))) }, map[string]int{"UpdateItem": 2}},
		{"finish", func() error {
			_, _, err := e.s.FinishSyncRun(ctx, "a", in.ID, run.ID, RunSucceeded, "", nil)
			return err
		}, map[string]int{"GetItem": 2, "TransactWriteItems": 1}},
		{"finish again", func() error {
			_, _, err := e.s.FinishSyncRun(ctx, "a", in.ID, run.ID, RunSucceeded, "", nil)
			return err
		}, map[string]int{"GetItem": 1}},
		{"latest (none active)", func() error { _, err := e.s.LatestSyncRun(ctx, "a", in.ID); return err }, map[string]int{"GetItem": 1, "Query": 1}},
		{"set due (idle)", func() error { return e.s.SetSyncDue(ctx, "a", in.ID, new(at(2, 0))) }, map[string]int{"UpdateItem": 1}},
		{"due", func() error { _, err := e.s.DueSyncs(ctx, at(3, 0), 10); return err }, map[string]int{"Query": DueShards}},
	}
	for _, s := range steps {
		e.calls.Reset()
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := e.calls.Snapshot(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: calls %v, want %v", s.name, got, s.want)
		}
	}
}

func TestSyncExprRewrite(t *testing.T) {
	t.Parallel()
	up := expression.Set(expression.Name("A"), expression.Value(1))
	for i := range 11 {
		up = up.Add(expression.Name(fmt.Sprintf("C%d", i)), expression.Value(1))
	}
	up = up.Remove(expression.Name("R"))
	expr, err := expression.NewBuilder().WithUpdate(up).Build()
	if err != nil {
		t.Fatal(err)
	}
	got := *syncExprString(expr.Update())
	if strings.Contains(got, "\n") {
		t.Fatalf("newline left in %q", got)
	}
	names := syncExprNames(expr.Names())
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
		if !strings.Contains(got, k) {
			t.Fatalf("placeholder %s missing from %q", k, got)
		}
	}
	sort.Strings(keys)
	for _, a := range keys {
		for _, b := range keys {
			if a != b && strings.Contains(b, a) {
				t.Fatalf("placeholder %s is inside %s", a, b)
			}
		}
	}
	// Substituting names in any order yields the same expression.
	resolve := func(order []string) string {
		s := got
		for _, k := range order {
			s = strings.ReplaceAll(s, k, names[k])
		}
		return s
	}
	rev := append([]string(nil), keys...)
	sort.Sort(sort.Reverse(sort.StringSlice(rev)))
	if a, b := resolve(keys), resolve(rev); a != b || strings.Contains(a, "#") {
		t.Fatalf("order-dependent substitution:\n%s\n%s", a, b)
	}
}
