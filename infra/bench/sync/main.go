// Command sync is the sync benchmark: a full WordPress pull through the
// local stack (the HTTP API, the SQS event source mapping and the sync
// worker on the embedded AWS emulator) against an httptest WordPress with
// injected latency, compared with its lower bound, an unchanged re-sync, a
// naive one-request-per-post baseline and, optionally, a real WordPress.
// It prints a Markdown table.
//
//	go run ./infra/bench/sync [-posts 10000] [-latency 50ms] [-workers 8] [-site-concurrency 4] [-real-wp-env .local/wordpress/env]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

type options struct {
	posts, workers, siteConc, realPosts, naiveSample int
	latency                                          time.Duration
	realEnv                                          string
	// cpuProfile, when set, receives a CPU profile of the first full sync;
	// resyncProfile one of the unchanged re-sync.
	cpuProfile, resyncProfile string
}

func main() {
	var o options
	flag.IntVar(&o.posts, "posts", 10000, "posts on the fake WordPress")
	flag.DurationVar(&o.latency, "latency", 50*time.Millisecond, "latency the fake WordPress adds to every request")
	flag.IntVar(&o.workers, "workers", 8, "sync worker concurrency (the SQS event source's MaximumConcurrency)")
	flag.IntVar(&o.siteConc, "site-concurrency", 4, "SITE_CONCURRENCY: jobs that may call one site at once")
	flag.StringVar(&o.realEnv, "real-wp-env", "", "env file of a real WordPress (WP_URL, WP_USERNAME, WP_APP_PASSWORD), e.g. .local/wordpress/env")
	flag.IntVar(&o.realPosts, "real-posts", 1000, "posts the real WordPress must have at least (php infra/wordpress/bulk.php N)")
	flag.IntVar(&o.naiveSample, "naive-sample", 1000, "posts the naive baseline fetches one by one (extrapolated to -posts)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the full sync through the stack to this file (go tool pprof)")
	flag.StringVar(&o.resyncProfile, "resync-cpuprofile", "", "write a CPU profile of the unchanged re-sync to this file")
	flag.Parse()
	if o.posts < 1 || o.workers < 1 || o.siteConc < 1 || o.siteConc > 32 || o.naiveSample < 1 {
		fmt.Fprintln(os.Stderr, "sync bench: -posts, -workers, -naive-sample must be ≥ 1 and -site-concurrency 1..32")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tb := &tb{name: "SyncBench"}
	code := 0
	if err := run(ctx, tb, o); err != nil {
		fmt.Fprintln(os.Stderr, "sync bench:", err)
		code = 1
	}
	tb.cleanup()
	os.Exit(code)
}

// startCPUProfile profiles the process until the returned function is
// called; with no path it does nothing.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sync bench: cpu profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}

var discard = benchLogger()

func benchLogger() *slog.Logger {
	if os.Getenv("BENCH_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func itoa(n int) string { return strconv.Itoa(n) }

func commandLine() string {
	args := []string{"go run ./infra/bench/sync"}
	flag.Visit(func(f *flag.Flag) { args = append(args, "-"+f.Name+"="+f.Value.String()) })
	return strings.Join(args, " ")
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
