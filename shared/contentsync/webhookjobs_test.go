package contentsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil/fakewp"
)

// deliver enqueues the job the receiver would for one delivery.
func (e *syncEnv) deliver(deliveryID, action string, postID int64, typ, base string) {
	e.t.Helper()
	raw, _ := json.Marshal(jobs.WebhookPayload{DeliveryID: deliveryID, Action: action, PostID: postID, PostType: typ, RESTBase: base})
	jt := jobs.TypeWebhookPull
	if action == "post_deleted" {
		jt = jobs.TypeWebhookDelete
	}
	env := jobs.Envelope{Type: jt, AccountID: e.in.AccountID, IntegrationID: e.in.ID,
		IdempotencyKey: "webhook:" + e.in.ID + ":" + deliveryID, EnqueuedAt: time.Now().UTC(), Payload: raw}
	if err := jobs.NewSender(e.sqs, e.queue).Send(context.Background(), env); err != nil {
		e.t.Fatal(err)
	}
}

// contentOf returns the content pulled from a WordPress post.
func (e *syncEnv) contentOf(wpID int64) (store.Content, bool) {
	e.t.Helper()
	ids, err := e.st.ContentIDsByWordPressID(context.Background(), e.in.AccountID, e.in.ID, []int64{wpID})
	if err != nil {
		e.t.Fatal(err)
	}
	id, ok := ids[wpID]
	if !ok {
		return store.Content{}, false
	}
	c, err := e.st.GetContent(context.Background(), e.in.AccountID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, true
}

// webhookEvents returns the results of the webhook events, oldest first.
func (e *syncEnv) webhookEvents() []string {
	e.t.Helper()
	page, err := e.st.ListSyncEvents(context.Background(), e.in.AccountID, e.in.ID, store.EventFilter{EventType: "webhook"}, store.PageRequest{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprint(page.Items[i].Metadata["result"]))
	}
	return out
}

func TestWebhookJobsFollowThePostThroughItsLife(t *testing.T) {
	e := newSyncEnv(t)
	clock := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	e.wp.SetClock(func() time.Time { return clock })
	news := e.wp.AddTerm("category", "News", 0)
	// A tag created with the post: the store has never seen it.
	fresh := e.wp.AddTerm("post_tag", "Brand new", 0)
	post := e.wp.AddPost(fakewp.Post{Title: "Hello", Content: "<p>Hi</p>", Categories: []int64{news.ID}, Tags: []int64{fresh.ID}})

	// Created, delivered twice (the sender retried) and each message
	// delivered twice by SQS: one content item, one event.
	e.deliver("msg_1", "post_created", post.ID, "post", "posts")
	e.deliver("msg_1", "post_created", post.ID, "post", "posts")
	e.drain(true)
	c, ok := e.contentOf(post.ID)
	if !ok {
		t.Fatal("the created post was not pulled")
	}
	if c.Title != "Hello" || c.Status != store.ContentPublished || len(c.Terms) != 2 {
		t.Fatalf("content = %q %s terms %v, want Hello published with its category and new tag", c.Title, c.Status, c.Terms)
	}
	if got := e.webhookEvents(); fmt.Sprint(got) != "[created]" {
		t.Fatalf("webhook events = %v, want [created]", got)
	}

	// Updated: the title follows.
	clock = clock.Add(time.Minute)
	e.wp.EditPost(post.ID, func(p *fakewp.Post) { p.Title = "Hello again" })
	e.wp.ResetRequests()
	e.deliver("msg_2", "post_updated", post.ID, "post", "posts")
	e.drain(false)
	if c, _ = e.contentOf(post.ID); c.Title != "Hello again" {
		t.Fatalf("title = %q after the update", c.Title)
	}
	// Types and taxonomies (no stored structure) and the post; known terms
	// need no request.
	if n := e.wp.Requests(); n != 3 {
		t.Fatalf("an update delivery made %d WordPress requests, want 3: %v", n, e.wp.RequestLog())
	}

	// Saved again within the same second (modified_gmt unchanged): the
	// delivery still brings the change.
	e.wp.EditPost(post.ID, func(p *fakewp.Post) { p.Content = "<p>Same second</p>" })
	e.deliver("msg_2s", "post_updated", post.ID, "post", "posts")
	e.drain(false)
	if c, _ = e.contentOf(post.ID); c.Body != "<p>Same second</p>" {
		t.Fatalf("body = %q after an edit within the same second", c.Body)
	}

	// An older state than the stored one (a stale cache answering) does
	// not overwrite newer content.
	e.wp.EditPost(post.ID, func(p *fakewp.Post) { p.Title = "Stale"; p.ModifiedGMT = clock.Add(-time.Hour) })
	e.deliver("msg_3", "post_updated", post.ID, "post", "posts")
	e.drain(false)
	if c, _ = e.contentOf(post.ID); c.Title != "Hello again" {
		t.Fatalf("an older WordPress state overwrote the content: title %q", c.Title)
	}

	// Trashed.
	clock = clock.Add(time.Minute)
	e.wp.EditPost(post.ID, func(p *fakewp.Post) { p.Title = "Hello again"; p.Status = "trash" })
	e.deliver("msg_4", "post_trashed", post.ID, "post", "posts")
	e.drain(false)
	if c, _ = e.contentOf(post.ID); c.Status != store.ContentTrashed {
		t.Fatalf("status = %s after trashing, want trashed", c.Status)
	}

	// Deleted; then a late update delivery for the same post arrives
	// (out of order): it stays deleted.
	e.wp.DeletePost(post.ID)
	e.deliver("msg_5", "post_deleted", post.ID, "post", "posts")
	e.drain(true)
	e.deliver("msg_2b", "post_updated", post.ID, "post", "posts")
	e.drain(false)
	if c, _ = e.contentOf(post.ID); c.Status != store.ContentDeleted {
		t.Fatalf("status = %s after deleting, want deleted", c.Status)
	}
	if got := e.webhookEvents(); fmt.Sprint(got) != "[created updated updated stale trashed deleted]" {
		t.Fatalf("webhook events = %v", got)
	}
}

func TestWebhookDeliveriesOutOfOrderConvergeOnWordPress(t *testing.T) {
	e := newSyncEnv(t)
	clock := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	e.wp.SetClock(func() time.Time { return clock })
	post := e.wp.AddPost(fakewp.Post{Title: "v1"})
	clock = clock.Add(time.Minute)
	e.wp.EditPost(post.ID, func(p *fakewp.Post) { p.Title = "v2" })
	// The update's delivery is processed before the create's.
	e.deliver("msg_update", "post_updated", post.ID, "post", "posts")
	e.deliver("msg_create", "post_created", post.ID, "post", "posts")
	e.drain(false)
	c, ok := e.contentOf(post.ID)
	if !ok || c.Title != "v2" {
		t.Fatalf("content = %+v, want v2", c)
	}
	if got := e.webhookEvents(); fmt.Sprint(got) != "[created]" {
		t.Fatalf("webhook events = %v, want one created (the second delivery changed nothing)", got)
	}
	// A delete delivery for a post that still exists stores it, never
	// marks it deleted.
	e.deliver("msg_bogus_delete", "post_deleted", post.ID, "post", "posts")
	e.drain(false)
	if c, _ = e.contentOf(post.ID); c.Status != store.ContentPublished {
		t.Fatalf("status = %s after a delete delivery for a live post", c.Status)
	}
}
