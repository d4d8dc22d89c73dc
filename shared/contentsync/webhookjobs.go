package contentsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/wordpress"
)

// Webhook jobs. The receiver enqueues one per accepted delivery; both types
// run the same way, because WordPress, not the delivery, is the truth: the
// job reads the post as it is now (one request, context=edit) and stores it
// with the page pull's mapping — or, when WordPress answers 404, marks the
// content deleted. That makes a redelivered job a no-op (the fingerprint is
// unchanged) and deliveries that arrive out of order harmless: a job that
// read an older state than the one stored (modified_gmt before the stored
// one) writes nothing. A delete delivery for a post that still exists
// stores the post instead.
//
// Each outcome that changed or refused something writes one `webhook` sync
// event, keyed by the delivery, so running the job twice writes it once.

// Results recorded in a webhook event's metadata.
const (
	webhookCreated   = "created"
	webhookUpdated   = "updated"
	webhookTrashed   = "trashed"
	webhookDeleted   = "deleted"
	webhookStale     = "stale"
	webhookConflict  = "conflict"
	webhookFailed    = "failed"
	webhookUnchanged = "unchanged"
)

// ActionConflictResolved is the action of a pull that resolve_conflict
// (keep: wordpress) queues through the webhook job: its event is a
// content_pull, not a webhook.
const ActionConflictResolved = "conflict_resolved"

// EnqueuePull queues a pull of one content item's WordPress post (the
// webhook worker's job). Nothing is queued for content not in WordPress.
func (e *Engine) EnqueuePull(ctx context.Context, c store.Content) error {
	if c.WordPressID == 0 {
		return nil
	}
	p := jobs.WebhookPayload{DeliveryID: fmt.Sprintf("resolve:%s:v%d", c.ID, c.Version), Action: ActionConflictResolved,
		PostID: c.WordPressID, RESTBase: restBaseOf(c.ContentType)}
	env, err := envelope(jobs.TypeWebhookPull, c.AccountID, c.IntegrationID, p.DeliveryID, p)
	if err != nil {
		return err
	}
	return e.deps.Jobs.Send(ctx, env)
}

