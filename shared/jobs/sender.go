package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client the sender uses.
type SQSAPI interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// SQS batch limits.
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 * 1024
	maxDelay        = 15 * time.Minute
)

// Sender puts envelopes on the sync queue with SendMessageBatch, ten at a
// time, and retries the entries SQS reports as failed.
type Sender struct {
	api      SQSAPI
	queueURL string
	// Attempts is how many times a failed entry is tried in all (default 4).
	Attempts int
	// Backoff is the base delay between attempts, doubled each time with
	// full jitter (default 50 ms).
	Backoff time.Duration
	sleep   func(context.Context, time.Duration) error
}

// NewSender returns a sender for one queue.
func NewSender(api SQSAPI, queueURL string) *Sender {
	return &Sender{api: api, queueURL: queueURL, Attempts: 4, Backoff: 50 * time.Millisecond, sleep: sleepCtx}
}

// Send enqueues the envelopes. It returns nil only when every envelope was
// accepted; otherwise a *SendError lists the ones that were not, so a
// caller can fail its own unit of work and let it be retried whole. Sending
// twice is safe: consumers de-duplicate by idempotency key.
func (s *Sender) Send(ctx context.Context, envs ...Envelope) error {
	return s.SendDelayed(ctx, 0, envs...)
}

// SendDelayed is Send with an SQS delivery delay (at most 15 minutes).
func (s *Sender) SendDelayed(ctx context.Context, delay time.Duration, envs ...Envelope) error {
	if delay < 0 || delay > maxDelay {
		return fmt.Errorf("delay %s outside SQS's 0–15 min range", delay)
	}
	bodies := make([]string, len(envs))
	for i, e := range envs {
		if e.EnqueuedAt.IsZero() {
			e.EnqueuedAt = time.Now().UTC()
		}
		b, err := Encode(e)
		if err != nil {
			return fmt.Errorf("job %d (%s): %w", i, e.Type, err)
		}
		bodies[i] = b
	}
	var failed []FailedEntry
	for _, batch := range splitBatches(bodies) {
		failed = append(failed, s.sendBatch(ctx, batch, delay)...)
	}
	if len(failed) > 0 {
		return &SendError{Failed: failed, Total: len(envs)}
	}
	return nil
}

// batchEntry is one message body and its index in the caller's slice.
type batchEntry struct {
	index int
	body  string
}

// splitBatches groups bodies into batches within SQS's entry and byte limits.
func splitBatches(bodies []string) [][]batchEntry {
	var out [][]batchEntry
	var cur []batchEntry
	size := 0
	for i, b := range bodies {
		if len(cur) == maxBatchEntries || (len(cur) > 0 && size+len(b) > maxBatchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, batchEntry{index: i, body: b})
		size += len(b)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (s *Sender) sendBatch(ctx context.Context, pending []batchEntry, delay time.Duration) []FailedEntry {
	var permanent []FailedEntry
	var lastErr error
	for attempt := 1; len(pending) > 0 && attempt <= s.Attempts; attempt++ {
		if attempt > 1 {
			backoff := s.Backoff << (attempt - 2)
			if err := s.sleep(ctx, time.Duration(rand.Int64N(int64(backoff)+1))); err != nil {
				lastErr = err
				break
			}
		}
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.queueURL)}
		for _, e := range pending {
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{
				Id:           aws.String(strconv.Itoa(e.index)),
				MessageBody:  aws.String(e.body),
				DelaySeconds: int32(delay / time.Second),
			})
		}
		out, err := s.api.SendMessageBatch(ctx, in)
		if err != nil {
			// The whole call failed (throttling, network): retry every entry.
			lastErr = err
			continue
		}
		byID := map[string]batchEntry{}
		for _, e := range pending {
			byID[strconv.Itoa(e.index)] = e
		}
		var retry []batchEntry
		for _, f := range out.Failed {
			e, ok := byID[aws.ToString(f.Id)]
			if !ok {
				continue
			}
			reason := fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			if f.SenderFault {
				permanent = append(permanent, FailedEntry{Index: e.index, Err: reason})
				continue
			}
			lastErr = reason
			retry = append(retry, e)
		}
		pending = retry
	}
	for _, e := range pending {
		permanent = append(permanent, FailedEntry{Index: e.index, Err: fmt.Errorf("gave up after %d attempts: %w", s.Attempts, lastErr)})
	}
	return permanent
}

// FailedEntry is an envelope SQS did not accept.
type FailedEntry struct {
	Index int // position in the slice given to Send
	Err   error
}

// SendError reports the envelopes that were not enqueued.
type SendError struct {
	Failed []FailedEntry
	Total  int
}

func (e *SendError) Error() string {
	errs := make([]error, 0, len(e.Failed))
	for _, f := range e.Failed {
		errs = append(errs, fmt.Errorf("job %d: %w", f.Index, f.Err))
	}
	return fmt.Sprintf("%d of %d jobs not enqueued: %v", len(e.Failed), e.Total, errors.Join(errs...))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
