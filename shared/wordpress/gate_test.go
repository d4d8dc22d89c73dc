package wordpress

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// countingGate records turns and whether a request was in flight without one.
type countingGate struct {
	mu            sync.Mutex
	held, entered int
	refuse        error
	heldAtRequest []int
}

func (g *countingGate) Enter(context.Context) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refuse != nil {
		return nil, g.refuse
	}
	g.held++
	g.entered++
	return func() {
		g.mu.Lock()
		g.held--
		g.mu.Unlock()
	}, nil
}

func (g *countingGate) sawRequest() {
	g.mu.Lock()
	g.heldAtRequest = append(g.heldAtRequest, g.held)
	g.mu.Unlock()
}

func TestGateIsHeldForEachAttemptOnly(t *testing.T) {
	g := &countingGate{}
	ok := okJSON([]any{map[string]int{"id": 1}})
	fail := answerError(503, "unavailable", "Down")
	handler := sequence(fail, ok)
	site := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": func(w http.ResponseWriter, r *http.Request) {
		g.sawRequest()
		handler(w, r)
	}})
	c, _ := newClient(t, site.SiteURL())
	var out []map[string]int
	resp, err := c.WithGate(g).Get(context.Background(), "wp/v2/posts", nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 2 || g.entered != 2 {
		t.Fatalf("%d attempts took %d turns, want one turn per attempt", resp.Attempts, g.entered)
	}
	for i, held := range g.heldAtRequest {
		if held != 1 {
			t.Fatalf("attempt %d reached the site holding %d turns, want 1", i+1, held)
		}
	}
	if g.held != 0 {
		t.Fatalf("%d turns still held after the call", g.held)
	}
	// The client without a gate is unchanged.
	if _, err := c.Get(context.Background(), "wp/v2/posts", nil, &out); err != nil || g.entered != 2 {
		t.Fatalf("ungated client used the gate (%d turns) or failed: %v", g.entered, err)
	}
}

func TestBusyGateIsSiteBusyWithRetryAfterAndNothingSent(t *testing.T) {
	tests := []struct {
		name       string
		refuse     error
		retryAfter time.Duration
	}{
		{"busy", &GateBusyError{RetryAfter: 1500 * time.Millisecond}, 1500 * time.Millisecond},
		{"lease store failed", errors.New("dynamodb: throttled"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": okJSON([]any{})})
			c, sleeps := newClient(t, site.SiteURL())
			_, err := c.WithGate(&countingGate{refuse: tt.refuse}).Get(context.Background(), "wp/v2/posts", nil, nil)
			e := mustCode(t, err, CodeSiteBusy)
			if e.RetryAfter != tt.retryAfter {
				t.Fatalf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
			}
			if IsPermanent(err) {
				t.Fatal("site_busy must not be permanent: the job is retried")
			}
			if n := site.Hits("wp/v2/posts"); n != 0 {
				t.Fatalf("%d requests reached the site without a turn", n)
			}
			if len(sleeps.got()) != 0 {
				t.Fatalf("the client slept %v in process; a busy gate already waited", sleeps.got())
			}
		})
	}
}
