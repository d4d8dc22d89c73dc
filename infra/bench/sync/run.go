package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/testutil/fakewp"
)

// Prices, us-east-1 on-demand list prices.
const (
	priceWRU       = 1.25 / 1e6
	priceRRU       = 0.25 / 1e6
	priceSQS       = 0.40 / 1e6
	priceLambdaGBs = 0.0000133334
	priceLambdaReq = 0.20 / 1e6
	lambdaGB       = 0.25
)

// postFields is what the engine asks for (contentsync's postFields with the
// category and tag fields).
const postFields = "id,date_gmt,modified_gmt,slug,status,type,link,title,content,excerpt,featured_media,categories,tags"

type row struct{ metric, value, target, met string }

func run(ctx context.Context, t *tb, o options) (err error) {
	defer guard(&err)
	conc := min(o.siteConc, o.workers)
	var rows []row
	add := func(metric, value, target, met string) { rows = append(rows, row{metric, value, target, met}) }

	progress("fake WordPress: %d posts, 3 categories, 3 tags, %s latency", o.posts, o.latency)
	wp := fakewp.New(t)
	wp.SetCount("products", 0)
	cats := []int64{wp.AddTerm("category", "News", 0).ID, wp.AddTerm("category", "Guides", 0).ID, wp.AddTerm("category", "Reviews", 0).ID}
	tags := []int64{wp.AddTerm("post_tag", "Go", 0).ID, wp.AddTerm("post_tag", "WordPress", 0).ID, wp.AddTerm("post_tag", "Serverless", 0).ID}
	wp.AddPosts(o.posts, "post", func(i int, p *fakewp.Post) {
		p.Title, p.Slug = fmt.Sprintf("Post %05d", i), fmt.Sprintf("post-%05d", i)
		p.Content = fmt.Sprintf("<p>Body of post %d, a paragraph of ordinary length for a benchmark.</p>", i)
		p.Categories, p.Tags = []int64{cats[i%3]}, []int64{tags[i%3]}
	})
	wp.SetLatency(o.latency)

	progress("starting the local stack (workers %d, SITE_CONCURRENCY %d)", o.workers, o.siteConc)
	st, err := startStack(ctx, o)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := st.account("bench")
	if err != nil {
		return err
	}
	id, err := acct.createIntegration(ctx, wp.URL, wp.Username, wp.Password)
	if err != nil {
		return err
	}

	// The real WordPress first, while the emulator is empty: its tables
	// live in this process's heap, and the fake site's 20,000 items would
	// otherwise make the sync pay for collecting them, as no DynamoDB
	// client does. Its rows go at the end of the table.
	var realRows []row
	if o.realEnv != "" {
		if err := realWP(ctx, st, o, conc, func(metric, value, target, met string) {
			realRows = append(realRows, row{metric, value, target, met})
		}); err != nil {
			return err
		}
	}

	// 1. Full sync through the stack.
	wp.ResetRequests()
	st.takeInvocations()
	progress("full sync through the local stack")
	stopProfile := startCPUProfile(o.cpuProfile)
	full, fullWall, err := acct.syncAndWait(ctx, id, "")
	stopProfile()
	if err != nil {
		return err
	}
	fullInv := st.takeInvocations()
	wpFull, wpFullPosts := wp.Requests(), wp.RequestsMatching("GET", "/wp-json/wp/v2/posts")
	postPages := (o.posts + 99) / 100
	// Types and taxonomies come first, together; then every other request
	// (categories, tags, the first page of posts, pages and products, the
	// other post pages) can be in flight conc at a time.
	restMin := postPages + 6
	rounds := 1 + (restMin-2+conc-1)/conc
	lower := time.Duration(rounds) * o.latency
	ratio := fullWall.Seconds() / lower.Seconds()
	add(fmt.Sprintf("Full sync, %d posts, %s WordPress latency (wall)", o.posts, o.latency), ms(fullWall), "", "")
	add("Items created / failed", fmt.Sprintf("%d / %d (pages %d of %d)", full.ItemsCreated, full.ItemsFailed, full.PagesDone, full.PagesTotal),
		fmt.Sprintf("%d / 0", o.posts), yes(full.ItemsCreated == o.posts && full.ItemsFailed == 0))
	add(fmt.Sprintf("Lower bound: (1 round for types and taxonomies + ⌈%d other requests ÷ min(site %d, workers %d)⌉) × latency", restMin-2, o.siteConc, o.workers),
		ms(lower), "", "")
	add("Wall ÷ lower bound", fmt.Sprintf("%.2f×", ratio), "≤ 1.25×", yes(ratio <= 1.25))
	add("WordPress requests, full sync", fmt.Sprintf("%d (%d post list pages)", wpFull, wpFullPosts), fmt.Sprintf("REST minimum %d", restMin), yes(wpFull == restMin))

	// 3. Unchanged re-sync.
	wp.ResetRequests()
	progress("unchanged re-sync through the local stack")
	stopProfile = startCPUProfile(o.resyncProfile)
	re, reWall, err := acct.syncAndWait(ctx, id, full.ID)
	stopProfile()
	if err != nil {
		return err
	}
	reInv := st.takeInvocations()
	wpRe := wp.Requests()
	add("Unchanged re-sync (wall)", ms(reWall), "", "")
	add("Re-sync items created / updated / unchanged", fmt.Sprintf("%d / %d / %d", re.ItemsCreated, re.ItemsUpdated, re.ItemsUnchanged),
		fmt.Sprintf("0 / 0 / %d", o.posts), yes(re.ItemsCreated == 0 && re.ItemsUpdated == 0 && re.ItemsUnchanged == o.posts))
	add("WordPress requests, re-sync", itoa(wpRe), fmt.Sprintf("REST minimum %d", restMin), yes(wpRe == restMin))

	// DynamoDB and SQS counts: the same service, metered.
	progress("metered run (app.New wiring on the emulator, every AWS call counted): full sync")
	d, err := newMetered(ctx, t, st.EmulatorURL, o, wp)
	if err != nil {
		return err
	}
	d.resetCounts()
	if _, _, err := d.fullSync(ctx, o.workers); err != nil {
		return err
	}
	mFull := d.m.snapshot()
	sqsFull := mFull.total("SQS") + int(d.receives.Load()+d.deleteBatches.Load())
	progress("metered run: unchanged re-sync")
	d.resetCounts()
	if _, _, err := d.fullSync(ctx, o.workers); err != nil {
		return err
	}
	mRe := d.m.snapshot()
	sqsRe := mRe.total("SQS") + int(d.receives.Load()+d.deleteBatches.Load())
	add("DynamoDB calls, full sync", fmt.Sprintf("%d: %s", mFull.total("DynamoDB"), list(mFull.Calls, "DynamoDB ")), "", "")
	add("DynamoDB request units, full sync (estimate†)", fmt.Sprintf("%.0f WRU, %.0f RRU", mFull.WRU, mFull.RRU), "", "")
	add("DynamoDB calls, re-sync", fmt.Sprintf("%d: %s", mRe.total("DynamoDB"), list(mRe.Calls, "DynamoDB ")), "", "")
	contentWrites := 0
	for k, v := range mRe.Writes {
		if !bookkeeping(k) {
			contentWrites += v
		}
	}
	add("DynamoDB item writes, re-sync (by operation and SK prefix)", list(mRe.Writes, ""), "0 content/term/image/event writes; run bookkeeping only", yes(contentWrites == 0))
	add("DynamoDB request units, re-sync (estimate†)", fmt.Sprintf("%.0f WRU, %.0f RRU", mRe.WRU, mRe.RRU), "", "")

	// 4. Naive baseline.
	progress("naive baseline: list IDs, then one GET per post (sample %d)", min(o.naiveSample, o.posts))
	naiveWall, sample, listWall, err := naive(ctx, wp.URL, wp.Username, wp.Password, o.posts, min(o.naiveSample, o.posts), conc)
	if err != nil {
		return err
	}
	speedup := naiveWall.Seconds() / fullWall.Seconds()
	add(fmt.Sprintf("Naive baseline (ID list + GET /wp/v2/posts/{id}, %d at a time)", conc),
		fmt.Sprintf("%s (ID list %s + %d single GETs measured, extrapolated linearly to %d)", ms(naiveWall), ms(listWall), sample, o.posts), "", "")
	add("Speed-up naive ÷ full sync", fmt.Sprintf("%.1f×", speedup), "≥ 20×", yes(speedup >= 20))

	// 5. Cost.
	cost := func(m meterSnapshot, sqsReq int, inv invocations) (float64, string) {
		gbs := inv.Duration["SyncWorkerFunction"].Seconds() * lambdaGB
		lreq := inv.Count["SyncWorkerFunction"] + 1
		c := m.WRU*priceWRU + m.RRU*priceRRU + float64(sqsReq)*priceSQS + gbs*priceLambdaGBs + float64(lreq)*priceLambdaReq
		return c, fmt.Sprintf("$%.6f (DynamoDB $%.6f, SQS %d req $%.6f, Lambda %d inv %.1f GB-s $%.6f)", c,
			m.WRU*priceWRU+m.RRU*priceRRU, sqsReq, float64(sqsReq)*priceSQS, lreq, gbs, gbs*priceLambdaGBs+float64(lreq)*priceLambdaReq)
	}
	_, fullCost := cost(mFull, sqsFull, fullInv)
	_, reCost := cost(mRe, sqsRe, reInv)
	add("AWS cost, full sync (estimate‡)", fullCost, "", "")
	add("AWS cost, unchanged re-sync (estimate‡)", reCost, "", "")

	rows = append(rows, realRows...)

	fmt.Printf("Command: `%s`\n\n", commandLine())
	fmt.Println("| metric | value | target | met? |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s |\n", r.metric, r.value, r.target, r.met)
	}
	fmt.Printf(`
Paths: wall times and WordPress requests come from the local stack (infra/local: HTTP API, SQS event source with
batches of 10 and no batching window, as in template.yaml, %d concurrent worker invocations, SITE_CONCURRENCY %d),
the sync started with POST /api/v1/integration/{id}/sync/ and sync_status polled every 20 ms. The stack builds its
own AWS clients, so DynamoDB and SQS calls are counted on a second run of the same service (app.New wiring, same
emulator, same fake WordPress, a fresh integration) whose SQS poller is the bench's stand-in for the event source.
† The emulator reports no ConsumedCapacity: request units are estimated from the items on the wire — writes 1 WRU
per KB (×2 in transactions, +1 copy per GSI key the item carries; every GSI projects ALL), UpdateItem from key +
new values (a lower bound: DynamoDB charges the larger of the old and new item), DeleteItem and ConditionCheck 1;
reads 1 RRU per 4 KB returned (½ eventually consistent, ×2 transactional; projections and filters make this low).
‡ us-east-1 on-demand list prices: DynamoDB $1.25/M WRU, $0.25/M RRU; SQS $0.40/M requests (each < 64 KB):
the service's own calls plus one receive and one delete-batch per worker batch (empty long polls of the event
source are not counted); Lambda arm64 $0.0000133334/GB-s at 256 MB plus $0.20/M requests: the worker invocations
of the local run and their local durations, plus one API call to start the sync (status polls not counted).
`, o.workers, o.siteConc)
	return nil
}