// webhookJob is both webhook job types.
func (e *Engine) webhookJob(ctx context.Context, job jobs.Envelope) error {
	p, err := decodePayload[jobs.WebhookPayload](job)
	if err != nil {
		return err
	}
	in, client, err := e.site(ctx, job.AccountID, job.IntegrationID)
	if err != nil {
		return err
	}
	ctx = logging.With(ctx, logging.IntegrationID(in.ID), logging.String("delivery_id", p.DeliveryID))
	if !in.IsActive || !in.SyncEnabled {
		e.deps.Logger.InfoContext(ctx, "webhook job skipped: the integration is inactive or its sync is off")
		return nil
	}
	typ, taxes, err := e.webhookType(ctx, in, client, p)
	if err != nil {
		return err
	}
	contentType := contentTypeOf(typ)
	bases := make([]string, 0, len(taxes))
	for _, t := range taxes {
		bases = append(bases, t.RESTBase)
	}
	var raw json.RawMessage
	q := url.Values{"context": {"edit"}, "_fields": {postFields(bases)}}
	_, err = client.Do(ctx, wordpress.Request{Method: http.MethodGet, Path: "wp/v2/" + typ.RESTBase + "/" + strconv.FormatInt(p.PostID, 10), Query: q, Out: &raw, CacheBust: true})
	if we, ok := wordpress.AsError(err); ok && (we.Status == http.StatusNotFound || we.Status == http.StatusGone) {
		return e.webhookDeleted(ctx, in, job, p, contentType)
	}
	if err != nil {
		return fmt.Errorf("fetch post %d: %w", p.PostID, err)
	}
	post, err := decodePost(raw, bases)
	if err != nil {
		e.webhookEvent(ctx, in, job, p, contentType, "", webhookFailed, err.Error())
		return nil
	}
	if !slices.Contains([]string{"publish", "future", "draft", "pending", "private", "trash"}, post.Status) {
		// auto-draft, inherit and plugin statuses are not content to sync.
		return nil
	}
	images, err := e.resolveMedia(ctx, in, client, []wpPost{post})
	if err != nil {
		return err
	}
	termIDs, err := e.resolvePostTerms(ctx, in, client, taxes, post)
	if err != nil {
		return err
	}
	ids, err := e.deps.Store.ContentIDsByWordPressID(ctx, in.AccountID, in.ID, []int64{post.ID})
	if err != nil {
		return err
	}
	var cur *store.Content
	if id, ok := ids[post.ID]; ok {
		metas, err := e.deps.Store.GetContentMetas(ctx, in.AccountID, []string{id})
		if err != nil {
			return err
		}
		if c, ok := metas[id]; ok {
			cur = &c
		}
	}
	if cur != nil && cur.WPModifiedGMT.After(post.ModifiedGMT.Time) {
		// WordPress answered with an older state than the one stored (a
		// cache, or a replica behind): keep the newer one.
		e.webhookEvent(ctx, in, job, p, contentType, cur.ID, webhookStale, "")
		return nil
	}
	terms := termRefs(post, taxes, termIDs)
	imageID := images[post.FeaturedMedia]
	hash := postHash(post, terms, imageID)
	if cur != nil && cur.WPModifiedGMT.Equal(post.ModifiedGMT.Time) && cur.SyncedHash != hash {
		// Saved again within the second of the stored state (modified_gmt
		// has one-second resolution): the delivery says the post changed,
		// and the fingerprint agrees, so it is a change a page pull could
		// not see.
		seen := *cur
		seen.WPModifiedGMT = time.Time{}
		cur = &seen
	}
	var d progressDelta
	evt, err := e.storePost(ctx, in, contentType, cur, post, terms, imageID, hash, conflictPolicy(in), &d)
	if err != nil {
		return err
	}
	result := webhookUnchanged
	switch {
	case d.ItemsCreated > 0:
		result = webhookCreated
	case d.ItemsUpdated > 0 && post.Status == "trash":
		result = webhookTrashed
	case d.ItemsUpdated > 0:
		result = webhookUpdated
	case d.ItemsConflicted > 0:
		result = webhookConflict
	case d.ItemsFailed > 0:
		result = webhookFailed
	}
	if result == webhookUnchanged {
		return nil
	}
	contentID, msg := "", ""
	if evt != nil {
		contentID, msg = evt.ContentID, evt.ErrorMessage
	}
	e.webhookEvent(ctx, in, job, p, contentType, contentID, result, msg)
	return nil
}

// webhookDeleted marks the content of a post WordPress no longer has.
func (e *Engine) webhookDeleted(ctx context.Context, in store.Integration, job jobs.Envelope, p jobs.WebhookPayload, contentType string) error {
	ids, err := e.deps.Store.ContentIDsByWordPressID(ctx, in.AccountID, in.ID, []int64{p.PostID})
	if err != nil {
		return err
	}
	id, ok := ids[p.PostID]
	if !ok {
		return nil // never pulled: nothing to mark
	}
	metas, err := e.deps.Store.GetContentMetas(ctx, in.AccountID, []string{id})
	if err != nil {
		return err
	}
	cur, ok := metas[id]
	if !ok || cur.Status == store.ContentDeleted {
		return nil
	}
	next := cur
	next.Status = store.ContentDeleted
	next.WordPressStatus = ""
	next.Version = cur.Version
	next.SyncedVersion = cur.Version + 1
	next.PushIntent = ""
	if _, err := e.deps.Store.UpdateReadContent(ctx, cur, next, false); err != nil {
		if errors.Is(err, store.ErrPreconditionFailed) {
			return fmt.Errorf("content %s changed while marking it deleted: %w", id, err) // retried
		}
		return fmt.Errorf("mark content %s deleted: %w", id, err)
	}
	e.webhookEvent(ctx, in, job, p, contentType, id, webhookDeleted, "")
	return nil
}

