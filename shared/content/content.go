// Package content is the domain service for IGNY8's content items: drafts
// and edits, approval, "Publish to WordPress" (which queues a push) and
// the resolution of sync conflicts. Pulled content arrives through the sync
// engine; this package is what people (through the API) do to content.
package content

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/wordpress"
)

// Pusher queues the sync jobs of one content item: its push to WordPress,
// or a pull of its WordPress post.
type Pusher interface {
	EnqueuePush(ctx context.Context, c store.Content, runID string) error
	EnqueuePull(ctx context.Context, c store.Content) error
}

// Service implements the content use cases.
type Service struct {
	store *store.Store
	push  Pusher
	now   func() time.Time
	// logger and eventRetention serve auto-approval (see AutoApprove).
	logger         *slog.Logger
	eventRetention time.Duration
}

// New returns the service.
func New(st *store.Store, push Pusher) *Service {
	return &Service{store: st, push: push, now: time.Now, logger: slog.New(slog.DiscardHandler)}
}

// WithAutoApproval makes the store call AutoApprove after every content
// write, whoever writes (the API or a pull), and returns s. Auto-approval
// events are kept for eventRetention; failures are logged to logger.
func (s *Service) WithAutoApproval(logger *slog.Logger, eventRetention time.Duration) *Service {
	if logger != nil {
		s.logger = logger
	}
	if eventRetention <= 0 {
		eventRetention = 30 * 24 * time.Hour
	}
	s.eventRetention = eventRetention
	s.store.OnContentWrite(s.AutoApprove)
	return s
}

// Input is the caller's part of a content item (create, PUT and PATCH; nil
// fields are unchanged on PATCH).
type Input struct {
	SiteID          *string
	ContentType     *string
	Title           *string
	Body            *string
	Excerpt         *string
	Slug            *string
	Status          *string
	Terms           *[]store.TermRef
	FeaturedImageID *string
}

// editableStatuses are the statuses a caller may set directly; approval,
// publication and trashing happen through their own actions and the sync.
var editableStatuses = map[string]bool{store.ContentDraft: true, store.ContentReview: true}

// Create stores a new draft for a site that has a WordPress integration.
func (s *Service) Create(ctx context.Context, accountID string, in Input) (store.Content, error) {
	if in.SiteID == nil || strings.TrimSpace(*in.SiteID) == "" {
		return store.Content{}, apperr.Field(apperr.Invalid, "site_id", "site_id is required")
	}
	integ, err := s.siteIntegration(ctx, accountID, *in.SiteID)
	if err != nil {
		return store.Content{}, err
	}
	c := store.Content{AccountID: accountID, SiteID: integ.SiteID, IntegrationID: integ.ID, ContentType: "post", Status: store.ContentDraft}
	if err := s.apply(ctx, &c, in); err != nil {
		return store.Content{}, err
	}
	if c.Title == "" {
		return store.Content{}, apperr.Field(apperr.Invalid, "title", "title is required")
	}
	created, err := s.store.CreateContent(ctx, c)
	return created, storeError(err)
}

// Get returns one content item with its body.
func (s *Service) Get(ctx context.Context, accountID, id string) (store.Content, error) {
	c, err := s.store.GetContent(ctx, accountID, id)
	return c, storeError(err)
}

// List lists a site's content, newest first.
func (s *Service) List(ctx context.Context, accountID string, f store.ContentFilter, p store.PageRequest) (store.Page[store.Content], error) {
	if f.SiteID == "" {
		return store.Page[store.Content]{}, apperr.Field(apperr.Invalid, "site_id", "site_id is required")
	}
	page, err := s.store.ListContent(ctx, accountID, f, p)
	return page, storeError(err)
}

