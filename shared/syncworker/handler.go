// Package syncworker is the SQS-triggered sync worker's Lambda handler: it
// decodes each message's job envelope, runs the job, and reports the
// messages that failed as partial batch failures so that SQS redelivers only
// those (the event source mapping uses ReportBatchItemFailures).
package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
)

// Runner runs one job. The sync engine registers one per job type.
type Runner func(ctx context.Context, job jobs.Envelope, msg events.SQSMessage) error

// Deps are the worker's dependencies.
type Deps struct {
	Logger *slog.Logger
	// Runners maps job types to their implementation. Types without a
	// runner fail permanently (logged, not retried).
	Runners map[jobs.Type]Runner
	// Visibility and QueueURL let the worker back a failed message off
	// (Retry-After, or exponential with jitter); without them SQS
	// redelivers at the queue's visibility timeout.
	Visibility Visibility
	QueueURL   string
	// BackoffBase is the first retry's delay before jitter; it doubles per
	// receive up to 15 minutes.
	BackoffBase time.Duration
	// AfterBatch, when set, runs once every job of a batch has ended and
	// before the handler returns: Lambda may freeze the environment then,
	// so whatever must not wait for the next invocation happens here.
	AfterBatch func(context.Context)
}

// ErrPermanent marks a job failure that retrying cannot fix. The message is
// deleted (reported as success) after logging, instead of cycling to the DLQ.
var ErrPermanent = errors.New("permanent job failure")

// DefaultRunners are the job types every deployment understands.
func DefaultRunners() map[jobs.Type]Runner {
	return map[jobs.Type]Runner{
		jobs.TypeNoop: func(context.Context, jobs.Envelope, events.SQSMessage) error { return nil },
		jobs.TypeFail: func(context.Context, jobs.Envelope, events.SQSMessage) error {
			return errors.New("test.fail jobs always fail")
		},
	}
}

// NewHandler returns the Lambda handler for SQS batches.
func NewHandler(d Deps) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		// A batch's jobs are independent (each one is idempotent and any
		// ordering is allowed by SQS), so they run together: a batch of ten
		// page pulls takes one page's time, not ten. The per-site lease
		// still bounds what reaches one WordPress.
		failed := make([]bool, len(ev.Records))
		var wg sync.WaitGroup
		for i, msg := range ev.Records {
			wg.Add(1)
			go func() {
				defer wg.Done()
				failed[i] = runOne(ctx, d, msg) != nil
			}()
		}
		wg.Wait()
		if d.AfterBatch != nil {
			d.AfterBatch(ctx)
		}
		var resp events.SQSEventResponse
		for i, msg := range ev.Records {
			if failed[i] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
			}
		}
		return resp, nil
	}
}

func runOne(ctx context.Context, d Deps, msg events.SQSMessage) (err error) {
	job, err := jobs.Decode(msg.Body)
	if err != nil {
		// A body we cannot read will never become readable: drop it loudly.
		d.Logger.ErrorContext(ctx, "dropping undecodable sync message", slog.String("message_id", msg.MessageId), logging.Err(err))
		return nil
	}
	ctx = logging.With(ctx,
		slog.String("message_id", msg.MessageId),
		slog.String("job_type", string(job.Type)),
		slog.String("idempotency_key", job.IdempotencyKey),
		logging.IntegrationID(job.IntegrationID),
	)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job panicked: %v", r)
			d.Logger.ErrorContext(ctx, "sync job panicked", logging.Err(err))
		}
	}()
	run, ok := d.Runners[job.Type]
	if !ok {
		d.Logger.ErrorContext(ctx, "dropping sync job of unknown type")
		return nil
	}
	if err := run(ctx, job, msg); err != nil {
		if errors.Is(err, ErrPermanent) {
			d.Logger.ErrorContext(ctx, "sync job failed permanently", logging.Err(err))
			return nil
		}
		d.Logger.WarnContext(ctx, "sync job failed; SQS will redeliver", logging.Err(err),
			slog.String("receive_count", msg.Attributes["ApproximateReceiveCount"]))
		if berr := d.backOff(ctx, msg, err); berr != nil {
			d.Logger.WarnContext(ctx, "could not delay the retry", logging.Err(berr))
		}
		return err
	}
	d.Logger.DebugContext(ctx, "sync job done")
	return nil
}
