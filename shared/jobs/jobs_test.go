package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/igny8/integrations/shared/testutil"
)

func TestEnvelopeValidation(t *testing.T) {
	tests := []struct {
		name    string
		env     Envelope
		wantErr string
	}{
		{"valid", Envelope{Type: TypeNoop, IdempotencyKey: "k"}, ""},
		{"missing type", Envelope{IdempotencyKey: "k"}, "type is empty"},
		{"missing key", Envelope{Type: TypeNoop}, "idempotency_key is empty"},
		{"long key", Envelope{Type: TypeNoop, IdempotencyKey: strings.Repeat("k", 513)}, "longer than 512"},
		{"too large", Envelope{Type: TypeNoop, IdempotencyKey: "k", Payload: []byte(`"` + strings.Repeat("x", MaxBodyBytes) + `"`)}, "over the SQS limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := Encode(tt.env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := Decode(body)
				if err != nil || got.Type != tt.env.Type || got.IdempotencyKey != tt.env.IdempotencyKey {
					t.Fatalf("Decode(Encode(x)) = %+v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Encode err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Decode(`{"type":"noop"}`); err == nil {
		t.Fatal("Decode accepted an envelope without idempotency key")
	}
	if _, err := Decode(`not json`); err == nil {
		t.Fatal("Decode accepted a non-JSON body")
	}
}

func TestSplitBatches(t *testing.T) {
	small := make([]string, 25)
	for i := range small {
		small[i] = "x"
	}
	if got := sizes(splitBatches(small)); fmt.Sprint(got) != "[10 10 5]" {
		t.Fatalf("25 small bodies split into %v, want [10 10 5]", got)
	}
	big := []string{strings.Repeat("a", 100_000), strings.Repeat("b", 100_000), strings.Repeat("c", 100_000)}
	if got := sizes(splitBatches(big)); fmt.Sprint(got) != "[2 1]" {
		t.Fatalf("3×100 KB bodies split into %v, want [2 1] (256 KB per batch)", got)
	}
}

func sizes(b [][]batchEntry) []int {
	var out []int
	for _, x := range b {
		out = append(out, len(x))
	}
	return out
}

// faultyAPI passes calls to the real queue but reports chosen entries as
// failed on their first attempt, as SQS does under throttling.
type faultyAPI struct {
	SQSAPI
	calls       atomic.Int64
	failOnce    map[string]bool // entry IDs to fail on first sight
	senderFault bool
}

func (f *faultyAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, o ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls.Add(1)
	var pass []sqstypes.SendMessageBatchRequestEntry
	var failed []sqstypes.BatchResultErrorEntry
	for _, e := range in.Entries {
		if f.failOnce[aws.ToString(e.Id)] {
			if !f.senderFault {
				delete(f.failOnce, aws.ToString(e.Id))
			}
			failed = append(failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("injected"), SenderFault: f.senderFault})
			continue
		}
		pass = append(pass, e)
	}
	out := &sqs.SendMessageBatchOutput{Failed: failed}
	if len(pass) > 0 {
		res, err := f.SQSAPI.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: in.QueueUrl, Entries: pass}, o...)
		if err != nil {
			return nil, err
		}
		out.Successful = res.Successful
		out.Failed = append(out.Failed, res.Failed...)
	}
	return out, nil
}

func newQueue(t *testing.T) (*sqs.Client, string) {
	t.Helper()
	c := testutil.MustClients(t).SQS
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(testutil.UniqueName(t, "jobs"))})
	if err != nil {
		t.Fatal(err)
	}
	return c, aws.ToString(out.QueueUrl)
}

func drain(t *testing.T, c *sqs.Client, url string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for empty := 0; empty < 2; {
		out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range out.Messages {
			env, err := Decode(aws.ToString(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			seen[env.IdempotencyKey]++
		}
	}
	return seen
}

func envelopes(n int) []Envelope {
	out := make([]Envelope, n)
	for i := range out {
		out[i] = Envelope{Type: TypeNoop, IntegrationID: "int-1", IdempotencyKey: fmt.Sprintf("job-%02d", i)}
	}
	return out
}

func TestSenderBatchesAndRetriesFailedEntries(t *testing.T) {
	c, url := newQueue(t)
	api := &faultyAPI{SQSAPI: c, failOnce: map[string]bool{"3": true, "17": true}}
	s := NewSender(api, url)
	s.Backoff = time.Millisecond

	if err := s.Send(context.Background(), envelopes(25)...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// 3 batches, plus one retry call for each batch that had a failed entry.
	if got := api.calls.Load(); got != 5 {
		t.Fatalf("SendMessageBatch calls = %d, want 5 (3 batches + 2 retries)", got)
	}
	seen := drain(t, c, url)
	if len(seen) != 25 {
		t.Fatalf("queue holds %d distinct jobs, want 25", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("job %s enqueued %d times, want once", k, n)
		}
	}
}

func TestSenderReportsSenderFaultsWithoutRetrying(t *testing.T) {
	c, url := newQueue(t)
	api := &faultyAPI{SQSAPI: c, failOnce: map[string]bool{"1": true}, senderFault: true}
	s := NewSender(api, url)
	s.Backoff = time.Millisecond

	err := s.Send(context.Background(), envelopes(3)...)
	var se *SendError
	if !errors.As(err, &se) || len(se.Failed) != 1 || se.Failed[0].Index != 1 {
		t.Fatalf("Send err = %v, want a SendError naming job 1 only", err)
	}
	if got := api.calls.Load(); got != 1 {
		t.Fatalf("SendMessageBatch calls = %d, want 1: sender faults are not retried", got)
	}
	if seen := drain(t, c, url); len(seen) != 2 {
		t.Fatalf("queue holds %d jobs, want the 2 valid ones", len(seen))
	}
}