// bookkeeping is a write the run itself needs: the run, its job markers,
// the site lease, the sync state and the integration's status.
func bookkeeping(k string) bool {
	for _, p := range []string{" RUN#", " LEASE", " JOB", " STATE", " INT#", " SYNC"} {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// naive is what the seed's flow implies: list the post IDs (100 a page),
// then GET each post; conc requests at a time. It measures sample posts and
// extrapolates the per-post part linearly to posts.
func naive(ctx context.Context, base, user, pass string, posts, sample, conc int) (total time.Duration, n int, list time.Duration, err error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	get := func(u string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %d %.200s", u, resp.StatusCode, b)
		}
		var items []json.RawMessage
		_ = json.Unmarshal(b, &items)
		return len(items), nil
	}
	pages := (posts + 99) / 100
	start := time.Now()
	if err := parallel(pages, conc, func(i int) error {
		_, err := get(fmt.Sprintf("%s/wp-json/wp/v2/posts?per_page=100&page=%d&_fields=id&context=edit&orderby=id&order=asc", base, i+1))
		return err
	}); err != nil {
		return 0, 0, 0, err
	}
	list = time.Since(start)
	var ids []int64
	for i := 0; len(ids) < sample; i++ {
		var page []struct{ ID int64 }
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/wp-json/wp/v2/posts?per_page=100&page=%d&_fields=id&orderby=id&order=asc&context=edit", base, i+1), nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		if err != nil {
			return 0, 0, 0, err
		}
		_ = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
	}
	ids = ids[:min(sample, len(ids))]
	start = time.Now()
	if err := parallel(len(ids), conc, func(i int) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/wp-json/wp/v2/posts/%d?context=edit", base, ids[i]), nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET post %d: %d", ids[i], resp.StatusCode)
		}
		return nil
	}); err != nil {
		return 0, 0, 0, err
	}
	singles := time.Since(start)
	total = list + time.Duration(float64(singles)*float64(posts)/float64(len(ids)))
	return total, len(ids), list, nil
}

