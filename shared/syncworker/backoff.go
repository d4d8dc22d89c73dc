package syncworker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// RetryLater is a temporary failure that says when to try again (a
// WordPress 429 or 503 with Retry-After). The worker holds the message back
// that long instead of letting SQS redeliver it at the queue's visibility
// timeout.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string { return fmt.Sprintf("retry after %s: %v", e.After, e.Err) }
func (e *RetryLater) Unwrap() error { return e.Err }

// Visibility is the part of the SQS client the worker uses to back off.
type Visibility interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Backoff bounds (the base is Deps.BackoffBase, SYNC_RETRY_BASE_DELAY).
const (
	backoffMax = 15 * time.Minute
	// maxVisibility is SQS's limit on a message's visibility timeout.
	maxVisibility = 12 * time.Hour
)

// retryDelay is how long a failed message waits: the failure's own
// Retry-After, else exponential backoff on the receive count with full
// jitter, so a struggling site is not hammered by synchronised retries.
func retryDelay(err error, receiveCount int, base time.Duration, jitter func() float64) time.Duration {
	var later *RetryLater
	if errors.As(err, &later) && later.After > 0 {
		return min(later.After, maxVisibility)
	}
	d := base << min(max(receiveCount-1, 0), 10)
	d = min(d, backoffMax)
	return time.Duration(float64(d)*jitter()) + time.Second
}

// backOff holds a failed message back for its retry delay.
func (d Deps) backOff(ctx context.Context, msg events.SQSMessage, err error) error {
	if d.Visibility == nil || d.QueueURL == "" || msg.ReceiptHandle == "" {
		return nil
	}
	n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	delay := retryDelay(err, n, d.BackoffBase, rand.Float64)
	_, cerr := d.Visibility.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(d.QueueURL), ReceiptHandle: aws.String(msg.ReceiptHandle),
		VisibilityTimeout: int32(delay / time.Second),
	})
	return cerr
}
