package publishing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/content"
	"github.com/igny8/integrations/shared/publishing"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

// pushes records the pushes the publisher queues (the push itself is the
// sync engine's, tested there).
type pushes struct {
	mu   sync.Mutex
	byID map[string]int
	seq  []string
}

func (p *pushes) EnqueuePush(_ context.Context, c store.Content, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID == nil {
		p.byID = map[string]int{}
	}
	p.byID[c.ID]++
	p.seq = append(p.seq, c.ID)
	return nil
}

// EnqueuePull is the content service's other job (resolving a conflict in
// WordPress's favour); the publisher never queues it.
func (p *pushes) EnqueuePull(context.Context, store.Content) error { return nil }

func (p *pushes) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seq)
}

// fakeClock is the injected clock of the store and the services.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.t.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)     { c.t.Store(t.UnixNano()) }
func (c *fakeClock) Add(d time.Duration) { c.t.Add(int64(d)) }

type env struct {
	st      *store.Store
	svc     *publishing.Service
	content *content.Service
	push    *pushes
	clock   *fakeClock
	counter *testutil.RequestCounter
	account string
}

func newEnv(t *testing.T, start time.Time) *env {
	t.Helper()
	clients, counter := testutil.MustCountingClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	clock := &fakeClock{}
	clock.Set(start)
	st := store.New(clients.DynamoDB, table, store.WithClock(clock.Now))
	p := &pushes{}
	e := &env{st: st, push: p, clock: clock, counter: counter, account: testutil.UniqueName(t, "acct"),
		svc:     publishing.New(publishing.Deps{Store: st, Push: p, Now: clock.Now}),
		content: content.New(st, p).WithAutoApproval(nil, time.Hour)}
	return e
}

