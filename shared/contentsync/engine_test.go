package contentsync_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/ssrf"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/syncworker"
	"github.com/igny8/integrations/shared/testutil"
	"github.com/igny8/integrations/shared/testutil/fakewp"
	"github.com/igny8/integrations/shared/wordpress"
)

// syncEnv is the sync engine on the real worker path: the embedded AWS
// emulator's DynamoDB, Secrets Manager and SQS queue, the worker handler,
// and an httptest WordPress.
type syncEnv struct {
	t       *testing.T
	st      *store.Store
	eng     *contentsync.Engine
	wp      *fakewp.Site
	sqs     *sqs.Client
	queue   string
	handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	ddb     *testutil.RequestCounter
	in      store.Integration
	// jobTimeout, when set, is each invocation's deadline (Lambda's).
	jobTimeout time.Duration
	// jobsRun counts the jobs the worker ran, by type.
	jobsRun map[jobs.Type]int
	// batchSize is the most messages one worker invocation gets (10).
	batchSize int32
	mu        sync.Mutex // guards jobsRun
	// deps built the engine; tests build more engines from them to play
	// other Lambda execution environments.
	deps contentsync.Deps
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func newSyncEnv(t *testing.T, options ...func(*contentsync.Deps)) *syncEnv {
	t.Helper()
	ctx := context.Background()
	clients, counter := testutil.MustCountingClients(t)
	st := store.New(clients.DynamoDB, testutil.MustCreateTable(t, clients.DynamoDB))
	queue := testutil.MustCreateQueue(t, clients.SQS)
	creds := sitecreds.New(secrets.New(clients.SecretsManager, testutil.UniqueName(t, "igny8-test")+"/", time.Minute))
	wp := fakewp.New(t)
	wp.SetCount("products", 0)
	policy := ssrf.Policy{AllowLoopback: true}
	deps := contentsync.Deps{
		Store: st, Credentials: creds, Jobs: jobs.NewSender(clients.SQS, queue),
		Open: func(siteURL string, c wordpress.Credentials) (*wordpress.Client, error) {
			return wordpress.New(siteURL, c, wordpress.Options{Policy: policy, Sleep: noSleep})
		},
		Download: &http.Client{Transport: policy.Transport(5 * time.Second)},
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	for _, o := range options {
		o(&deps)
	}
	eng := contentsync.New(deps)
	id := st.NewID()
	in, err := st.CreateIntegration(ctx, store.Integration{AccountID: "acct", ID: id, SiteID: "blog", Platform: "wordpress",
		ExternalSiteURL: wp.URL, IsActive: true, SyncEnabled: true, CredentialsSecret: sitecreds.SecretName(id), Username: wp.Username,
		// What a connection test stores: the site's UTC offset (fakewp's is +2).
		Config: map[string]any{"connection": map[string]any{"site": map[string]any{"gmt_offset": 2.0}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := creds.Put(ctx, in, sitecreds.Credentials{Username: wp.Username, ApplicationPassword: wp.Password}); err != nil {
		t.Fatal(err)
	}
	handler := syncworker.NewHandler(syncworker.Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Runners: eng.Runners()})
	return &syncEnv{t: t, st: st, eng: eng, wp: wp, sqs: clients.SQS, queue: queue, handler: handler, ddb: counter, in: in, jobsRun: map[jobs.Type]int{}, deps: deps}
}

// drain runs the worker over the queue until it is empty, as the SQS event
// source would: batches of up to 10, failed messages left for redelivery.
// With twice set, every batch is delivered a second time (at-least-once).
func (e *syncEnv) drain(twice bool) {
	e.t.Helper()
	if err := e.drainWith(e.handler, twice); err != nil {
		e.t.Fatal(err)
	}
}

// drainWith is drain with a given worker handler; it may run on several
// goroutines at once, one per simulated execution environment.
func (e *syncEnv) drainWith(handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), twice bool) error {
	ctx := context.Background()
	for round := 0; round < 200; round++ {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(e.queue), MaxNumberOfMessages: cmp.Or(e.batchSize, 10), VisibilityTimeout: 30, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return err
		}
		if len(out.Messages) == 0 {
			return nil
		}
		ev := events.SQSEvent{}
		for _, m := range out.Messages {
			attrs := map[string]string{}
			for k, v := range m.Attributes {
				attrs[k] = v
			}
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: attrs})
		}
		deliveries := 1
		if twice {
			deliveries = 2
		}
		e.mu.Lock()
		for _, r := range ev.Records {
			if env, err := jobs.Decode(r.Body); err == nil {
				e.jobsRun[env.Type]++
			}
		}
		e.mu.Unlock()
		var failed map[string]bool
		for range deliveries {
			hctx, cancel := ctx, context.CancelFunc(func() {})
			if e.jobTimeout > 0 {
				hctx, cancel = context.WithTimeout(ctx, e.jobTimeout)
			}
			resp, err := handler(hctx, ev)
			cancel()
			if err != nil {
				return err
			}
			failed = map[string]bool{}
			for _, f := range resp.BatchItemFailures {
				failed[f.ItemIdentifier] = true
			}
		}
		for _, m := range out.Messages {
			if failed[aws.ToString(m.MessageId)] {
				// Make it visible again at once: the test plays the visibility timeout.
				_, _ = e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.queue), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
				continue
			}
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return err
			}
		}
	}
	return errors.New("the queue did not drain in 200 rounds")
}

