// Package publisher is the scheduled publisher's Lambda handler, invoked by
// an EventBridge schedule. It finds sites whose publish window is open and
// enqueues their push jobs, and starts scheduled syncs. At this stage it only
// records that it ran; the publishing issue fills it in.
package publisher

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// Deps are the publisher's dependencies.
type Deps struct {
	Logger *slog.Logger
}

// NewHandler returns the Lambda handler for scheduled events.
func NewHandler(d Deps) func(context.Context, events.EventBridgeEvent) error {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		d.Logger.InfoContext(ctx, "publisher tick", slog.String("event_id", ev.ID), slog.Time("scheduled_time", ev.Time))
		return nil
	}
}