// site connects a site (its integration) with settings and n approved items.
func (e *env) site(t *testing.T, siteID string, in publishing.Input, approved int) []string {
	t.Helper()
	ctx := context.Background()
	integ, err := e.st.CreateIntegration(ctx, store.Integration{AccountID: e.account, SiteID: siteID, Platform: "wordpress",
		ExternalSiteURL: "https://" + siteID + ".example", IsActive: true, SyncEnabled: true,
		Config: map[string]any{"connection": map[string]any{"site": map[string]any{"timezone_string": "America/New_York"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Update(ctx, e.account, siteID, 0, in); err != nil {
		t.Fatalf("settings: %v", err)
	}
	var ids []string
	for i := range approved {
		c, err := e.st.CreateContent(ctx, store.Content{AccountID: e.account, SiteID: siteID, IntegrationID: integ.ID, ContentType: "post",
			Title: fmt.Sprintf("%s item %d", siteID, i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.content.Approve(ctx, e.account, c.ID, 0); err != nil {
			t.Fatalf("approve: %v", err)
		}
		ids = append(ids, c.ID)
		e.clock.Add(time.Millisecond) // distinct approved_at, like real approvals
	}
	return ids
}

func ptr[T any](v T) *T { return &v }

func openAllDay(daily, weekly, monthly int) publishing.Input {
	return publishing.Input{AutoPublishEnabled: ptr(true), DailyPublishLimit: ptr(daily), WeeklyPublishLimit: ptr(weekly), MonthlyPublishLimit: ptr(monthly),
		PublishDays:      ptr([]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}),
		PublishTimeSlots: ptr([]store.TimeSlot{{Start: "00:00", End: "24:00"}}), Timezone: ptr("America/New_York")}
}

func TestDefaultsOnFirstRead(t *testing.T) {
	e := newEnv(t, time.Date(2037, 6, 1, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	if _, err := e.svc.Get(ctx, e.account, "nowhere"); err == nil {
		t.Fatal("settings of a site without an integration were found")
	}
	if _, err := e.st.CreateIntegration(ctx, store.Integration{AccountID: e.account, SiteID: "s1", Platform: "wordpress", ExternalSiteURL: "https://s1.example",
		Config: map[string]any{"connection": map[string]any{"site": map[string]any{"timezone_string": "Europe/Berlin"}}}}); err != nil {
		t.Fatal(err)
	}
	ps, err := e.svc.Get(ctx, e.account, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if ps.AutoApprovalEnabled || ps.AutoPublishEnabled || ps.DailyLimit != 5 || ps.WeeklyLimit != 20 || ps.MonthlyLimit != 60 ||
		fmt.Sprint(ps.PublishDays) != "[mon wed fri]" || fmt.Sprint(ps.TimeSlots) != "[{09:00 17:00}]" || ps.Timezone != "Europe/Berlin" || ps.Version != 1 {
		t.Fatalf("defaults = %+v", ps)
	}
	again, err := e.svc.Get(ctx, e.account, "s1")
	if err != nil || again.Version != 1 {
		t.Fatalf("second read = %+v, %v; want the same version 1", again, err)
	}
	if _, err := e.svc.Get(ctx, "other-account", "s1"); err == nil {
		t.Fatal("another account read the site's settings")
	}
	if _, err := e.svc.Update(ctx, "other-account", "s1", 0, publishing.Input{AutoPublishEnabled: ptr(true)}); err == nil {
		t.Fatal("another account changed the site's settings")
	}
	if _, err := e.svc.Preview(ctx, "other-account", "s1", 7); err == nil {
		t.Fatal("another account previewed the site's schedule")
	}
	if ps, _ := e.svc.Get(ctx, e.account, "s1"); ps.AutoPublishEnabled {
		t.Fatal("the other account's change took effect")
	}
}

func TestValidate(t *testing.T) {
	base := store.PublishSettings{DailyLimit: 5, WeeklyLimit: 20, MonthlyLimit: 60, PublishDays: []string{"mon"},
		TimeSlots: []store.TimeSlot{{Start: "09:00", End: "17:00"}}, Timezone: "UTC"}
	cases := []struct {
		name  string
		edit  func(*store.PublishSettings)
		field string
	}{
		{"valid", func(*store.PublishSettings) {}, ""},
		{"negative limit", func(p *store.PublishSettings) { p.DailyLimit = -1 }, "daily_publish_limit"},
		{"daily over weekly", func(p *store.PublishSettings) { p.DailyLimit = 21 }, "daily_publish_limit"},
		{"weekly over monthly", func(p *store.PublishSettings) { p.WeeklyLimit = 61 }, "weekly_publish_limit"},
		{"bad day", func(p *store.PublishSettings) { p.PublishDays = []string{"mon", "monday"} }, "publish_days[1]"},
		{"bad time", func(p *store.PublishSettings) { p.TimeSlots = []store.TimeSlot{{Start: "9:00", End: "17:00"}} }, "publish_time_slots[0].start"},
		{"end before start", func(p *store.PublishSettings) { p.TimeSlots = []store.TimeSlot{{Start: "17:00", End: "09:00"}} }, "publish_time_slots[0]"},
		{"overlap", func(p *store.PublishSettings) {
			p.TimeSlots = []store.TimeSlot{{Start: "09:00", End: "12:00"}, {Start: "11:00", End: "13:00"}}
		}, "publish_time_slots[1]"},
		{"unknown zone", func(p *store.PublishSettings) { p.Timezone = "Mars/Olympus" }, "timezone"},
		{"end of day", func(p *store.PublishSettings) { p.TimeSlots = []store.TimeSlot{{Start: "22:00", End: "24:00"}} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := base
			tc.edit(&ps)
			err := publishing.Validate(ps)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid settings refused: %v", err)
				}
				return
			}
			if err == nil || !contains(fmt.Sprintf("%+v", err), tc.field) {
				t.Fatalf("error %v does not name %s", err, tc.field)
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// TestPublishRespectsDailyLimitAndSpreading: 3 approved items, daily limit
// 2 over an all-day window → one now, one at the second planned time, the
// third waits for the next day.
func TestPublishRespectsDailyLimitAndSpreading(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	start := time.Date(2037, 6, 1, 0, 5, 0, 0, ny)
	e := newEnv(t, start)
	ctx := context.Background()
	ids := e.site(t, "s1", openAllDay(2, 14, 60), 3)
	run := func() publishing.RunStats {
		st, err := e.svc.Publish(ctx, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := run(); st.Published != 1 || e.push.seq[0] != ids[0] {
		t.Fatalf("first run: %+v, pushes %v; want the oldest approved item", st, e.push.seq)
	}
	run() // a doubled run publishes nothing more
	e.clock.Set(time.Date(2037, 6, 1, 11, 59, 0, 0, ny))
	run()
	if e.push.count() != 1 {
		t.Fatalf("before the second planned time (12:00): %d pushes", e.push.count())
	}
	e.clock.Set(time.Date(2037, 6, 1, 12, 0, 0, 0, ny))
	run()
	e.clock.Set(time.Date(2037, 6, 1, 23, 59, 0, 0, ny))
	run()
	if e.push.count() != 2 || e.push.seq[1] != ids[1] {
		t.Fatalf("day one: pushes %v, want %v", e.push.seq, ids[:2])
	}
	sched, err := e.svc.Preview(ctx, e.account, "s1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sched.Publications) == 0 || sched.Publications[0].ContentID != ids[2] ||
		!sched.Publications[0].At.Equal(time.Date(2037, 6, 2, 0, 0, 0, 0, ny)) {
		t.Fatalf("preview = %+v; want %s at midnight", sched.Publications, ids[2])
	}
	e.clock.Set(time.Date(2037, 6, 2, 0, 0, 0, 0, ny))
	run()
	if e.push.count() != 3 || e.push.seq[2] != ids[2] {
		t.Fatalf("day two: pushes %v", e.push.seq)
	}
	// The queue is drained: the site leaves the due index.
	e.clock.Set(time.Date(2037, 6, 2, 12, 0, 0, 0, ny))
	if st := run(); st.SitesDue != 0 {
		t.Fatalf("a drained site is still due: %+v", st)
	}
}

// TestConcurrentRunsNeverExceedLimits runs many publisher invocations at
// once, at many instants, against the emulator.
func TestConcurrentRunsNeverExceedLimits(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	start := time.Date(2037, 6, 1, 9, 0, 0, 0, ny)
	e := newEnv(t, start)
	ctx := context.Background()
	sites := map[string][]string{}
	for i := range 2 {
		id := fmt.Sprintf("s%d", i)
		sites[id] = e.site(t, id, openAllDay(3, 5, 60), 7)
	}
	for step := range 4 * 24 { // every hour for four days
		now := start.Add(time.Duration(step) * time.Hour)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := e.svc.Publish(ctx, now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	perDay := map[string]int{}
	owner := map[string]string{}
	for s, ids := range sites {
		for _, id := range ids {
			owner[id] = s
		}
	}
	for id, n := range e.push.byID {
		if n != 1 {
			t.Errorf("content %s pushed %d times", id, n)
		}
	}
	// Count per site and day from the day counters the claims wrote.
	total := 0
	for s := range sites {
		for d := range 4 {
			day := time.Date(2037, 6, 1+d, 12, 0, 0, 0, ny)
			c, err := e.st.GetPublishCounts(ctx, e.account, s, day)
			if err != nil {
				t.Fatal(err)
			}
			perDay[fmt.Sprintf("%s/%d", s, d)] = c.Day
			if c.Day > 3 {
				t.Errorf("%s day %d: %d publications, daily limit 3", s, d, c.Day)
			}
			if c.Week > 5 {
				t.Errorf("%s week: %d publications, weekly limit 5", s, c.Week)
			}
			total += c.Day
		}
	}
	if total != len(e.push.seq) {
		t.Errorf("counters say %d publications, %d pushes were queued", total, len(e.push.seq))
	}
	// Monday 1 June 2037 to Thursday 4 June is one ISO week: 5 per site.
	if len(e.push.seq) != 10 {
		t.Errorf("%d pushes, want 10 (5 a week for 2 sites): %v", len(e.push.seq), perDay)
	}
}

// flakyPushes fails the first n enqueues (SQS unavailable).
type flakyPushes struct {
	pushes
	fail int
}

func (f *flakyPushes) EnqueuePush(ctx context.Context, c store.Content, runID string) error {
	f.mu.Lock()
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		return fmt.Errorf("queue unavailable")
	}
	f.mu.Unlock()
	return f.pushes.EnqueuePush(ctx, c, runID)
}

// TestClaimedPushSurvivesAFailedEnqueue: the claim is recorded before the
// push is queued; when queueing fails, the next run queues it, once, and
// it counts once against the limits.
func TestClaimedPushSurvivesAFailedEnqueue(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	e := newEnv(t, time.Date(2037, 6, 1, 9, 0, 0, 0, ny))
	flaky := &flakyPushes{fail: 1}
	e.svc = publishing.New(publishing.Deps{Store: e.st, Push: flaky, Now: e.clock.Now})
	ctx := context.Background()
	ids := e.site(t, "s1", openAllDay(2, 14, 60), 2)
	st, err := e.svc.Publish(ctx, e.clock.Now())
	if err != nil || st.Failed != 1 || flaky.count() != 0 {
		t.Fatalf("first run: %+v, %v, %d pushes", st, err, flaky.count())
	}
	e.clock.Add(5 * time.Minute)
	st, err = e.svc.Publish(ctx, e.clock.Now())
	if err != nil || st.Recovered != 1 || st.Published != 0 || flaky.count() != 1 || flaky.seq[0] != ids[0] {
		t.Fatalf("second run: %+v, %v, pushes %v", st, err, flaky.seq)
	}
	c, err := e.st.GetPublishCounts(ctx, e.account, "s1", e.clock.Now().In(ny))
	if err != nil || c.Day != 1 {
		t.Fatalf("day count %d (%v), want 1", c.Day, err)
	}
}

// TestStaleQueueEntriesAreDropped: content that left "approved" after it
// was queued is never published; its entry is dropped and the drained site
// leaves the due index.
func TestStaleQueueEntriesAreDropped(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	e := newEnv(t, time.Date(2037, 6, 1, 9, 0, 0, 0, ny))
	ctx := context.Background()
	ids := e.site(t, "s1", openAllDay(2, 14, 60), 1)
	back := store.ContentDraft
	if _, err := e.content.Update(ctx, e.account, ids[0], 0, content.Input{Status: &back}); err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.Publish(ctx, e.clock.Now())
	if err != nil || st.Dropped != 1 || st.Published != 0 || e.push.count() != 0 {
		t.Fatalf("run: %+v, %v, pushes %v", st, err, e.push.seq)
	}
	if st, _ := e.svc.Publish(ctx, e.clock.Now().Add(time.Minute)); st.SitesDue != 0 {
		t.Fatalf("the drained site is still due: %+v", st)
	}
	// Approved again: queued again, and published.
	if _, err := e.content.Approve(ctx, e.account, ids[0], 0); err != nil {
		t.Fatal(err)
	}
	if st, err := e.svc.Publish(ctx, e.clock.Now().Add(2*time.Minute)); err != nil || st.Published != 1 {
		t.Fatalf("after re-approval: %+v, %v", st, err)
	}
}

// TestAutoApprovalOfContentEnteringReview covers content created through
// the API straight into review, and a draft moved to review.
func TestAutoApprovalOfContentEnteringReview(t *testing.T) {
	e := newEnv(t, time.Date(2037, 6, 1, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	e.site(t, "s1", publishing.Input{AutoApprovalEnabled: ptr(true)}, 0)
	review := store.ContentReview
	c, err := e.content.Create(ctx, e.account, content.Input{SiteID: ptr("s1"), Title: ptr("Straight to review"), Status: &review})
	if err != nil || c.Status != store.ContentApproved || c.ApprovedAt == nil {
		t.Fatalf("created: %+v, %v; want approved", c, err)
	}
	d, err := e.content.Create(ctx, e.account, content.Input{SiteID: ptr("s1"), Title: ptr("A draft")})
	if err != nil || d.Status != store.ContentDraft {
		t.Fatalf("draft: %+v, %v", d, err)
	}
	if d, err = e.content.Update(ctx, e.account, d.ID, 0, content.Input{Status: &review}); err != nil || d.Status != store.ContentApproved {
		t.Fatalf("draft moved to review: %+v, %v; want approved", d, err)
	}
	queued, err := e.st.OldestApproved(ctx, e.account, "s1", 10)
	if err != nil || len(queued) != 2 || queued[0].ContentID != c.ID {
		t.Fatalf("queue: %+v, %v", queued, err)
	}
	ps, _ := e.svc.Get(ctx, e.account, "s1")
	if ps.ApprovedWaiting != 2 {
		t.Fatalf("approved_waiting %d, want 2", ps.ApprovedWaiting)
	}
}

// timedPushes records when each push was queued (the env's clock).
type timedPushes struct {
	mu    sync.Mutex
	clock *fakeClock
	at    map[string][]time.Time
}

func (p *timedPushes) EnqueuePush(_ context.Context, c store.Content, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at[c.ID] = append(p.at[c.ID], p.clock.Now())
	return nil
}

// TestRandomSettingsNeverExceedLimits is the property test on the real
// claim path: random settings in random zones, the publisher run at random
// times (late by hours, doubled, concurrent) over three weeks; counted by
// local day, ISO week and month, no site ever exceeds a limit and no item
// is pushed twice.
func TestRandomSettingsNeverExceedLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(62, 2037))
	start := time.Date(2037, 2, 24, 0, 0, 0, 0, time.UTC) // across a month end and the US DST change (8 March)
	e := newEnv(t, start)
	rec := &timedPushes{clock: e.clock, at: map[string][]time.Time{}}
	e.svc = publishing.New(publishing.Deps{Store: e.st, Push: rec, Now: e.clock.Now})
	ctx := context.Background()
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland", "UTC"}
	dayNames := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	type siteRules struct {
		loc                    *time.Location
		daily, weekly, monthly int
		ids                    []string
	}
	sites := map[string]siteRules{}
	for i := range 4 {
		var days []string
		for _, d := range dayNames {
			if rng.IntN(3) > 0 {
				days = append(days, d)
			}
		}
		s1 := rng.IntN(12)
		slots := []store.TimeSlot{{Start: fmt.Sprintf("%02d:00", s1), End: fmt.Sprintf("%02d:30", s1+1+rng.IntN(6))}}
		if rng.IntN(2) == 0 {
			s2 := 19 + rng.IntN(3)
			slots = append(slots, store.TimeSlot{Start: fmt.Sprintf("%02d:15", s2), End: "23:45"})
		}
		daily := 1 + rng.IntN(4)
		weekly := daily + rng.IntN(8)
		monthly := weekly + rng.IntN(10)
		zone := zones[rng.IntN(len(zones))]
		id := fmt.Sprintf("p%d", i)
		in := publishing.Input{AutoPublishEnabled: ptr(true), DailyPublishLimit: ptr(daily), WeeklyPublishLimit: ptr(weekly), MonthlyPublishLimit: ptr(monthly),
			PublishDays: ptr(days), PublishTimeSlots: ptr(slots), Timezone: ptr(zone)}
		loc, _ := time.LoadLocation(zone)
		sites[id] = siteRules{loc: loc, daily: daily, weekly: weekly, monthly: monthly, ids: e.site(t, id, in, 30)}
	}
	now := start
	for now.Before(start.Add(14 * 24 * time.Hour)) {
		e.clock.Set(now)
		runs := 1 + rng.IntN(3)/2*rng.IntN(3) // mostly one, sometimes two or three at once
		var wg sync.WaitGroup
		for range runs {
			wg.Go(func() {
				if _, err := e.svc.Publish(ctx, now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		step := time.Duration(5+rng.IntN(40)) * time.Minute
		if rng.IntN(15) == 0 {
			step = time.Duration(2+rng.IntN(10)) * time.Hour // the schedule was down
		}
		now = now.Add(step)
	}
	total := 0
	for id, s := range sites {
		perDay, perWeek, perMonth := map[string]int{}, map[string]int{}, map[string]int{}
		for _, cid := range s.ids {
			times := rec.at[cid]
			if len(times) > 1 {
				t.Errorf("%s: content %s pushed %d times", id, cid, len(times))
			}
			for _, at := range times {
				l := at.In(s.loc)
				y, w := l.ISOWeek()
				perDay[l.Format("2006-01-02")]++
				perWeek[fmt.Sprintf("%d-W%02d", y, w)]++
				perMonth[l.Format("2006-01")]++
				total++
			}
		}
		for k, n := range perDay {
			if n > s.daily {
				t.Errorf("%s: %d on %s, daily limit %d", id, n, k, s.daily)
			}
		}
		for k, n := range perWeek {
			if n > s.weekly {
				t.Errorf("%s: %d in %s, weekly limit %d", id, n, k, s.weekly)
			}
		}
		for k, n := range perMonth {
			if n > s.monthly {
				t.Errorf("%s: %d in %s, monthly limit %d", id, n, k, s.monthly)
			}
		}
	}
	t.Logf("%d publications over %d sites", total, len(sites))
	if total < 20 {
		t.Fatalf("only %d publications in two weeks over 4 sites: the test hardly exercised the limits", total)
	}
}
