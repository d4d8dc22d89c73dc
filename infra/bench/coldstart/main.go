// Command coldstart is the cold-start benchmark behind `make bench-coldstart`.
// It is a benchmark, not a test: it prints a Markdown table and exits 0 unless
// it could not measure (or -strict is set and a target is missed).
//
// For each function in functions/ and for a bare baseline binary
// (infra/bench/coldstart/bare: AWS config + the same SDK clients +
// lambda.Start), it
//
//   - builds the binary for the host (CGO_ENABLED=0, the Lambda build flags)
//     and, for the size column, for Lambda (linux/arm64);
//   - starts it N times, each time in a new AWS Lambda Runtime Interface
//     Emulator process (aws-lambda-rie), sends one invocation, and reads the
//     emulator's info-level "INIT REPORT(durationMs: …)" log line, which is
//     the time from starting the bootstrap to its first call for work — the
//     INIT phase Lambda bills and reports;
//   - reports binary sizes, the median INIT and its ratio to the bare binary's
//     median measured in the same run (runs are interleaved round-robin, after
//     one unmeasured warm-up round, so drift on the machine hits all alike).
//
// Every variable in shared/config.Variables is set (dummy but valid values;
// queue URLs point at 127.0.0.1:1), with static fake AWS credentials and no
// shared config files, so INIT must not and cannot reach the network.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/igny8/integrations/shared/config"
)

// Targets from the issue: INIT at most 1.15 x the bare binary's, and each
// (Lambda) binary at most 10 MB.
const (
	maxInitRatio = 1.15
	maxSizeBytes = 10_000_000
)

type target struct {
	name string // column label
	pkg  string // package to build, relative to the repository root
}

var targets = []target{
	{"bare (baseline)", "./infra/bench/coldstart/bare"},
	{"api", "./functions/api"},
	{"webhook", "./functions/webhook"},
	{"syncworker", "./functions/syncworker"},
	{"publisher", "./functions/publisher"},
}

// buildFlags are the Makefile's GO_BUILD_FLAGS.
var buildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

type result struct {
	target
	hostSize, lambdaSize int64
	inits                []float64 // ms, from INIT REPORT
	firstResp            []float64 // ms, RIE start to first invocation response (client side)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run() error {
	rie := flag.String("rie", "bin/aws-lambda-rie", "path to the aws-lambda-rie binary (make bench-coldstart installs it)")
	runs := flag.Int("runs", 10, "cold starts measured per binary")
	work := flag.String("work", "", "folder for the built binaries (default: a temporary folder, removed afterwards)")
	perStart := flag.Duration("timeout", 30*time.Second, "limit for one cold start")
	strict := flag.Bool("strict", false, "exit 1 when a target is missed")
	verbose := flag.Bool("v", false, "print each measurement")
	flag.Parse()
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}

	root, err := repoRoot()
	if err != nil {
		return err
	}
	rieBin, err := filepath.Abs(*rie)
	if err != nil {
		return err
	}
	if _, err := os.Stat(rieBin); err != nil {
		return fmt.Errorf("runtime interface emulator not found (%w); run it through `make bench-coldstart`", err)
	}
	dir := *work
	if dir == "" {
		if dir, err = os.MkdirTemp("", "coldstart-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}

	env, err := functionEnv(dir)
	if err != nil {
		return err
	}

	results := make([]*result, len(targets))
	for i, t := range targets {
		r := &result{target: t}
		host := filepath.Join(dir, "host", slug(t.name), "bootstrap")
		if r.hostSize, err = build(root, t.pkg, host, runtime.GOOS, runtime.GOARCH); err != nil {
			return err
		}
		lambdaBin := filepath.Join(dir, "lambda", slug(t.name), "bootstrap")
		if r.lambdaSize, err = build(root, t.pkg, lambdaBin, "linux", "arm64"); err != nil {
			return err
		}
		results[i] = r
	}
	fmt.Fprintf(os.Stderr, "built %d binaries; measuring %d cold starts each\n", len(targets), *runs)

	// Round 0 is a warm-up (page cache, first exec) and is not recorded.
	for round := 0; round <= *runs; round++ {
		for _, r := range results {
			bin := filepath.Join(dir, "host", slug(r.name), "bootstrap")
			initMs, respMs, err := coldStart(rieBin, bin, env, *perStart)
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			if round == 0 {
				continue
			}
			r.inits = append(r.inits, initMs)
			r.firstResp = append(r.firstResp, respMs)
			if *verbose {
				fmt.Fprintf(os.Stderr, "round %2d  %-16s INIT %7.2f ms  first response %7.2f ms\n", round, r.name, initMs, respMs)
			}
		}
	}

	missed := report(os.Stdout, results, *runs)
	if missed && *strict {
		os.Exit(1)
	}
	return nil
}

// functionEnv is the environment of every RIE process (the emulator passes it
// on to the bootstrap): each configuration variable, fake credentials, a
// region, and no shared AWS config files.
func functionEnv(dir string) ([]string, error) {
	dummies := map[string]string{
		"TABLE_NAME":     "igny8-bench",
		"SYNC_QUEUE_URL": "http://127.0.0.1:1/000000000000/igny8-bench-sync",
		"SYNC_DLQ_URL":   "http://127.0.0.1:1/000000000000/igny8-bench-sync-dlq",
		"SECRET_PREFIX":  "igny8/integrations/bench/",
		"STAGE":          "bench",
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TZ=UTC",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIABENCHMARK0000000",
		"AWS_SECRET_ACCESS_KEY=bench/secret/not/used/0000000000000000",
		"AWS_SESSION_TOKEN=bench",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
	}
	for _, v := range config.Variables {
		val, ok := dummies[v.Name]
		if !ok {
			val = v.Default
		}
		if val == "" && v.Required {
			return nil, fmt.Errorf("config variable %s is required and the benchmark has no dummy value for it; add one to functionEnv", v.Name)
		}
		env = append(env, v.Name+"="+val)
	}
	if _, err := config.Load(func(name string) string {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v
			}
		}
		return ""
	}); err != nil {
		return nil, fmt.Errorf("benchmark environment does not pass config.Load: %w", err)
	}
	return env, nil
}

