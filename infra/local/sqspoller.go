package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsPoller is a local SQS event source mapping: it long-polls a queue and
// invokes a function with events.SQSEvent batches, deleting what the
// function processed.
type sqsPoller struct {
	client         *sqs.Client
	queueURL       string
	queueARN       string
	batchSize      int
	batchingWindow time.Duration
	// pollWait is the long-poll WaitTimeSeconds. Lambda uses 20 s, but the
	// emulator wakes a long poll only when a message is sent, not when a
	// visibility timeout or a delay expires, so locally it is at most the
	// queue's visibility timeout and 5 s.
	pollWait       int32
	reportFailures bool
	concurrency    int
	handler        SyncWorkerHandler
	fn             functionInfo
	inv            *invoker
	logger         *slog.Logger
}

// run starts concurrency pollers and returns when ctx is cancelled and every
// in-flight batch has been handled.
func (p *sqsPoller) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < p.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.loop(ctx)
		}()
	}
	wg.Wait()
}

func (p *sqsPoller) loop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		msgs, err := p.receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.logger.Warn("sqs poller: receive failed", slog.String("queue", p.queueURL), slog.Any("error", err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if len(msgs) == 0 {
			continue
		}
		// The batch is handled to the end even when shutdown starts now:
		// the messages are already invisible to everyone else.
		p.handle(context.WithoutCancel(ctx), msgs)
	}
}

// receive long-polls for up to batchSize messages and, with a batching
// window, keeps collecting until the batch is full or the window closes, as
// Lambda's event source mapping does. Receives are never cancelled on a
// timer (a cancelled receive can strand messages until their visibility
// timeout); only shutdown cancels them.
func (p *sqsPoller) receive(ctx context.Context) ([]sqstypes.Message, error) {
	msgs, err := p.receiveOnce(ctx, min(p.batchSize, 10), p.pollWait)
	if err != nil || len(msgs) == 0 || p.batchingWindow <= 0 {
		return msgs, err
	}
	deadline := time.Now().Add(p.batchingWindow)
	for len(msgs) < p.batchSize {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		more, err := p.receiveOnce(ctx, min(p.batchSize-len(msgs), 10), int32(left/time.Second))
		msgs = append(msgs, more...)
		if err != nil {
			break // keep what we have; shutdown began
		}
		if left < time.Second {
			break // that was the window's last, short poll
		}
	}
	return msgs, nil
}

func (p *sqsPoller) receiveOnce(ctx context.Context, max int, wait int32) ([]sqstypes.Message, error) {
	out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.queueURL),
		MaxNumberOfMessages:         int32(max),
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		//lint:ignore SA1019 the emulator reads only the deprecated field
		AttributeNames:        []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", p.queueURL, err)
	}
	return out.Messages, nil
}

// handle invokes the function with one batch and deletes what succeeded.
func (p *sqsPoller) handle(ctx context.Context, msgs []sqstypes.Message) {
	ev := p.event(msgs)
	resp, inv := invoke(ctx, p.inv, p.fn, "", p.handler, ev)
	toDelete, failed := p.settle(msgs, resp, inv.Err)
	if failed != "" {
		p.logger.Info("sqs poller: batch not deleted", slog.String("function", p.fn.LogicalID), slog.String("reason", failed), slog.Int("messages", len(msgs)))
	}
	if len(toDelete) > 0 {
		deleted, err := p.delete(ctx, toDelete)
		if err != nil {
			p.logger.Error("sqs poller: delete failed", slog.Any("error", err))
		}
		inv.DeletedMessageIDs = deleted
	}
	p.inv.finish(inv)
}

// settle decides which messages to delete, as Lambda does: a function
// error leaves the whole batch; with ReportBatchItemFailures only the
// reported items stay, and an empty or unknown itemIdentifier fails the
// whole batch; without it, a successful invocation deletes everything.
func (p *sqsPoller) settle(msgs []sqstypes.Message, resp events.SQSEventResponse, invErr error) ([]sqstypes.Message, string) {
	if invErr != nil {
		return nil, "function error: " + invErr.Error()
	}
	if !p.reportFailures {
		return msgs, ""
	}
	byID := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		byID[aws.ToString(m.MessageId)] = true
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == "" || !byID[f.ItemIdentifier] {
			return nil, fmt.Sprintf("invalid itemIdentifier %q in batchItemFailures", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	var keep []sqstypes.Message
	for _, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			keep = append(keep, m)
		}
	}
	return keep, ""
}

func (p *sqsPoller) delete(ctx context.Context, msgs []sqstypes.Message) ([]string, error) {
	var deleted []string
	var errs []error
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(chunk))
		ids := map[string]string{}
		for i, m := range chunk {
			id := fmt.Sprint(i)
			ids[id] = aws.ToString(m.MessageId)
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: m.ReceiptHandle}
		}
		out, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("delete batch from %s: %w", p.queueURL, err))
			continue
		}
		for _, s := range out.Successful {
			deleted = append(deleted, ids[aws.ToString(s.Id)])
		}
		for _, f := range out.Failed {
			errs = append(errs, fmt.Errorf("delete message %s: %s %s", ids[aws.ToString(f.Id)], aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return deleted, errors.Join(errs...)
}

// event builds the events.SQSEvent Lambda would deliver for msgs.
func (p *sqsPoller) event(msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			if v != "" {
				attrs[k] = v
			}
		}
		if _, ok := attrs["SenderId"]; !ok {
			attrs["SenderId"] = LocalAccountID
		}
		var mattrs map[string]events.SQSMessageAttribute
		if len(m.MessageAttributes) > 0 {
			mattrs = make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
			for k, v := range m.MessageAttributes {
				mattrs[k] = events.SQSMessageAttribute{
					StringValue: v.StringValue, BinaryValue: v.BinaryValue,
					StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues,
					DataType: aws.ToString(v.DataType),
				}
			}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             attrs,
			MessageAttributes:      mattrs,
			EventSourceARN:         p.queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              LocalRegion,
		})
	}
	return ev
}
