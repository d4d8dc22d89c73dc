package syncworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/jobs"
)

func message(t *testing.T, id string, typ jobs.Type) events.SQSMessage {
	t.Helper()
	body, err := jobs.Encode(jobs.Envelope{Type: typ, IdempotencyKey: "key-" + id})
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: body, Attributes: map[string]string{"ApproximateReceiveCount": "1"}}
}

func TestHandlerReportsOnlyRetryableFailures(t *testing.T) {
	var (
		mu  sync.Mutex
		ran []string
	)
	runners := map[jobs.Type]Runner{
		"ok": func(_ context.Context, j jobs.Envelope, _ events.SQSMessage) error {
			mu.Lock()
			defer mu.Unlock()
			ran = append(ran, j.IdempotencyKey)
			return nil
		},
		"transient": func(context.Context, jobs.Envelope, events.SQSMessage) error {
			return errors.New("WordPress answered 503")
		},
		"permanent": func(context.Context, jobs.Envelope, events.SQSMessage) error {
			return fmt.Errorf("rest_cannot_create: %w", ErrPermanent)
		},
		"panics": func(context.Context, jobs.Envelope, events.SQSMessage) error { panic("boom") },
	}
	h := NewHandler(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Runners: runners})
	batch := events.SQSEvent{Records: []events.SQSMessage{
		message(t, "m1", "ok"),
		message(t, "m2", "transient"),
		message(t, "m3", "permanent"),
		message(t, "m4", "panics"),
		message(t, "m5", "unknown-type"),
		{MessageId: "m6", Body: "not an envelope"},
		message(t, "m7", "ok"),
	}}
	resp, err := h(context.Background(), batch)
	if err != nil {
		t.Fatalf("handler error fails the whole batch; got %v", err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	// Only transient failures and panics are retried; permanent failures,
	// unknown types and unreadable bodies are dropped after logging.
	if fmt.Sprint(failed) != "[m2 m4]" {
		t.Fatalf("batch item failures = %v, want [m2 m4]", failed)
	}
	slices.Sort(ran) // a batch's jobs run concurrently
	if fmt.Sprint(ran) != "[key-m1 key-m7]" {
		t.Fatalf("ran %v, want both ok jobs despite failures between them", ran)
	}
}

func TestDefaultRunners(t *testing.T) {
	h := NewHandler(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Runners: DefaultRunners()})
	resp, _ := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{message(t, "a", jobs.TypeNoop), message(t, "b", jobs.TypeFail)}})
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "b" {
		t.Fatalf("failures = %+v, want only the test.fail job", resp.BatchItemFailures)
	}
}

func TestRetryDelay(t *testing.T) {
	half := func() float64 { return 0.5 }
	tests := []struct {
		name    string
		err     error
		receive int
		want    time.Duration
	}{
		{"Retry-After wins", &RetryLater{After: 90 * time.Second, Err: errors.New("429")}, 1, 90 * time.Second},
		{"Retry-After capped at SQS's limit", &RetryLater{After: 48 * time.Hour}, 1, 12 * time.Hour},
		{"first failure", errors.New("503"), 1, 2500*time.Millisecond + time.Second},
		{"third failure doubles twice", errors.New("503"), 3, 10*time.Second + time.Second},
		{"capped", errors.New("503"), 30, 450*time.Second + time.Second},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.err, tt.receive, 5*time.Second, half); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestBatchJobsRunTogether(t *testing.T) {
	// Ten jobs that each wait for all ten to start can only finish if the
	// handler runs them concurrently.
	var started sync.WaitGroup
	started.Add(10)
	runners := map[jobs.Type]Runner{"wait": func(ctx context.Context, _ jobs.Envelope, _ events.SQSMessage) error {
		started.Done()
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("the other jobs of the batch never started")
		}
	}}
	h := NewHandler(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Runners: runners})
	var batch events.SQSEvent
	for i := range 10 {
		batch.Records = append(batch.Records, message(t, fmt.Sprint("m", i), "wait"))
	}
	resp, _ := h(context.Background(), batch)
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v: the batch ran one job at a time", resp.BatchItemFailures)
	}
}

func TestAfterBatchRunsOnceEveryJobHasEnded(t *testing.T) {
	var (
		mu      sync.Mutex
		ended   int
		atAfter []int
	)
	runners := map[jobs.Type]Runner{"job": func(context.Context, jobs.Envelope, events.SQSMessage) error {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		ended++
		mu.Unlock()
		return nil
	}}
	h := NewHandler(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Runners: runners,
		AfterBatch: func(context.Context) {
			mu.Lock()
			atAfter = append(atAfter, ended)
			mu.Unlock()
		}})
	var batch events.SQSEvent
	for i := range 3 {
		batch.Records = append(batch.Records, message(t, fmt.Sprint("m", i), "job"))
	}
	if _, err := h(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(atAfter, []int{3}) {
		t.Fatalf("AfterBatch ran %d times, after %v jobs had ended; want once, after all 3", len(atAfter), atAfter)
	}
}
