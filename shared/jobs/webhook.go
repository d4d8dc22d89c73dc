package jobs

// Webhook job types: the receiver enqueues one per accepted delivery and
// the sync engine runs them. They live here, not in the sync engine, so
// the receiver does not depend on the engine.
const (
	// TypeWebhookPull fetches one post from WordPress and stores it
	// (created, updated, status changed and trashed deliveries).
	TypeWebhookPull Type = "webhook.pull_one"
	// TypeWebhookDelete marks the content of a post deleted in WordPress.
	TypeWebhookDelete Type = "webhook.delete"
)

// WebhookPayload is the payload of both webhook job types: what the
// delivery said, for the worker to act on and record.
type WebhookPayload struct {
	// DeliveryID is the delivery's webhook-id.
	DeliveryID string `json:"delivery_id"`
	Action     string `json:"action"`
	PostID     int64  `json:"post_id"`
	PostType   string `json:"post_type"`
	RESTBase   string `json:"rest_base"`
	Status     string `json:"status,omitempty"`
	// ModifiedGMT is the post's post_modified_gmt as the plugin saw it
	// ("2006-01-02T15:04:05", GMT), empty when unknown.
	ModifiedGMT string `json:"modified_gmt,omitempty"`
}