// Update applies an edit under optimistic locking (version 0: any).
func (s *Service) Update(ctx context.Context, accountID, id string, version int64, in Input) (store.Content, error) {
	c, err := s.store.GetContent(ctx, accountID, id)
	if err != nil {
		return store.Content{}, storeError(err)
	}
	if version != 0 && version != c.Version {
		return store.Content{}, storeError(fmt.Errorf("content %s: %w", id, store.ErrPreconditionFailed))
	}
	if in.SiteID != nil && *in.SiteID != c.SiteID {
		return store.Content{}, apperr.Field(apperr.Invalid, "site_id", "content cannot move to another site")
	}
	oldBody := c.Body
	if err := s.apply(ctx, &c, in); err != nil {
		return store.Content{}, err
	}
	saved, err := s.store.UpdateContent(ctx, c, c.Body != oldBody)
	return saved, storeError(err)
}

// Approve marks content approved and puts it in its site's approved queue
// (ordered by approved_at), where the publisher finds it when the site's
// auto-publish is on. Approving approved content changes nothing: it keeps
// its approved_at and its place in the queue.
func (s *Service) Approve(ctx context.Context, accountID, id string, version int64) (store.Content, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.store.GetContent(ctx, accountID, id)
		if err != nil {
			return store.Content{}, storeError(err)
		}
		if version != 0 && version != c.Version {
			return store.Content{}, storeError(fmt.Errorf("content %s: %w", id, store.ErrPreconditionFailed))
		}
		switch c.Status {
		case store.ContentDraft, store.ContentReview:
		case store.ContentApproved:
			return c, nil
		default:
			return store.Content{}, apperr.New(apperr.Conflict, "Content that is %s cannot be approved", c.Status)
		}
		saved, err := s.approve(ctx, c)
		retry := errors.Is(err, store.ErrPublishSettingsChanged) || (version == 0 && errors.Is(err, store.ErrPreconditionFailed))
		if retry && attempt < 3 {
			continue
		}
		return saved, storeError(err)
	}
}

// approve records the approval of c (as read) with the site's current
// auto-publish setting.
func (s *Service) approve(ctx context.Context, c store.Content) (store.Content, error) {
	ps, _, err := s.store.GetPublishSettings(ctx, c.AccountID, c.SiteID)
	if err != nil {
		return store.Content{}, err
	}
	now := s.now().UTC()
	c.Status, c.ApprovedAt = store.ContentApproved, &now
	return s.store.ApproveContent(ctx, c, ps.AutoPublishEnabled)
}

// EventContentApproved is the sync event recorded when auto-approval
// approves content.
const EventContentApproved = "content_approved"

// AutoApprove approves content that has just entered review (created or
// changed by the API or a pull) when its site has auto_approval_enabled,
// records a content_approved event, and returns the content as it now is.
// A failure leaves the content in review and is logged: the write that
// triggered it has succeeded.
func (s *Service) AutoApprove(ctx context.Context, before *store.Content, after store.Content) store.Content {
	if after.Status != store.ContentReview || (before != nil && before.Status == store.ContentReview) {
		return after
	}
	ctx = logging.With(ctx, logging.String("content_id", after.ID))
	for attempt := 0; ; attempt++ {
		ps, found, err := s.store.GetPublishSettings(ctx, after.AccountID, after.SiteID)
		if err != nil {
			s.logger.WarnContext(ctx, "auto-approval: could not read publishing settings", logging.Err(err))
			return after
		}
		if !found || !ps.AutoApprovalEnabled {
			return after
		}
		c := after
		now := s.now().UTC()
		c.Status, c.ApprovedAt = store.ContentApproved, &now
		if c.SyncedVersion == c.Version {
			// In step with WordPress before: approval is not a local edit
			// that should make the next pull see a conflict.
			c.SyncedVersion = c.Version + 1
		}
		saved, err := s.store.ApproveContent(ctx, c, ps.AutoPublishEnabled)
		if errors.Is(err, store.ErrPublishSettingsChanged) && attempt < 3 {
			continue
		}
		if err != nil {
			s.logger.WarnContext(ctx, "auto-approval failed; the content stays in review", logging.Err(err))
			return after
		}
		if saved.IntegrationID != "" {
			evt := store.SyncEvent{AccountID: saved.AccountID, IntegrationID: saved.IntegrationID, EventType: EventContentApproved,
				ContentType: saved.ContentType, ContentID: saved.ID, ExternalID: saved.WordPressID, Status: "success",
				Metadata: map[string]any{"auto_approval": true, "approved_at": now.Format(time.RFC3339Nano)}}
			if err := s.store.PutSyncEvents(ctx, []store.SyncEvent{evt}, s.eventRetention); err != nil {
				s.logger.WarnContext(ctx, "auto-approval: could not record the event", logging.Err(err))
			}
		}
		s.logger.InfoContext(ctx, "content auto-approved")
		return saved
	}
}