// parallel runs fn(0..n-1), conc at a time, and returns the first error.
// fetchJob is one GET of the raw baseline.
type fetchJob struct {
	path  string
	query url.Values
}

// fetchPool runs jobs conc at a time; each job may return more jobs. It
// returns how many ran.
func fetchPool(conc int, jobs []fetchJob, fn func(fetchJob) ([]fetchJob, error)) (int, error) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		first   error
		ran     int
		pending = jobs
		sem     = make(chan struct{}, conc)
		wake    = make(chan struct{}, 1)
		active  int
	)
	for {
		mu.Lock()
		if len(pending) == 0 && active == 0 {
			mu.Unlock()
			break
		}
		if len(pending) == 0 {
			mu.Unlock()
			<-wake
			continue
		}
		j := pending[0]
		pending = pending[1:]
		active++
		mu.Unlock()
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			more, err := fn(j)
			<-sem
			mu.Lock()
			ran++
			active--
			pending = append(pending, more...)
			if err != nil && first == nil {
				first = err
				pending = nil
			}
			mu.Unlock()
			select {
			case wake <- struct{}{}:
			default:
			}
		}()
	}
	wg.Wait()
	return ran, first
}

func parallel(n, conc int, fn func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, conc)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			vars[k] = strings.Trim(v, `"'`)
		}
	}
	return vars, sc.Err()
}

