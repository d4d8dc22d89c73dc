// Package publisher is the scheduled publisher's Lambda handler, invoked by
// an EventBridge schedule (every 5 minutes by default). Each tick publishes
// the approved content of the sites whose window is open and whose limits
// allow (shared/publishing), and starts the scheduled syncs that are due
// (shared/contentsync). Both read due-time indexes, never scan, and are
// safe to run late, twice or concurrently.
package publisher

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/publishing"
)

// Publisher publishes due sites' approved content (*publishing.Service).
type Publisher interface {
	Publish(ctx context.Context, now time.Time) (publishing.RunStats, error)
}

// Syncs starts due scheduled syncs (*contentsync.Engine).
type Syncs interface {
	StartDueSyncs(ctx context.Context, now time.Time) (int, error)
}

// Deps are the publisher's dependencies.
type Deps struct {
	Logger    *slog.Logger
	Publisher Publisher
	Syncs     Syncs
	// Now is the clock; nil means time.Now. The run uses the clock, not
	// the event's scheduled time: a late or retried delivery acts on the
	// present.
	Now func() time.Time
}

// NewHandler returns the Lambda handler for scheduled events. An error
// (DynamoDB or SQS unavailable) fails the invocation, so Scheduler retries
// it; sites that failed alone are logged and retried by the next tick.
func NewHandler(d Deps) func(context.Context, events.EventBridgeEvent) error {
	if d.Now == nil {
		d.Now = time.Now
	}
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		now := d.Now().UTC()
		stats, perr := d.Publisher.Publish(ctx, now)
		started, serr := d.Syncs.StartDueSyncs(ctx, now)
		d.Logger.InfoContext(ctx, "publisher tick", slog.String("event_id", ev.ID), slog.Time("scheduled_time", ev.Time),
			slog.Int("sites_due", stats.SitesDue), slog.Int("published", stats.Published), slog.Int("recovered", stats.Recovered),
			slog.Int("dropped", stats.Dropped), slog.Int("sites_failed", stats.Failed), slog.Int("syncs_started", started))
		return errors.Join(perr, serr)
	}
}
