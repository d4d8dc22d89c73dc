// Command webhook is the webhook receiver benchmark: signed deliveries at a
// fixed rate against the local stack's function URL (the receiver on the
// embedded AWS emulator, reached over loopback HTTP as WordPress reaches
// it), spread over many integrations as a fleet of sites would send them.
// The sync worker is held, so every job the receiver enqueued is still on
// the queue at the end and can be counted. It prints a Markdown table:
// handler time (measured by the local runner around the handler), ack time
// (the sender's request to the answer), accepted vs sent, and jobs on the
// queue, lost and duplicated.
//
//	go run ./infra/bench/webhook [-rate 500] [-duration 30s] [-integrations 100]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/igny8/integrations/infra/local"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/webhook"
	"github.com/igny8/integrations/shared/webhooksecret"
)

type options struct {
	rate, integrations int
	duration           time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.rate, "rate", 500, "deliveries per second, in total")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long to send")
	flag.IntVar(&o.integrations, "integrations", 100, "integrations (sites) the deliveries are spread over")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (stack and sender) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "webhook bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if o.rate < 1 || o.integrations < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "webhook bench: -rate, -integrations and -duration must be positive")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+10*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "webhook bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func progress(format string, args ...any) { fmt.Fprintf(os.Stderr, "# "+format+"\n", args...) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

type site struct {
	id, url string
	key     []byte
}

// warmAfter is when the receiver's caches are warm: every integration
// has had deliveries (its integration read and secret fetched once).
const warmAfter = 2 * time.Second

// timed is one handler invocation.
type timed struct {
	start time.Time
	d     time.Duration
}

type result struct {
	status int
	ack    time.Duration
	err    error
}

func run(ctx context.Context, o options) error {
	var (
		mu      sync.Mutex
		handler []timed
	)
	id := time.Now().UnixNano() % 1e9
	st, err := local.Start(ctx, local.Options{
		APIAddr: "127.0.0.1:0", WebhookAddr: "127.0.0.1:0", SigningKeyPath: "-",
		NamePrefix: fmt.Sprintf("whbench%d-", id), SecretPrefix: fmt.Sprintf("igny8/whbench/%d/", id),
		Logger: discard, AppLogger: discard,
		// The worker is held: the jobs stay on the queue to be counted.
		HoldEventSources: true,
		Observe: func(inv local.Invocation) {
			if inv.Function == "WebhookFunction" {
				mu.Lock()
				handler = append(handler, timed{start: inv.Start, d: inv.Duration})
				mu.Unlock()
			}
		},
	})
	if err != nil {
		return fmt.Errorf("start local stack: %w", err)
	}
	defer st.Close()

	progress("creating %d integrations", o.integrations)
	token, err := st.Token(fmt.Sprintf("bench-%d", id), false, time.Hour)
	if err != nil {
		return err
	}
	sites, err := createSites(ctx, st.APIURL, token, o.integrations)
	if err != nil {
		return err
	}
	mu.Lock()
	handler = nil
	mu.Unlock()

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096}, Timeout: 10 * time.Second}
	endpoint := st.WebhookURL + webhook.Path
	total := int(o.duration.Seconds() * float64(o.rate))
	results := make([]result, total)
	ids := make([]string, total)
	interval := time.Second / time.Duration(o.rate)
	progress("sending %d deliveries at %d/s for %s to %s", total, o.rate, o.duration, endpoint)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		// A fixed schedule: delivery i leaves at start + i·interval,
		// whatever the answers do (open loop).
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		s := sites[i%len(sites)]
		ids[i] = fmt.Sprintf("msg_bench_%d_%d", id, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = deliver(ctx, client, endpoint, s, ids[i], int64(i+1))
		}()
	}
	sendSpan := time.Since(start)
	wg.Wait()
	progress("sent in %s; counting the queue", sendSpan.Round(time.Millisecond))

	accepted := map[string]bool{}
	statuses := map[int]int{}
	var acks []time.Duration
	errs := 0
	for i, r := range results {
		if r.err != nil {
			errs++
			continue
		}
		statuses[r.status]++
		acks = append(acks, r.ack)
		if r.status == http.StatusAccepted {
			accepted[ids[i]] = true
		}
	}
	onQueue, err := countJobs(ctx, st.Clients.SQS, st.Queues["SyncQueue"].URL)
	if err != nil {
		return err
	}
	lost, dup, extra := 0, 0, 0
	for key := range accepted {
		switch n := onQueue[key]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	jobsTotal := 0
	for key, n := range onQueue {
		jobsTotal += n
		if !accepted[key] {
			extra += n
		}
	}
	mu.Lock()
	perSecond := map[int][]time.Duration{}
	for _, h := range handler {
		sec := int(h.start.Sub(start) / time.Second)
		perSecond[sec] = append(perSecond[sec], h.d)
	}
	var line []string
	for sec := 0; sec <= int(o.duration/time.Second); sec++ {
		d := perSecond[sec]
		if len(d) == 0 {
			continue
		}
		slices.Sort(d)
		line = append(line, fmt.Sprintf("%ds:%d", sec, d[len(d)*99/100].Milliseconds()))
	}
	progress("handler p99 per second of sending (ms): %s", strings.Join(line, " "))
	var hs, warm []time.Duration
	for _, h := range handler {
		hs = append(hs, h.d)
		if h.start.After(start.Add(warmAfter)) {
			warm = append(warm, h.d)
		}
	}
	mu.Unlock()

	p := func(d []time.Duration, q float64) string {
		if len(d) == 0 {
			return "–"
		}
		slices.Sort(d)
		return fmt.Sprintf("%.2f ms", float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds())/1000)
	}
	achieved := float64(total) / sendSpan.Seconds()
	fmt.Printf("\n`%s` (%d integrations, %d deliveries/s each)\n\n", commandLine(), o.integrations, o.rate/o.integrations)
	fmt.Println("| Measure | Result | Target |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| deliveries sent | %d in %s (%.0f/s) | 500/s for 30 s |\n", total, sendSpan.Round(10*time.Millisecond), achieved)
	fmt.Printf("| answers | %s; %d transport errors | all 202 |\n", statusList(statuses), errs)
	fmt.Printf("| handler time p50 / p99 / max | %s / %s / %s | p99 < 10 ms |\n", p(hs, 0.50), p(hs, 0.99), p(hs, 1))
	fmt.Printf("| handler time after the first %s (warm caches) p50 / p99 / max | %s / %s / %s | |\n", warmAfter, p(warm, 0.50), p(warm, 0.99), p(warm, 1))
	fmt.Printf("| ack time (end to end) p50 / p99 / max | %s / %s / %s | |\n", p(acks, 0.50), p(acks, 0.99), p(acks, 1))
	fmt.Printf("| jobs on the queue | %d for %d accepted deliveries | one each |\n", jobsTotal, len(accepted))
	fmt.Printf("| lost / duplicated / unexpected jobs | %d / %d / %d | 0 / 0 / 0 |\n", lost, dup, extra)
	if lost+dup+extra > 0 || errs > 0 {
		return fmt.Errorf("%d lost, %d duplicated, %d unexpected jobs, %d transport errors", lost, dup, extra, errs)
	}
	return nil
}