// Publish queues the push of approved (or already published, to update it)
// content to WordPress.
func (s *Service) Publish(ctx context.Context, accountID, id string) (store.Content, error) {
	c, err := s.store.GetContent(ctx, accountID, id)
	if err != nil {
		return store.Content{}, storeError(err)
	}
	if c.Status != store.ContentApproved && c.Status != store.ContentPublished {
		return store.Content{}, apperr.New(apperr.Conflict, "Only approved content can be published; this is %s (approve it first)", c.Status)
	}
	if err := s.push.EnqueuePush(ctx, c, ""); err != nil {
		return store.Content{}, fmt.Errorf("queue push of %s: %w", id, err)
	}
	return c, nil
}

// Keep choices for ResolveConflict.
const (
	KeepIGNY8     = "igny8"
	KeepWordPress = "wordpress"
)

// ResolveConflict settles a conflict: keeping IGNY8's version queues a push
// that overwrites WordPress; keeping WordPress's makes the next pull take
// WordPress's version over the local edits.
func (s *Service) ResolveConflict(ctx context.Context, accountID, id, keep string) (store.Content, error) {
	if keep != KeepIGNY8 && keep != KeepWordPress {
		return store.Content{}, apperr.Field(apperr.Invalid, "keep", "keep must be igny8 or wordpress")
	}
	c, err := s.transition(ctx, accountID, id, 0, func(c *store.Content) error {
		if c.Status != store.ContentConflict {
			return apperr.New(apperr.Conflict, "This content has no conflict to resolve (it is %s)", c.Status)
		}
		// Forget WordPress's last-seen modification time so neither the
		// push nor the pull sees a conflict again.
		c.WPModifiedGMT = time.Time{}
		if keep == KeepIGNY8 {
			c.Status = store.ContentApproved
			return nil
		}
		c.Status, c.SyncedHash = store.ContentPublished, ""
		c.SyncedVersion = c.Version + 1
		return nil
	})
	if err != nil {
		return c, err
	}
	if keep == KeepWordPress {
		// Pull the post now: an incremental run lists only posts modified
		// since its cursor, so it might never bring WordPress's version.
		if err := s.push.EnqueuePull(ctx, c); err != nil {
			return store.Content{}, fmt.Errorf("queue pull of %s: %w", id, err)
		}
		return c, nil
	}
	if err := s.push.EnqueuePush(ctx, c, ""); err != nil {
		return store.Content{}, fmt.Errorf("queue push of %s: %w", id, err)
	}
	return c, nil
}

func (s *Service) transition(ctx context.Context, accountID, id string, version int64, change func(*store.Content) error) (store.Content, error) {
	c, err := s.store.GetContent(ctx, accountID, id)
	if err != nil {
		return store.Content{}, storeError(err)
	}
	if version != 0 && version != c.Version {
		return store.Content{}, storeError(fmt.Errorf("content %s: %w", id, store.ErrPreconditionFailed))
	}
	if err := change(&c); err != nil {
		return store.Content{}, err
	}
	saved, err := s.store.UpdateContent(ctx, c, false)
	return saved, storeError(err)
}

