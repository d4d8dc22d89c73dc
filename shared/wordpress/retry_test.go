package wordpress

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func withRetryAfter(status int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", retryAfter)
		writeWPError(w, status, "too_many_requests", http.StatusText(status))
	}
}

func TestRetries(t *testing.T) {
	ok := okJSON([]any{map[string]int{"id": 1}})
	tests := []struct {
		name       string
		method     string
		idempotent bool
		handler    http.HandlerFunc
		code       string // "" means success
		attempts   int
		sleeps     []time.Duration
		retryAfter time.Duration
	}{
		{
			name:    "503 twice then success, exponential backoff with jitter",
			handler: sequence(answerError(503, "unavailable", "Down"), answerError(503, "unavailable", "Down"), ok),
			// Rand is 0.5: half of 500ms, then half of 1s.
			attempts: 3, sleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
		},
		{
			name:     "Retry-After seconds on 429 is honoured exactly",
			handler:  sequence(withRetryAfter(429, "7"), ok),
			attempts: 2, sleeps: []time.Duration{7 * time.Second},
		},
		{
			name:     "Retry-After HTTP-date on 503 is honoured against the clock",
			handler:  sequence(withRetryAfter(503, testNow.Add(12*time.Second).Format(http.TimeFormat)), ok),
			attempts: 2, sleeps: []time.Duration{12 * time.Second},
		},
		{
			name:     "Retry-After in the past falls back to backoff",
			handler:  sequence(withRetryAfter(503, testNow.Add(-time.Hour).Format(http.TimeFormat)), ok),
			attempts: 2, sleeps: []time.Duration{250 * time.Millisecond},
		},
		{
			name:     "Retry-After above MaxRetryAfter gives up at once for the queue to delay",
			handler:  withRetryAfter(429, "3600"),
			code:     CodeRateLimited,
			attempts: 1, retryAfter: time.Hour,
		},
		{
			name:     "maintenance mode: 503 with a long Retry-After",
			handler:  withRetryAfter(503, "600"),
			code:     CodeServerError,
			attempts: 1, retryAfter: 10 * time.Minute,
		},
		{
			name:     "429 until the end carries the last Retry-After",
			handler:  withRetryAfter(429, "3"),
			code:     CodeRateLimited,
			attempts: 4, sleeps: []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second}, retryAfter: 3 * time.Second,
		},
		{
			name:     "501 is not retried",
			handler:  answerError(501, "not_implemented", "No"),
			code:     CodeServerError,
			attempts: 1,
		},
		{
			name: "POST is not retried on 502: it may have created the post", method: "POST",
			handler:  sequence(answerError(502, "bad_gateway", "Bad gateway"), ok),
			code:     CodeServerError,
			attempts: 1,
		},
		{
			name: "idempotent POST is retried on 502", method: "POST", idempotent: true,
			handler:  sequence(answerError(502, "bad_gateway", "Bad gateway"), ok),
			attempts: 2, sleeps: []time.Duration{250 * time.Millisecond},
		},
		{
			name: "POST is retried on 429: WordPress did not process it", method: "POST",
			handler:  sequence(withRetryAfter(429, "1"), ok),
			attempts: 2, sleeps: []time.Duration{time.Second},
		},
		{
			name: "PUT is retried on 500", method: "PUT",
			handler:  sequence(answerError(500, "error", "Oops"), ok),
			attempts: 2, sleeps: []time.Duration{250 * time.Millisecond},
		},
		{
			name: "DELETE is retried on 504", method: "DELETE",
			handler:  sequence(answerError(504, "timeout", "Gateway timeout"), ok),
			attempts: 2, sleeps: []time.Duration{250 * time.Millisecond},
		},
		{
			name: "POST is not retried when the connection drops", method: "POST",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
			},
			code:     CodeConnectionFailed,
			attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": tt.handler})
			c, s := newClient(t, f.SiteURL())
			req := Request{Method: tt.method, Path: "wp/v2/posts", Idempotent: tt.idempotent}
			if tt.method == "POST" || tt.method == "PUT" {
				req.Body = map[string]string{"title": "Hello"}
			}
			resp, err := c.Do(context.Background(), req)
			if tt.code == "" && err != nil {
				t.Fatalf("Do: %v", err)
			}
			if tt.code != "" {
				e := mustCode(t, err, tt.code)
				if e.RetryAfter != tt.retryAfter {
					t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.retryAfter)
				}
			}
			if resp.Attempts != tt.attempts || f.Total() != tt.attempts {
				t.Errorf("Attempts = %d, server saw %d; want %d", resp.Attempts, f.Total(), tt.attempts)
			}
			if got := s.got(); !slices.Equal(got, tt.sleeps) {
				t.Errorf("sleeps = %v, want %v", got, tt.sleeps)
			}
			if req.Body != nil {
				for _, r := range f.Requests() {
					if r.Body != `{"title":"Hello"}` {
						t.Errorf("attempt sent body %q; every retry must resend the whole body", r.Body)
					}
				}
			}
		})
	}
}

func TestClientErrorsAreNeverRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 405, 409, 410, 413, 422} {
		f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": answerError(code, "rest_error", "No")})
		c, s := newClient(t, f.SiteURL())
		resp, err := c.Get(context.Background(), "wp/v2/posts", nil, nil)
		if err == nil || !IsPermanent(err) {
			t.Errorf("HTTP %d: err = %v, want a permanent error", code, err)
		}
		if f.Total() != 1 || resp.Attempts != 1 || len(s.got()) != 0 {
			t.Errorf("HTTP %d: %d requests, %d attempts, sleeps %v; want exactly one try", code, f.Total(), resp.Attempts, s.got())
		}
	}
}

func TestRetriedUploadResendsTheWholeFile(t *testing.T) {
	image := strings.Repeat("GIF89a", 500)
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/media": sequence(answerError(503, "busy", "Busy"), okJSON(map[string]int{"id": 9}))})
	c, _ := newClient(t, f.SiteURL())
	_, err := c.Do(context.Background(), Request{Method: "POST", Path: "wp/v2/media", Idempotent: true,
		RawBody: strings.NewReader(image), ContentType: "image/gif",
		Headers: http.Header{"Content-Disposition": {`attachment; filename="a.gif"`}}})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	for i, r := range f.Requests() {
		if r.Body != image {
			t.Errorf("attempt %d sent %d bytes, want %d", i+1, len(r.Body), len(image))
		}
	}
	if f.Total() != 2 {
		t.Errorf("requests = %d, want 2", f.Total())
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	tests := []struct {
		rand    float64
		attempt int
		want    time.Duration
	}{
		{1, 1, 500 * time.Millisecond},
		{1, 2, time.Second},
		{1, 3, 2 * time.Second},
		{1, 6, 16 * time.Second},
		{1, 7, 20 * time.Second}, // 32s capped at MaxBackoff
		{1, 80, 20 * time.Second},
		{0, 5, 0},
		{0.25, 3, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		c, _ := newClient(t, "https://example.com", func(o *Options) { o.Rand = func() float64 { return tt.rand } })
		if got := c.backoff(tt.attempt); got != tt.want {
			t.Errorf("backoff(attempt %d, rand %v) = %v, want %v", tt.attempt, tt.rand, got, tt.want)
		}
	}
}

func TestGivingUpWhileWaitingReturnsTheSitesError(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": answerError(503, "busy", "Busy")})
	c, _ := newClient(t, f.SiteURL(), func(o *Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error { return context.Canceled }
	})
	resp, err := c.Get(context.Background(), "wp/v2/posts", nil, nil)
	mustCode(t, err, CodeServerError)
	if resp.Attempts != 1 {
		t.Errorf("Attempts = %d, want 1", resp.Attempts)
	}
}

func TestDefaultSleepHonoursTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleepContext(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("sleepContext = %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("sleepContext waited despite a canceled context")
	}
	if err := sleepContext(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("sleepContext = %v", err)
	}
}