func statusList(m map[int]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %d", m[k], k))
	}
	return strings.Join(parts, ", ")
}

// createSites connects n sites through the API, eight at a time.
func createSites(ctx context.Context, apiURL, token string, n int) ([]site, error) {
	// A WordPress that refuses every request at once (a permanent 401, not
	// retried): the connection test fails fast and is stored.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"rest_not_logged_in","message":"You are not currently logged in.","data":{"status":401}}`))
	}))
	defer refuse.Close()
	sites := make([]site, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, 8)
	)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s, err := createSite(ctx, apiURL, token, refuse.URL, i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			sites[i] = s
		}()
	}
	wg.Wait()
	return sites, firstErr
}

func createSite(ctx context.Context, apiURL, token, wpURL string, i int) (site, error) {
	body, _ := json.Marshal(map[string]any{"site_id": fmt.Sprintf("site-%d", i), "platform": "wordpress", "external_site_url": fmt.Sprintf("%s/site-%d", wpURL, i),
		"credentials": map[string]string{"username": "admin", "application_password": "abcd efgh ijkl mnop qrst uvwx"}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/api/v1/integration/", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return site{}, err
	}
	defer resp.Body.Close()
	var out struct {
		ID            string `json:"id"`
		URL           string `json:"external_site_url"`
		WebhookSecret string `json:"webhook_secret"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		return site{}, fmt.Errorf("create integration %d: %d %v", i, resp.StatusCode, err)
	}
	key, err := webhooksecret.Key(out.WebhookSecret)
	if err != nil {
		return site{}, err
	}
	return site{id: out.ID, url: out.URL, key: key}, nil
}

func deliver(ctx context.Context, client *http.Client, endpoint string, s site, msgID string, postID int64) result {
	now := time.Now().Unix()
	body, _ := json.Marshal(map[string]any{"action": "post_updated", "post_id": postID, "post_type": "post", "rest_base": "posts",
		"site_url": s.url, "integration_id": s.id, "status": "publish", "modified_gmt": time.Now().UTC().Format("2006-01-02T15:04:05"),
		"delivery": map[string]any{"attempt": 1, "coalesced": 1, "plugin_version": "bench", "sent_at": now}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderID, msgID)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now, 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(s.key, msgID, now, body))
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{status: resp.StatusCode, ack: time.Since(t0)}
}

// countJobs reads every message on the queue and counts the distinct
// messages (SQS message IDs) per delivery ID. Nothing is deleted: a message
// received twice (its visibility timeout ran out, or a receive's answer
// was lost after the emulator had handed the messages out) is counted
// once, so the count is the number of jobs, not of receives. It stops when
// it has seen as many distinct messages as the queue held, or when the
// queue has been empty for longer than a lost receive hides its messages.
func countJobs(ctx context.Context, api *sqs.Client, url string) (map[string]int, error) {
	attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	want, _ := strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	const hidden = 30           // seconds a received message stays invisible
	seen := map[string]string{} // message ID → delivery ID
	failures := 0
	deadline := time.Now().Add(4 * hidden * time.Second)
	lastNew := time.Now()
	for len(seen) < want && time.Now().Before(deadline) && time.Since(lastNew) < 2*hidden*time.Second {
		res, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: hidden, WaitTimeSeconds: 1})
		if err != nil {
			// The messages of a lost answer come back after the
			// visibility timeout; a few failures are not the queue's.
			if failures++; failures > 20 {
				return nil, fmt.Errorf("receive: %w", err)
			}
			continue
		}
		for _, m := range res.Messages {
			if _, ok := seen[aws.ToString(m.MessageId)]; ok {
				continue
			}
			env, err := jobs.Decode(aws.ToString(m.Body))
			if err != nil {
				return nil, err
			}
			var p jobs.WebhookPayload
			if err := json.Unmarshal(env.Payload, &p); err != nil {
				return nil, err
			}
			seen[aws.ToString(m.MessageId)] = p.DeliveryID
			lastNew = time.Now()
		}
	}
	if failures > 0 {
		progress("%d receives failed while counting and were retried", failures)
	}
	out := map[string]int{}
	for _, delivery := range seen {
		out[delivery]++
	}
	return out, nil
}

func commandLine() string {
	args := []string{"go run ./infra/bench/webhook"}
	flag.Visit(func(f *flag.Flag) { args = append(args, "-"+f.Name+"="+f.Value.String()) })
	return strings.Join(args, " ")
}