// webhookType finds the delivery's post type and its taxonomies: from the
// structure the connection test stored (no request), else from WordPress.
func (e *Engine) webhookType(ctx context.Context, in store.Integration, client *wordpress.Client, p jobs.WebhookPayload) (wordpress.PostType, []taxField, error) {
	var st struct {
		PostTypes  []wordpress.PostType `json:"post_types"`
		Taxonomies []wordpress.Taxonomy `json:"taxonomies"`
	}
	if raw, err := json.Marshal(in.Config["structure"]); err == nil {
		_ = json.Unmarshal(raw, &st)
	}
	find := func(types []wordpress.PostType) (wordpress.PostType, bool) {
		for _, t := range types {
			if t.RESTBase == p.RESTBase && (p.PostType == "" || t.Slug == p.PostType) {
				return t, true
			}
		}
		return wordpress.PostType{}, false
	}
	if t, ok := find(st.PostTypes); ok {
		return t, taxFields(st.Taxonomies, t), nil
	}
	types, err := client.Types(ctx)
	if err != nil {
		return wordpress.PostType{}, nil, err
	}
	t, ok := find(types)
	if !ok {
		// Not a type the REST API shows: fall back to what the delivery
		// says, without terms.
		return wordpress.PostType{Slug: p.PostType, RESTBase: p.RESTBase}, nil, nil
	}
	taxes, err := client.Taxonomies(ctx)
	if err != nil {
		return wordpress.PostType{}, nil, err
	}
	return t, taxFields(taxes, t), nil
}

// resolvePostTerms maps the post's terms, first pulling any term the store
// does not know yet (one request per taxonomy with new terms): a post
// created with a new category must arrive with it.
func (e *Engine) resolvePostTerms(ctx context.Context, in store.Integration, client *wordpress.Client, taxes []taxField, post wpPost) (map[string]map[int64]string, error) {
	known, err := e.resolveTerms(ctx, in, taxes, []wpPost{post})
	if err != nil {
		return nil, err
	}
	pulled := false
	for _, t := range taxes {
		var missing []int64
		for _, id := range post.Terms[t.RESTBase] {
			if _, ok := known[t.Slug][id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			continue
		}
		var raw []struct {
			ID     int64  `json:"id"`
			Name   string `json:"name"`
			Slug   string `json:"slug"`
			Parent int64  `json:"parent"`
		}
		q := url.Values{"include": {joinIDs(missing)}, "per_page": {strconv.Itoa(perPage)}, "context": {"edit"}, "_fields": {"id,name,slug,parent"}}
		if _, err := client.Get(ctx, "wp/v2/"+t.RESTBase, q, &raw); err != nil {
			return nil, fmt.Errorf("pull new %s terms: %w", t.Slug, err)
		}
		terms := make([]store.Term, 0, len(raw))
		for _, r := range raw {
			terms = append(terms, store.Term{AccountID: in.AccountID, SiteID: in.SiteID, Taxonomy: t.Slug,
				Name: r.Name, Slug: r.Slug, WordPressID: r.ID, ParentWordPressID: r.Parent})
		}
		if _, _, _, err := e.deps.Store.UpsertTermsFromWordPress(ctx, in.AccountID, in.SiteID, terms); err != nil {
			return nil, err
		}
		pulled = true
	}
	if !pulled {
		return known, nil
	}
	return e.resolveTerms(ctx, in, taxes, []wpPost{post})
}

// webhookEvent writes the delivery's sync event. Its ID and time come from
// the delivery, so a job that runs twice writes one event.
func (e *Engine) webhookEvent(ctx context.Context, in store.Integration, job jobs.Envelope, p jobs.WebhookPayload, contentType, contentID, result, msg string) {
	sum := sha256.Sum256([]byte(job.IdempotencyKey))
	at := job.EnqueuedAt
	if at.IsZero() {
		at = e.deps.Now()
	}
	status := EventSuccess
	if result == webhookFailed || result == webhookConflict {
		status = EventFailed
	}
	meta := map[string]any{"action": p.Action, "result": result, "delivery_id": p.DeliveryID}
	if p.ModifiedGMT != "" {
		meta["delivery_modified_gmt"] = p.ModifiedGMT
	}
	eventType := EventWebhook
	if p.Action == ActionConflictResolved {
		eventType = EventContentPull
	}
	e.event(ctx, in, store.SyncEvent{ID: "wh-" + hex.EncodeToString(sum[:12]), CreatedAt: at.UTC().Truncate(time.Microsecond),
		EventType: eventType, Direction: DirectionWPToIGNY8, ContentType: contentType, ContentID: contentID,
		ExternalID: p.PostID, Status: status, ErrorMessage: msg, Metadata: meta})
}
