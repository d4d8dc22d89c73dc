package local

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var stackCounter atomic.Int64

// recorder collects observed invocations and lets tests wait for a
// condition with a deadline instead of sleeping.
type recorder struct {
	mu      sync.Mutex
	invs    []Invocation
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) observe(inv Invocation) {
	r.mu.Lock()
	r.invs = append(r.invs, inv)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]Invocation, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Invocation(nil), r.invs...), r.changed
}

// waitFor returns once cond holds for the invocations seen so far, or fails
// the test after timeout, printing what was seen.
func (r *recorder) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]Invocation) bool) []Invocation {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		invs, changed := r.snapshot()
		if cond(invs) {
			return invs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s; saw %d invocations: %s", timeout, what, len(invs), describe(invs))
		}
	}
}

func describe(invs []Invocation) string {
	s := ""
	for _, i := range invs {
		s += fmt.Sprintf("\n  %s err=%v deleted=%v", i.Function, i.Err, i.DeletedMessageIDs)
	}
	return s
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// startStack starts an in-process stack on random ports with unique
// resource names and an in-memory signing key, closed when the test ends.
func startStack(t *testing.T, opts Options) (*Stack, *recorder) {
	t.Helper()
	rec := newRecorder()
	slug := unsafe.ReplaceAllString(t.Name(), "-")
	if len(slug) > 30 {
		slug = slug[:30]
	}
	opts.NamePrefix = fmt.Sprintf("t%d-%s-%d-", stackCounter.Add(1), slug, time.Now().UnixNano()%1e6)
	opts.APIAddr, opts.WebhookAddr = "127.0.0.1:0", "127.0.0.1:0"
	if opts.SigningKeyPath == "" {
		opts.SigningKeyPath = "-"
	}
	var w io.Writer = io.Discard
	if os.Getenv("LOCALSTACK_TEST_LOGS") != "" {
		w = os.Stderr
	}
	opts.Logger = slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Observe = rec.observe
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close stack: %v", err)
		}
	})
	return st, rec
}

func functionInvocations(invs []Invocation, fn string) []Invocation {
	var out []Invocation
	for _, i := range invs {
		if i.Function == fn {
			out = append(out, i)
		}
	}
	return out
}