// build compiles pkg for goos/goarch with the Lambda build flags and returns
// the binary's size.
func build(root, pkg, out, goos, goarch string) (int64, error) {
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build %s (%s/%s): %w\n%s", pkg, goos, goarch, err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// coldStart runs one new emulator process with bin as its bootstrap, invokes
// it once and returns the INIT duration the emulator reports and the time
// from starting the emulator to the invocation's response.
func coldStart(rie, bin string, env []string, limit time.Duration) (initMs, respMs float64, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()

	apiPort, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	runtimePort, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", apiPort)

	cmd := exec.Command(rie,
		"--log-level", "info",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimePort),
		bin)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = env
	// Own process group, so that killing it also ends the bootstrap the
	// emulator started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw

	var logBuf bytes.Buffer
	var logMu sync.Mutex
	found := make(chan float64, 1)
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logBuf.WriteString(line + "\n")
			logMu.Unlock()
			if m := initReport.FindStringSubmatch(line); m != nil {
				if v, err := strconv.ParseFloat(m[1], 64); err == nil {
					select {
					case found <- v:
					default:
					}
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("start emulator: %w", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		_ = pw.Close()
		<-scanDone
		if err != nil {
			logMu.Lock()
			err = fmt.Errorf("%w\n--- emulator output ---\n%s", err, tail(logBuf.String(), 40))
			logMu.Unlock()
		}
	}()

	if err := waitListening(ctx, addr); err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+addr+"/2015-03-31/functions/function/invocations", strings.NewReader(`{}`))
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("invoke: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	respMs = float64(time.Since(start).Microseconds()) / 1000
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("invoke: emulator answered %s", resp.Status)
	}

	select {
	case initMs = <-found:
		return initMs, respMs, nil
	case <-ctx.Done():
		return 0, 0, errors.New("no INIT REPORT line from the emulator (is it logging at info level?)")
	}
}

func waitListening(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("emulator did not listen on %s: %w", addr, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// report prints the Markdown table and says whether a target was missed.
func report(w io.Writer, results []*result, runs int) (missed bool) {
	bare := median(results[0].inits)
	fmt.Fprintf(w, "Cold start under aws-lambda-rie %s, %d cold starts per binary (one new emulator process each), %s %s/%s, %d CPUs, %s.\n\n",
		rieVersion(), runs, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(w, "| Function | Binary linux/arm64 (Lambda) | Binary host | INIT median | INIT min – max | INIT vs bare | First response median | Targets (≤ 1.15 × bare, ≤ 10 MB) |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|---|")
	for i, r := range results {
		med := median(r.inits)
		ratio := med / bare
		verdict := "baseline"
		if i > 0 {
			var bad []string
			if ratio > maxInitRatio {
				bad = append(bad, "INIT")
			}
			if r.lambdaSize > maxSizeBytes {
				bad = append(bad, "size")
			}
			verdict = "met"
			if len(bad) > 0 {
				verdict = "MISSED: " + strings.Join(bad, ", ")
				missed = true
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f ms | %.2f – %.2f ms | %.2f× | %.2f ms | %s |\n",
			r.name, mb(r.lambdaSize), mb(r.hostSize), med, slices.Min(r.inits), slices.Max(r.inits), ratio, median(r.firstResp), verdict)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "INIT is the emulator's `INIT REPORT(durationMs)`: from starting the bootstrap to its first request for work. "+
		"First response is measured by the client from starting the emulator, so it adds process start-up and the first invocation.")
	return missed
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func slug(s string) string {
	s, _, _ = strings.Cut(s, " ")
	return s
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// rieVersion reads the emulator's pinned version from the Makefile, for the
// report's header.
func rieVersion() string {
	root, err := repoRoot()
	if err != nil {
		return "(unknown version)"
	}
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return "(unknown version)"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":="); ok && strings.TrimSpace(k) == "RIE_VERSION" {
			return strings.TrimSpace(v)
		}
	}
	return "(unknown version)"
}

// repoRoot is the folder holding go.mod, found from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