// realWP pulls a real WordPress through the stack, then fetches the same
// pages with net/http as fast as their dependencies allow: types and
// taxonomies together, then every term and list page through one pool of
// conc requests.
func realWP(ctx context.Context, st *stack, o options, conc int, add func(metric, value, target, met string)) error {
	vars, err := readEnvFile(o.realEnv)
	if err != nil {
		return err
	}
	base, user, pass := strings.TrimRight(vars["WP_URL"], "/"), vars["WP_USERNAME"], vars["WP_APP_PASSWORD"]
	if base == "" || user == "" || pass == "" {
		return fmt.Errorf("%s: WP_URL, WP_USERNAME and WP_APP_PASSWORD are required", o.realEnv)
	}
	c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	get := func(path string, q url.Values) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/wp-json/"+path+"?"+q.Encode(), nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		var n int
		_, _ = fmt.Sscan(resp.Header.Get("X-WP-TotalPages"), &n)
		return n, nil
	}
	list := func(page int) url.Values {
		return url.Values{"context": {"edit"}, "orderby": {"modified"}, "order": {"asc"}, "status": {"publish,future,draft,pending,private,trash"},
			"_fields": {postFields}, "per_page": {"100"}, "page": {itoa(page)}}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/wp-json/wp/v2/posts?per_page=1&context=edit&status=publish,future,draft,pending,private,trash", nil)
	req.SetBasicAuth(user, pass)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	var total int
	_, _ = fmt.Sscan(resp.Header.Get("X-WP-Total"), &total)
	if total < o.realPosts {
		return fmt.Errorf("the WordPress at %s has %d posts, want at least %d: php infra/wordpress/bulk.php %d", base, total, o.realPosts, o.realPosts)
	}

	// rawFetch is the fastest plain fetch of the pages the sync reads.
	rawFetch := func() (time.Duration, int, error) {
		start := time.Now()
		if err := parallel(2, conc, func(i int) error {
			_, err := get([]string{"wp/v2/types", "wp/v2/taxonomies"}[i], url.Values{"context": {"edit"}})
			return err
		}); err != nil {
			return 0, 0, err
		}
		// Every other page through one pool of conc: a first page that says
		// there are more queues them, so the pool is never idle while work
		// is known.
		terms := func(page int) url.Values {
			return url.Values{"context": {"edit"}, "_fields": {"id,name,slug,parent"}, "orderby": {"id"}, "per_page": {"100"}, "page": {itoa(page)}}
		}
		queue := []fetchJob{{"wp/v2/categories", terms(1)}, {"wp/v2/tags", terms(1)}, {"wp/v2/posts", list(1)}, {"wp/v2/pages", list(1)}}
		pages, err := fetchPool(conc, queue, func(j fetchJob) ([]fetchJob, error) {
			n, err := get(j.path, j.query)
			if err != nil || j.query.Get("page") != "1" {
				return nil, err
			}
			var more []fetchJob
			for p := 2; p <= n; p++ {
				q := url.Values{}
				for k, v := range j.query {
					q[k] = v
				}
				q.Set("page", itoa(p))
				more = append(more, fetchJob{j.path, q})
			}
			return more, nil
		})
		if err != nil {
			return 0, 0, err
		}
		return time.Since(start), pages, nil
	}
	// Warm WordPress up first (PHP's opcode cache, MariaDB's buffer pool):
	// the sync must not pay for a cold site that the raw fetch then finds
	// warm.
	progress("real WordPress: warm-up fetch (not measured)")
	if _, _, err := rawFetch(); err != nil {
		return err
	}
	acct, err := st.account("bench-real")
	if err != nil {
		return err
	}
	id, err := acct.createIntegration(ctx, base, user, pass)
	if err != nil {
		return err
	}
	progress("real WordPress %s (%d posts): full sync through the local stack", base, total)
	run, wall, err := acct.syncAndWait(ctx, id, "")
	if err != nil {
		return err
	}

	progress("real WordPress: raw concurrent fetch of the same pages")
	raw, pages, err := rawFetch()
	if err != nil {
		return err
	}
	ratio := wall.Seconds() / raw.Seconds()
	add(fmt.Sprintf("Real WordPress (%s, %d posts): full sync through the stack (wall)", base, total),
		fmt.Sprintf("%s (%d created, %d failed, %d pages)", ms(wall), run.ItemsCreated, run.ItemsFailed, run.PagesTotal), "", "")
	add("Real WordPress: raw net/http fetch of the same pages (wall)", fmt.Sprintf("%s (types and taxonomies, then %d pages %d at a time)", ms(raw), pages, conc), "", "")
	add("Real WordPress: full sync ÷ raw fetch", fmt.Sprintf("%.2f×", ratio), "≤ 1.25×", yes(ratio <= 1.25))
	return nil
}
