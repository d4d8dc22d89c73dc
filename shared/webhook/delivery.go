package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/siteurl"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/wordpress"
)

// Actions a delivery may carry.
const (
	ActionCreated       = "post_created"
	ActionUpdated       = "post_updated"
	ActionStatusChanged = "post_status_changed"
	ActionTrashed       = "post_trashed"
	ActionDeleted       = "post_deleted"
)

var actions = []string{ActionCreated, ActionUpdated, ActionStatusChanged, ActionTrashed, ActionDeleted}

// Delivery is a webhook body (see the README's webhook section).
type Delivery struct {
	Action        string       `json:"action"`
	PostID        int64        `json:"post_id"`
	PostType      string       `json:"post_type"`
	RESTBase      string       `json:"rest_base"`
	SiteURL       string       `json:"site_url"`
	IntegrationID string       `json:"integration_id"`
	Status        string       `json:"status"`
	ModifiedGMT   string       `json:"modified_gmt"`
	Meta          DeliveryMeta `json:"delivery"`
}

// DeliveryMeta is what the plugin says about the sending itself.
type DeliveryMeta struct {
	Attempt       int    `json:"attempt"`
	Coalesced     int    `json:"coalesced"`
	PluginVersion string `json:"plugin_version"`
	SentAt        int64  `json:"sent_at"`
}

// Field limits.
const (
	maxIDLength     = 64
	maxNameLength   = 64
	maxStatusLength = 32
)

// ParseDelivery decodes and validates a body; a problem names the field.
func ParseDelivery(body []byte) (Delivery, error) {
	var d Delivery
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return d, apperr.Field(apperr.Invalid, te.Field, "%s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return d, apperr.Wrap(err, apperr.MalformedJSON, "The body must be one JSON object")
	}
	if dec.More() {
		return d, apperr.New(apperr.MalformedJSON, "The body must be one JSON object")
	}
	switch {
	case !slices.Contains(actions, d.Action):
		return d, apperr.Field(apperr.Invalid, "action", "action must be one of %s", strings.Join(actions, ", "))
	case d.PostID <= 0:
		return d, apperr.Field(apperr.Invalid, "post_id", "post_id must be a positive integer")
	case d.PostType == "" || len(d.PostType) > maxNameLength || !wordpress.ValidCollection(d.PostType):
		return d, apperr.Field(apperr.Invalid, "post_type", "post_type must be a WordPress post type name")
	case !wordpress.ValidCollection(d.RESTBase) || len(d.RESTBase) > maxNameLength:
		return d, apperr.Field(apperr.Invalid, "rest_base", "rest_base must be the post type's REST base")
	case d.SiteURL == "" || len(d.SiteURL) > siteurl.MaxLength:
		return d, apperr.Field(apperr.Invalid, "site_url", "site_url is required")
	case d.IntegrationID == "" || len(d.IntegrationID) > maxIDLength:
		return d, apperr.Field(apperr.Invalid, "integration_id", "integration_id is required")
	case len(d.Status) > maxStatusLength:
		return d, apperr.Field(apperr.Invalid, "status", "status must be at most %d characters", maxStatusLength)
	case len(d.Meta.PluginVersion) > maxStatusLength:
		return d, apperr.Field(apperr.Invalid, "delivery.plugin_version", "delivery.plugin_version must be at most %d characters", maxStatusLength)
	}
	if d.ModifiedGMT != "" {
		if _, err := time.Parse("2006-01-02T15:04:05", d.ModifiedGMT); err != nil {
			return d, apperr.Field(apperr.Invalid, "modified_gmt", "modified_gmt must be WordPress's GMT format, 2006-01-02T15:04:05")
		}
	}
	return d, nil
}

// Job is the sync job an accepted delivery enqueues: a delete for
// post_deleted, a pull of the one post for everything else (a trashed post
// is pulled too: WordPress still serves it, with status "trash").
func (d Delivery) Job(in store.Integration, deliveryID string, now time.Time) (jobs.Envelope, error) {
	typ := jobs.TypeWebhookPull
	if d.Action == ActionDeleted {
		typ = jobs.TypeWebhookDelete
	}
	raw, err := json.Marshal(jobs.WebhookPayload{DeliveryID: deliveryID, Action: d.Action, PostID: d.PostID,
		PostType: d.PostType, RESTBase: d.RESTBase, Status: d.Status, ModifiedGMT: d.ModifiedGMT})
	if err != nil {
		return jobs.Envelope{}, fmt.Errorf("encode webhook job: %w", err)
	}
	return jobs.Envelope{Type: typ, AccountID: in.AccountID, IntegrationID: in.ID,
		IdempotencyKey: "webhook:" + in.ID + ":" + deliveryID, EnqueuedAt: now.UTC(), Payload: raw}, nil
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "number"
	case "map", "struct":
		return "object"
	}
	return k
}
