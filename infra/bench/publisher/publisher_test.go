package publisher

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/publishing"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

var (
	sites     = flag.Int("sites", 1000, "sites with auto-publish on")
	items     = flag.Int("items", 100, "approved items waiting per site")
	openShare = flag.Float64("open", 0.10, "share of the sites whose publish window is open at the measured run")
)

// countingPusher stands for the sync engine's EnqueuePush: one SQS
// SendMessage per push, counted separately from DynamoDB.
type countingPusher struct{ n atomic.Int64 }

func (p *countingPusher) EnqueuePush(context.Context, store.Content, string) error {
	p.n.Add(1)
	return nil
}

// BenchmarkPublisherRun seeds -sites sites with -items approved items each
// (through the store's own approve transaction), all with auto-publish on:
// the open share publishes every hour of every day; the others publish only
// on a day that is not today. A first run settles every site's next visit;
// the measured run, an hour later, finds exactly the open sites due.
func BenchmarkPublisherRun(b *testing.B) {
	ctx := context.Background()
	clients, counter := testutil.MustCountingClients(b)
	table := testutil.MustCreateTable(b, clients.DynamoDB)
	st := store.New(clients.DynamoDB, table)
	push := &countingPusher{}
	svc := publishing.New(publishing.Deps{Store: st, Push: push, Concurrency: 16})

	t0 := time.Now().UTC().Truncate(time.Hour).Add(time.Hour + 30*time.Second) // a planned hour, just passed
	closedDay := strings.ToLower(t0.Add(48 * time.Hour).Weekday().String()[:3])
	open := int(float64(*sites) * *openShare)
	seedStart := time.Now()
	var seeded atomic.Int64
	var wg sync.WaitGroup
	work := make(chan int)
	var seedErr error
	var errOnce sync.Once
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := seedSite(ctx, st, fmt.Sprintf("site-%04d", i), i < open, closedDay, *items); err != nil {
					errOnce.Do(func() { seedErr = err })
				}
				seeded.Add(int64(*items))
			}
		})
	}
	for i := range *sites {
		work <- i
	}
	close(work)
	wg.Wait()
	if seedErr != nil {
		b.Fatal(seedErr)
	}
	seedTime := time.Since(seedStart)

	// The first run settles every site (all were put in the due index at
	// approval): open sites publish once, closed ones move to their day.
	first, err := svc.Publish(ctx, t0)
	if err != nil {
		b.Fatal(err)
	}
	if first.Published != open {
		b.Fatalf("first run published %d, want %d", first.Published, open)
	}

	type result struct {
		name  string
		stats publishing.RunStats
		calls map[string]int
		wall  time.Duration
	}
	var results []result
	measure := func(name string, at time.Time) {
		push.n.Store(0)
		counter.Reset()
		start := time.Now()
		stats, err := svc.Publish(ctx, at)
		wall := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		results = append(results, result{name, stats, counter.Snapshot(), wall})
	}
	b.ResetTimer()
	for range b.N {
		measure("nothing due (30 min later)", t0.Add(30*time.Minute))
		measure("open sites due (1 h later)", t0.Add(time.Hour))
		measure("the same tick again", t0.Add(time.Hour+time.Second))
	}
	b.StopTimer()

	fmt.Printf("\n### Publisher run: %d sites × %d approved items (%d stored approvals), %d%% with an open window\n\n",
		*sites, *items, seeded.Load(), int(*openShare*100))
	fmt.Printf("Seeded in %s. Embedded emulator (kumo), in process; wall time includes its latency.\n\n", seedTime.Round(time.Millisecond))
	fmt.Println("| Run | Sites due | Published | DynamoDB calls | per due site | SQS pushes | Wall time |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		ddb := 0
		for op, n := range r.calls {
			if op != "SendMessage" && op != "SendMessageBatch" {
				ddb += n
			}
		}
		per := "–"
		if r.stats.SitesDue > 0 {
			per = fmt.Sprintf("%.1f", float64(ddb)/float64(r.stats.SitesDue))
		}
		fmt.Printf("| %s | %d | %d | %d | %s | %d | %s |\n", r.name, r.stats.SitesDue, r.stats.Published, ddb, per, r.stats.Published, r.wall.Round(time.Millisecond))
	}
	fmt.Println()
	for _, r := range results {
		var parts []string
		for _, op := range slices.Sorted(maps.Keys(r.calls)) {
			parts = append(parts, fmt.Sprintf("%s %d", op, r.calls[op]))
		}
		fmt.Printf("- %s: %s\n", r.name, strings.Join(parts, ", "))
	}
	last := results[len(results)-2]
	if last.stats.SitesDue != open || last.stats.Published != open {
		b.Fatalf("measured run: %+v, want %d due sites each publishing one item", last.stats, open)
	}
}

func seedSite(ctx context.Context, st *store.Store, siteID string, open bool, closedDay string, n int) error {
	const account = "bench"
	ps := store.PublishSettings{AccountID: account, SiteID: siteID, AutoPublishEnabled: true, DailyLimit: 24, WeeklyLimit: 168, MonthlyLimit: 744,
		PublishDays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, TimeSlots: []store.TimeSlot{{Start: "00:00", End: "24:00"}}, Timezone: "UTC"}
	if !open {
		ps.DailyLimit, ps.PublishDays = 5, []string{closedDay}
	}
	if _, err := st.SavePublishSettings(ctx, ps, 0); err != nil {
		return err
	}
	for i := range n {
		c, err := st.CreateContent(ctx, store.Content{AccountID: account, SiteID: siteID, IntegrationID: "int-" + siteID, ContentType: "post",
			Title: fmt.Sprintf("%s post %d", siteID, i), Status: store.ContentDraft})
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		c.Status, c.ApprovedAt = store.ContentApproved, &now
		if _, err := st.ApproveContent(ctx, c, true); err != nil {
			return err
		}
	}
	return nil
}