// apply validates in and writes it onto c.
func (s *Service) apply(ctx context.Context, c *store.Content, in Input) error {
	if in.ContentType != nil {
		t := strings.TrimSpace(*in.ContentType)
		if !wordpress.ValidCollection(t) {
			return apperr.Field(apperr.Invalid, "content_type", "content_type must be post, page or a custom type's rest_base")
		}
		if c.WordPressID != 0 && t != c.ContentType {
			return apperr.Field(apperr.Invalid, "content_type", "content already in WordPress cannot change its type")
		}
		c.ContentType = t
	}
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		if t == "" || utf8.RuneCountInString(t) > store.MaxContentTitleChars {
			return apperr.Field(apperr.Invalid, "title", "title must be 1 to %d characters", store.MaxContentTitleChars)
		}
		c.Title = t
	}
	if in.Body != nil {
		c.Body = *in.Body
	}
	if in.Excerpt != nil {
		if len(*in.Excerpt) > store.MaxContentExcerptBytes {
			return apperr.Field(apperr.Invalid, "excerpt", "excerpt must be at most %d bytes", store.MaxContentExcerptBytes)
		}
		c.Excerpt = *in.Excerpt
	}
	if in.Slug != nil {
		slug := strings.TrimSpace(*in.Slug)
		if utf8.RuneCountInString(slug) > store.MaxContentSlugChars || strings.ContainsAny(slug, "/ ?#") {
			return apperr.Field(apperr.Invalid, "slug", "slug must be at most %d characters without spaces, '/', '?' or '#'", store.MaxContentSlugChars)
		}
		c.Slug = slug
	}
	if in.Status != nil && *in.Status != c.Status {
		if !editableStatuses[*in.Status] {
			return apperr.Field(apperr.Invalid, "status", "status can be set to draft or review; use approve and publish for the rest")
		}
		c.Status = *in.Status
	}
	if in.Terms != nil {
		if err := s.checkTerms(ctx, c, *in.Terms); err != nil {
			return err
		}
		c.Terms = *in.Terms
	}
	if in.FeaturedImageID != nil {
		if id := *in.FeaturedImageID; id != "" {
			if _, err := s.store.GetImage(ctx, c.AccountID, c.SiteID, id); err != nil {
				return apperr.Field(apperr.Invalid, "featured_image_id", "no image %q on this site", id)
			}
		}
		c.FeaturedImageID = *in.FeaturedImageID
	}
	return nil
}

// checkTerms makes sure every referenced term exists on the content's site.
func (s *Service) checkTerms(ctx context.Context, c *store.Content, refs []store.TermRef) error {
	if len(refs) > 100 {
		return apperr.Field(apperr.Invalid, "terms", "at most 100 terms")
	}
	ids := make([]string, 0, len(refs))
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	found, err := s.store.GetTerms(ctx, c.AccountID, c.SiteID, ids)
	if err != nil {
		return err
	}
	for i, r := range refs {
		t, ok := found[r.ID]
		if !ok || t.Taxonomy != r.Taxonomy {
			return apperr.Field(apperr.Invalid, fmt.Sprintf("terms[%d]", i), "no %s term %q on this site", r.Taxonomy, r.ID)
		}
	}
	return nil
}

// siteIntegration finds the site's WordPress integration.
func (s *Service) siteIntegration(ctx context.Context, accountID, siteID string) (store.Integration, error) {
	page, err := s.store.ListIntegrations(ctx, accountID, store.IntegrationFilter{SiteID: siteID, Platform: "wordpress"}, store.PageRequest{Limit: 1})
	if err != nil {
		return store.Integration{}, storeError(err)
	}
	if len(page.Items) == 0 {
		return store.Integration{}, apperr.Field(apperr.Unprocessable, "site_id", "site %q has no WordPress integration; connect one first", siteID)
	}
	return page.Items[0], nil
}

func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return apperr.Wrap(err, apperr.NotFound, "No such content in your account")
	case errors.Is(err, store.ErrPreconditionFailed):
		return apperr.Wrap(err, apperr.PreconditionFailed, "The content changed since you read it; read it again and retry with its current version")
	case errors.Is(err, store.ErrItemTooLarge):
		return apperr.Wrap(err, apperr.PayloadTooLarge, "The content is too large to store, even compressed")
	case errors.Is(err, store.ErrInvalid):
		return apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
	case errors.Is(err, store.ErrInvalidCursor):
		return &apperr.Error{Code: apperr.Invalid, Field: "cursor", Message: "cursor is not one this API returned for this listing", Err: err}
	}
	return err
}