// sync runs one sync to the end and returns its run.
func (e *syncEnv) sync(req contentsync.StartRequest, twice bool) store.SyncRun {
	e.t.Helper()
	req.AccountID, req.IntegrationID = e.in.AccountID, e.in.ID
	run, err := e.eng.StartRun(context.Background(), req)
	if err != nil {
		e.t.Fatalf("start run: %v", err)
	}
	e.drain(twice)
	run, err = e.st.GetSyncRun(context.Background(), e.in.AccountID, e.in.ID, run.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if run.Status != store.RunSucceeded {
		e.t.Fatalf("run %s ended %s (%s): %+v", run.ID, run.Status, run.Error, run)
	}
	return run
}

// seed adds n posts spread over 3 categories and 3 tags, and 3 pages.
func (e *syncEnv) seed(n int) {
	cats := []int64{e.wp.AddTerm("category", "News", 0).ID, e.wp.AddTerm("category", "Guides", 0).ID, e.wp.AddTerm("category", "Reviews", 0).ID}
	tags := []int64{e.wp.AddTerm("post_tag", "Go", 0).ID, e.wp.AddTerm("post_tag", "WordPress", 0).ID, e.wp.AddTerm("post_tag", "Serverless", 0).ID}
	e.wp.AddPosts(n, "post", func(i int, p *fakewp.Post) {
		p.Title, p.Slug = fmt.Sprintf("Post %04d", i), fmt.Sprintf("post-%04d", i)
		p.Content = fmt.Sprintf("<p>Body %d</p>", i)
		p.Categories, p.Tags = []int64{cats[i%3]}, []int64{tags[i%3]}
	})
	e.wp.AddPosts(3, "page", func(i int, p *fakewp.Post) { p.Title, p.Slug = fmt.Sprintf("Page %d", i), fmt.Sprintf("page-%d", i) })
}

// contentByWordPressID loads every pulled item.
func (e *syncEnv) contentVersions() map[string]int64 {
	e.t.Helper()
	out := map[string]int64{}
	for _, typ := range []string{"post", "page"} {
		cursor := ""
		for {
			page, err := e.st.ListContent(context.Background(), "acct", store.ContentFilter{SiteID: "blog", ContentType: typ}, store.PageRequest{Limit: 100, Cursor: cursor})
			if err != nil {
				e.t.Fatal(err)
			}
			for _, c := range page.Items {
				out[c.ID] = c.Version
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	return out
}

// events lists the integration's events of one type, newest first.
func (e *syncEnv) events(eventType string) []store.SyncEvent {
	e.t.Helper()
	var out []store.SyncEvent
	for cursor := ""; ; {
		page, err := e.st.ListSyncEvents(context.Background(), e.in.AccountID, e.in.ID, store.EventFilter{EventType: eventType}, store.PageRequest{Limit: 100, Cursor: cursor})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

func TestFullPullFetchesEachPageOnceAndRepeatsForFree(t *testing.T) {
	e := newSyncEnv(t)
	e.seed(250)
	e.wp.ResetRequests()
	run := e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	// Pages: 3 of posts, 1 of pages, 1 (empty) of products.
	if run.ItemsCreated != 253 || run.ItemsFailed != 0 || run.PagesTotal != 5 || run.PagesDone != 5 {
		t.Fatalf("full pull: %+v", run)
	}
	// The REST minimum: ⌈250/100⌉ post pages, one page per other type, and discovery.
	if n := e.wp.RequestsMatching("GET", "/wp-json/wp/v2/posts"); n != 3 {
		t.Fatalf("%d post list requests, want 3", n)
	}
	if n := e.wp.RequestsMatching("GET", "/wp-json/wp/v2/pages"); n != 1 {
		t.Fatalf("%d page list requests, want 1", n)
	}
	if n := e.wp.Requests(); n != 3+1+1+2+2 {
		t.Fatalf("%d WordPress requests in all; want posts 3 + pages 1 + products 1 + types and taxonomies 2 + categories and tags 2", n)
	}
	versions := e.contentVersions()
	if len(versions) != 253 {
		t.Fatalf("%d items stored, want 253", len(versions))
	}
	// History: one entry per page that counts and names its posts.
	pulls := e.events(contentsync.EventContentPull)
	if len(pulls) != 4 {
		t.Fatalf("%d content_pull events for 4 pages with posts: %+v", len(pulls), pulls)
	}
	seen := map[float64]bool{}
	for _, ev := range pulls {
		ids, _ := ev.Metadata["created"].([]any)
		if ev.Status != contentsync.EventSuccess || ev.Metadata["items"] != float64(len(ids)) {
			t.Fatalf("page event %+v", ev)
		}
		for _, id := range ids {
			seen[id.(float64)] = true
		}
	}
	if len(seen) != 253 {
		t.Fatalf("the page events name %d distinct posts, want 253", len(seen))
	}

	// Nothing changed: no item is written again.
	e.ddb.Reset()
	run = e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	if run.ItemsCreated != 0 || run.ItemsUpdated != 0 || run.ItemsUnchanged != 253 {
		t.Fatalf("unchanged re-sync: %+v", run)
	}
	for id, v := range e.contentVersions() {
		if versions[id] != v {
			t.Fatalf("content %s went from version %d to %d on an unchanged re-sync", id, versions[id], v)
		}
	}
	if n := e.ddb.Count("BatchWriteItem"); n != 0 {
		t.Fatalf("unchanged re-sync wrote events (%d BatchWriteItem calls)", n)
	}
}

func TestRequestsToOneSiteStayWithinSiteConcurrency(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			e := newSyncEnv(t, func(d *contentsync.Deps) { d.SiteConcurrency = limit })
			e.seed(700) // 7 post pages: 6 page jobs, 2 per invocation
			e.batchSize = 2
			e.wp.SetLatency(20 * time.Millisecond)
			req := contentsync.StartRequest{AccountID: e.in.AccountID, IntegrationID: e.in.ID, Mode: contentsync.ModeFull}
			started, err := e.eng.StartRun(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			// Three execution environments, each its own engine (its own
			// in-process gate): only the DynamoDB leases stand between them.
			// One takes the run job, whose fan-out the others share.
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
				h := syncworker.NewHandler(syncworker.Deps{Logger: logger, Runners: contentsync.New(e.deps).Runners()})
				wg.Go(func() {
					// Each environment polls until the run ends, as the
					// event source keeps polling while others work.
					for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
						if errs[i] = e.drainWith(h, false); errs[i] != nil {
							return
						}
						run, err := e.st.GetSyncRun(context.Background(), e.in.AccountID, e.in.ID, started.ID)
						if err != nil || (run.Status != store.RunRunning && run.Status != store.RunQueued) {
							errs[i] = err
							return
						}
					}
					errs[i] = errors.New("the run did not end in a minute")
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			run, err := e.st.GetSyncRun(context.Background(), e.in.AccountID, e.in.ID, started.ID)
			if err != nil || run.Status != store.RunSucceeded || run.ItemsCreated != 703 || run.ItemsFailed != 0 {
				t.Fatalf("full pull: %+v, %v", run, err)
			}
			got := e.wp.MaxInFlight()
			if got > limit {
				t.Fatalf("%d requests were in flight to the site at once; SITE_CONCURRENCY is %d", got, limit)
			}
			if limit > 1 && got < 2 {
				t.Fatalf("at most %d request in flight: the page jobs did not call the site in parallel", got)
			}
		})
	}
}

// A busy site's requests follow each other on the leases they hold: a
// lease is handed to the next waiting job instead of being released and
// taken again, and once the work ends every slot is free again.
func TestBusySiteHandsLeasesOnAndFreesThemAfter(t *testing.T) {
	const limit = 2
	e := newSyncEnv(t, func(d *contentsync.Deps) { d.SiteConcurrency = limit })
	e.seed(700) // 7 post pages; the 6 page jobs share one invocation
	e.wp.SetLatency(10 * time.Millisecond)
	e.ddb.Reset()
	run := e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	if run.ItemsCreated != 703 {
		t.Fatalf("full pull: %+v", run)
	}
	requests := e.wp.Requests()
	if got := e.wp.MaxInFlight(); got > limit {
		t.Fatalf("%d requests in flight at once; SITE_CONCURRENCY is %d", got, limit)
	}
	// Parked leases are released shortly after the last request: wait
	// until every slot can be taken again.
	ctx := context.Background()
	ours := 0 // DeleteItem calls of this loop
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var taken []store.Lease
		for range limit {
			l, ok, err := e.st.AcquireSiteLease(ctx, e.in.AccountID, e.in.ID, limit, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				taken = append(taken, l)
			}
		}
		for _, l := range taken {
			if err := e.st.ReleaseSiteLease(ctx, l); err != nil {
				t.Fatal(err)
			}
			ours++
		}
		if len(taken) == limit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d slots still held 5 s after the run: a parked lease was never released", limit-len(taken), limit)
		}
	}
	// Each lease the run took was released once, by a DeleteItem (the
	// only DeleteItem a pull makes; the loop above added its own).
	released := e.ddb.Count("DeleteItem") - ours
	if released >= requests {
		t.Fatalf("%d leases taken and released for %d WordPress requests: none was handed on", released, requests)
	}
	t.Logf("%d WordPress requests on %d leases", requests, released)
}

func TestIncrementalPullUpdatesOnlyWhatChanged(t *testing.T) {
	e := newSyncEnv(t)
	// The site's content was written two hours ago, well before the
	// incremental window.
	e.wp.SetClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
	e.seed(150)
	e.wp.SetClock(time.Now)
	e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	// An incremental run with nothing changed sets the baseline of reads.
	e.ddb.Reset()
	if run := e.sync(contentsync.StartRequest{}, false); run.ItemsUpdated != 0 {
		t.Fatalf("incremental with nothing changed: %+v", run)
	}
	baseReads := e.ddb.Count("GetItem")
	posts := e.wp.Posts("post")
	for _, p := range posts[:3] {
		e.wp.EditPost(p.ID, func(p *fakewp.Post) { p.Title += " (edited)" })
	}
	e.wp.EditPost(posts[3].ID, func(p *fakewp.Post) { p.Status = "trash" })
	e.wp.ResetRequests()
	e.ddb.Reset()
	run := e.sync(contentsync.StartRequest{}, false)
	if run.ItemsUpdated != 4 || run.ItemsCreated != 0 {
		t.Fatalf("incremental after 3 edits and a trash: %+v", run)
	}
	// Changed posts are read once, in the page's batch read: their
	// updates add no GetItem.
	if n := e.ddb.Count("GetItem"); n != baseReads {
		t.Fatalf("incremental with 4 changed posts made %d GetItem calls, the same run with none %d", n, baseReads)
	}
	if last := e.events(contentsync.EventContentPull)[0]; last.RunID != run.ID ||
		fmt.Sprint(last.Metadata["updated"]) != fmt.Sprint([]any{float64(posts[0].ID), float64(posts[1].ID), float64(posts[2].ID)}) ||
		fmt.Sprint(last.Metadata["trashed"]) != fmt.Sprint([]any{float64(posts[3].ID)}) {
		t.Fatalf("the incremental page's event: %+v", last)
	}
	// One page of posts modified since the cursor, one of posts dated since.
	if n := e.wp.RequestsMatching("GET", "/wp-json/wp/v2/posts"); n != 2 {
		t.Fatalf("incremental pull read %d post pages, want 2", n)
	}
	ids, _ := e.st.ContentIDsByWordPressID(context.Background(), "acct", e.in.ID, []int64{posts[0].ID, posts[3].ID})
	edited, _ := e.st.GetContent(context.Background(), "acct", ids[posts[0].ID])
	trashed, _ := e.st.GetContent(context.Background(), "acct", ids[posts[3].ID])
	// WordPress renders an excerpt from the content when none is set; that
	// rendering must not be stored as the excerpt.
	if !strings.HasSuffix(edited.Title, "(edited)") || trashed.Status != store.ContentTrashed || edited.Excerpt != "" {
		t.Fatalf("edited %q (excerpt %q), trashed status %q", edited.Title, edited.Excerpt, trashed.Status)
	}
}

func TestScheduledPostPublishedByCronIsPulled(t *testing.T) {
	e := newSyncEnv(t)
	now := time.Now()
	e.wp.SetClock(func() time.Time { return now.Add(-2 * time.Hour) })
	e.seed(5)
	sched := e.wp.AddPost(fakewp.Post{Type: "post", Status: "future", Title: "Launch", Slug: "launch", DateGMT: now.Add(30 * time.Minute)})
	e.wp.SetClock(func() time.Time { return now })
	e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	ids, _ := e.st.ContentIDsByWordPressID(context.Background(), "acct", e.in.ID, []int64{sched.ID})
	before, err := e.st.GetContent(context.Background(), "acct", ids[sched.ID])
	if err != nil || before.WordPressStatus != "future" {
		t.Fatalf("scheduled post after the full pull: %q, %v", before.WordPressStatus, err)
	}

	// An hour later WordPress's cron has published it: only post_status
	// changes, modified_gmt does not move.
	e.wp.SetClock(func() time.Time { return now.Add(time.Hour) })
	if p, _ := e.wp.Post(sched.ID); p.Status != "publish" || !p.ModifiedGMT.Equal(sched.ModifiedGMT) {
		t.Fatalf("fake cron: status %q, modified %v (was %v)", p.Status, p.ModifiedGMT, sched.ModifiedGMT)
	}
	// A post written now is dated and modified after the cursor: it is in
	// the modified-after listing only, never counted twice.
	e.wp.AddPost(fakewp.Post{Type: "post", Status: "publish", Title: "Fresh", Slug: "fresh"})
	run := e.sync(contentsync.StartRequest{}, false)
	if run.ItemsUpdated != 1 || run.ItemsCreated != 1 || run.ItemsUnchanged != 0 || run.ItemsConflicted != 0 {
		t.Fatalf("incremental after cron published the scheduled post: %+v", run)
	}
	after, _ := e.st.GetContent(context.Background(), "acct", ids[sched.ID])
	if after.WordPressStatus != "publish" || after.Status != store.ContentPublished {
		t.Fatalf("after the incremental pull: wordpress status %q, status %q", after.WordPressStatus, after.Status)
	}
}

func TestEveryMessageDeliveredTwice(t *testing.T) {
	e := newSyncEnv(t)
	e.seed(250)
	run := e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, true)
	if run.ItemsCreated != 253 || run.PagesDone != run.PagesTotal {
		t.Fatalf("with every message twice: %+v", run)
	}
	if n := len(e.contentVersions()); n != 253 {
		t.Fatalf("%d items stored, want 253", n)
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	e := newSyncEnv(t)
	e.seed(120)
	// A 429 with Retry-After and two 500s: the client retries them itself.
	e.wp.AddFault(fakewp.Fault{Method: "GET", Path: "/wp/v2/posts", Status: 429, RetryAfter: "1"})
	e.wp.AddFault(fakewp.Fault{Method: "GET", Path: "/wp/v2/posts", Status: 500, Times: 2})
	run := e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	if run.ItemsCreated != 123 {
		t.Fatalf("after retried failures: %+v", run)
	}
	// An HTML error page and a truncated body exhaust the client's
	// attempts; the job goes back to SQS and the redelivery succeeds.
	e.wp.EditPost(e.wp.Posts("post")[0].ID, func(p *fakewp.Post) { p.Title = "changed" })
	e.wp.AddFault(fakewp.Fault{Method: "GET", Path: "/wp/v2/posts", Status: 502, Times: 4})
	run = e.sync(contentsync.StartRequest{}, false)
	if run.ItemsUpdated != 1 {
		t.Fatalf("after a redelivered job: %+v", run)
	}
}

func pngBytes(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// approvedContent creates an approved item with a category that exists in
// WordPress under the same name, a new tag and a featured image.
func (e *syncEnv) approvedContent(imageURL string) store.Content {
	e.t.Helper()
	ctx := context.Background()
	e.wp.AddTerm("category", "News", 0)
	cat, err := e.st.CreateTerm(ctx, store.Term{AccountID: "acct", SiteID: "blog", Taxonomy: "category", Name: "News", Slug: "news"})
	if err != nil {
		e.t.Fatal(err)
	}
	tag, err := e.st.CreateTerm(ctx, store.Term{AccountID: "acct", SiteID: "blog", Taxonomy: "post_tag", Name: "Brand new", Slug: "brand-new"})
	if err != nil {
		e.t.Fatal(err)
	}
	img, err := e.st.CreateImage(ctx, store.Image{AccountID: "acct", SiteID: "blog", ImageURL: imageURL, SourceURL: imageURL, Alt: "square"})
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC()
	c, err := e.st.CreateContent(ctx, store.Content{AccountID: "acct", SiteID: "blog", IntegrationID: e.in.ID, ContentType: "post",
		Title: "Pushed once", Body: "<p>Hello</p>", Slug: "pushed-once", Status: store.ContentApproved, ApprovedAt: &now,
		Terms: []store.TermRef{{Taxonomy: "category", ID: cat.ID}, {Taxonomy: "post_tag", ID: tag.ID}}, FeaturedImageID: img.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func imageServer(t *testing.T) string {
	data := pngBytes(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(data) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/img/square.png"
}

func TestPushCreatesExactlyOnceEvenAfterACrash(t *testing.T) {
	e := newSyncEnv(t)
	c := e.approvedContent(imageServer(t))
	// WordPress creates the post, then the connection drops: the worker
	// never learns the post's ID and the job goes back to SQS.
	e.wp.FailAfterCreate("post")
	if err := e.eng.EnqueuePush(context.Background(), c, ""); err != nil {
		t.Fatal(err)
	}
	e.drain(false)
	if n := e.wp.CountCreates("post"); n != 1 {
		t.Fatalf("%d posts created, want exactly 1", n)
	}
	got, err := e.st.GetContent(context.Background(), "acct", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	post, ok := e.wp.Post(got.WordPressID)
	if !ok || got.Status != store.ContentPublished || post.Title != "Pushed once" {
		t.Fatalf("content %+v, post %+v", got, post)
	}
	if len(post.Categories) != 1 || len(post.Tags) != 1 || post.FeaturedMedia == 0 {
		t.Fatalf("post terms %v %v, media %d", post.Categories, post.Tags, post.FeaturedMedia)
	}
	if news := e.wp.AddTerm("category", "News", 0); post.Categories[0] != news.ID {
		t.Fatalf("category %d, want the existing News (%d) via term_exists", post.Categories[0], news.ID)
	}
	if n := len(e.wp.Media()); n != 1 {
		t.Fatalf("%d media uploaded, want 1", n)
	}

	// Delivered twice and pushed again after an edit: still one post.
	got.Title = "Pushed once, edited"
	got, err = e.st.UpdateContent(context.Background(), got, false)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.eng.EnqueuePush(context.Background(), got, ""); err != nil {
			t.Fatal(err)
		}
	}
	e.drain(true)
	if n := e.wp.CountCreates("post"); n != 1 {
		t.Fatalf("%d posts created after re-pushes, want 1", n)
	}
	if post, _ := e.wp.Post(got.WordPressID); post.Title != "Pushed once, edited" {
		t.Fatalf("post title %q after the re-push", post.Title)
	}
	if n := len(e.wp.Media()); n != 1 {
		t.Fatalf("%d media after re-pushes, want 1", n)
	}
}

// With the companion plugin, a retried push finds its post by the marker in
// post meta, even when the post no longer looks like the attempt (here a
// plugin on the site rewrote the title as it was created, which defeats the
// slug, date and title lookup used without the plugin).
func TestPushWithThePluginFindsItsPostByMarker(t *testing.T) {
	for _, plugin := range []bool{true, false} {
		t.Run(fmt.Sprintf("plugin=%v", plugin), func(t *testing.T) {
			e := newSyncEnv(t)
			if plugin {
				e.wp.InstallPlugin()
				in := e.in
				in.Config["connection"].(map[string]any)["plugin"] = map[string]any{"detected": true, "configured": true}
				if _, err := e.st.UpdateIntegration(context.Background(), in); err != nil {
					t.Fatal(err)
				}
			}
			c := e.approvedContent(imageServer(t))
			e.wp.OnCreated(func(typ string, p fakewp.Post) {
				e.wp.EditPost(p.ID, func(p *fakewp.Post) { p.Title = strings.ToUpper(p.Title) })
			})
			e.wp.FailAfterCreate("post")
			if err := e.eng.EnqueuePush(context.Background(), c, ""); err != nil {
				t.Fatal(err)
			}
			e.drain(false)
			created := e.wp.CountCreates("post")
			if plugin {
				if created != 1 {
					t.Fatalf("%d posts created, want exactly 1", created)
				}
				got, _ := e.st.GetContent(context.Background(), "acct", c.ID)
				if n := e.wp.RequestsMatching("GET", "/wp-json/wp/v2/posts"); n < 1 || got.WordPressID == 0 {
					t.Fatalf("the retry did not look the post up (%d lookups), content %+v", n, got)
				}
				return
			}
			// Without the plugin the rewritten title hides the first attempt:
			// this is the case the marker exists for.
			if created != 2 {
				t.Fatalf("without the plugin %d posts were created; the test no longer shows what the marker prevents", created)
			}
		})
	}
}

func TestPushRefusesToOverwriteAWordPressEdit(t *testing.T) {
	e := newSyncEnv(t)
	c := e.approvedContent(imageServer(t))
	_ = e.eng.EnqueuePush(context.Background(), c, "")
	e.drain(false)
	got, _ := e.st.GetContent(context.Background(), "acct", c.ID)
	time.Sleep(1100 * time.Millisecond) // modified_gmt has one-second resolution
	e.wp.EditPost(got.WordPressID, func(p *fakewp.Post) { p.Title = "Edited in WordPress" })
	got.Title = "Edited in IGNY8"
	got, _ = e.st.UpdateContent(context.Background(), got, false)
	_ = e.eng.EnqueuePush(context.Background(), got, "")
	e.drain(false)
	post, _ := e.wp.Post(got.WordPressID)
	after, _ := e.st.GetContent(context.Background(), "acct", c.ID)
	if post.Title != "Edited in WordPress" || after.Status != store.ContentConflict {
		t.Fatalf("post title %q, content status %q; want WordPress's edit kept and a conflict", post.Title, after.Status)
	}
	evts, _ := e.st.ListSyncEvents(context.Background(), "acct", e.in.ID, store.EventFilter{EventType: contentsync.EventConflict}, store.PageRequest{Limit: 10})
	if len(evts.Items) != 1 || evts.Items[0].ContentID != c.ID {
		t.Fatalf("conflict events %+v", evts.Items)
	}
}

func TestRejectedPushIsPermanentAndRecorded(t *testing.T) {
	e := newSyncEnv(t)
	c := e.approvedContent(imageServer(t))
	e.wp.AddFault(fakewp.Fault{Method: "POST", Path: "/wp/v2/posts", Status: 403,
		Body: `{"code":"rest_cannot_create","message":"Sorry, you are not allowed to create posts as this user.","data":{"status":403}}`})
	_ = e.eng.EnqueuePush(context.Background(), c, "")
	e.drain(false)
	if n := e.wp.RequestsMatching("POST", "/wp-json/wp/v2/posts"); n != 1 {
		t.Fatalf("%d create attempts, want 1 (permanent errors are not retried)", n)
	}
	evts, _ := e.st.ListSyncEvents(context.Background(), "acct", e.in.ID, store.EventFilter{Status: contentsync.EventFailed}, store.PageRequest{Limit: 10})
	if len(evts.Items) != 1 || !strings.Contains(evts.Items[0].ErrorMessage, "forbidden") {
		t.Fatalf("failed events %+v", evts.Items)
	}
}

func TestOneRunAtATime(t *testing.T) {
	e := newSyncEnv(t)
	first, err := e.eng.StartRun(context.Background(), contentsync.StartRequest{AccountID: "acct", IntegrationID: e.in.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.StartRun(context.Background(), contentsync.StartRequest{AccountID: "acct", IntegrationID: e.in.ID})
	active, ok := err.(*contentsync.ActiveRunError)
	if !ok || active.Run.ID != first.ID {
		t.Fatalf("second start: %v, want the active run %s", err, first.ID)
	}
	e.drain(false)
	if _, err := e.eng.StartRun(context.Background(), contentsync.StartRequest{AccountID: "acct", IntegrationID: e.in.ID}); err != nil {
		t.Fatalf("start after the first finished: %v", err)
	}
}

func TestRunPlanningContinuesBeforeTheDeadline(t *testing.T) {
	e := newSyncEnv(t)
	e.seed(150)
	// Every invocation starts inside the deadline margin: each run job does
	// one step (taxonomies, then one type) and hands over the rest.
	e.jobTimeout = 15 * time.Second
	run := e.sync(contentsync.StartRequest{Mode: contentsync.ModeFull}, false)
	if run.ItemsCreated != 153 || run.PagesDone != run.PagesTotal || run.PagesTotal != 4 {
		t.Fatalf("run with continuations: %+v", run)
	}
	if n := e.jobsRun[contentsync.TypeRun]; n != 4 {
		t.Fatalf("%d run jobs, want 4 (taxonomies, posts, pages, products)", n)
	}
}
