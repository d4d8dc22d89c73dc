package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/webhook"
	"github.com/igny8/integrations/shared/webhooksecret"
)

// TestWebhookJobsWithRealWordPress proves the worker's side of webhooks
// against the real WordPress: deliveries signed here (as the plugin signs
// them) reach the local function URL, and the worker reads each post from
// WordPress — a new post with a brand-new tag, an update, the trash, and a
// permanent delete. (The plugin's own end-to-end test sends them from
// WordPress.)
func TestWebhookJobsWithRealWordPress(t *testing.T) {
	e := start(t)
	api := e.account(t, "e2e-webhook")
	created := api.do("POST", "/api/v1/integration/", map[string]any{
		"site_id": "blog", "platform": "wordpress", "external_site_url": e.wp.URL,
		"credentials": map[string]string{"username": e.wp.Username, "application_password": e.wp.AppPassword},
	})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	in := created.json(t)
	id, secret := in["id"].(string), in["webhook_secret"].(string)
	key, err := webhooksecret.Key(secret)
	if err != nil {
		t.Fatalf("webhook_secret %q: %v", secret, err)
	}
	stamp := time.Now().UnixNano()
	var tag struct {
		ID int64 `json:"id"`
	}
	e.wpDo(t, "POST", "wp/v2/tags", map[string]any{"name": fmt.Sprintf("webhook-tag-%d", stamp)}, &tag)
	var post struct {
		ID          int64  `json:"id"`
		ModifiedGMT string `json:"modified_gmt"`
	}
	e.wpDo(t, "POST", "wp/v2/posts", map[string]any{"title": fmt.Sprintf("Webhook post %d", stamp), "status": "publish", "tags": []int64{tag.ID}}, &post)
	t.Cleanup(func() { e.wpDo(t, "DELETE", fmt.Sprintf("wp/v2/tags/%d?force=true", tag.ID), nil, nil) })

	n := 0
	deliver := func(action, status string) {
		t.Helper()
		n++
		msgID := fmt.Sprintf("msg_e2e_%d_%d", stamp, n)
		body, _ := json.Marshal(map[string]any{"action": action, "post_id": post.ID, "post_type": "post", "rest_base": "posts",
			"site_url": e.wp.URL, "integration_id": id, "status": status, "modified_gmt": post.ModifiedGMT,
			"delivery": map[string]any{"attempt": 1, "coalesced": 1, "plugin_version": "e2e", "sent_at": time.Now().Unix()}})
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", e.stack.WebhookURL+webhook.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", msgID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", webhook.Sign(key, msgID, ts, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s delivery: %d %s", action, resp.StatusCode, b)
		}
	}
	content := func() map[string]any {
		for _, it := range api.listAll(t, "/api/v1/content/?site_id=blog&content_type=post&limit=100") {
			if num(it["wordpress_id"]) == int(post.ID) {
				return it
			}
		}
		return nil
	}

	deliver("post_created", "publish")
	start := time.Now()
	waitFor(t, "the created post in IGNY8", func() bool { c := content(); return c != nil && len(c["terms"].([]any)) == 2 })
	t.Logf("created post arrived %s after its delivery", time.Since(start).Round(time.Millisecond))
	if c := content(); c["title"] != fmt.Sprintf("Webhook post %d", stamp) || c["status"] != "published" {
		t.Fatalf("pulled as %v", c)
	}

	e.wpDo(t, "POST", fmt.Sprintf("wp/v2/posts/%d", post.ID), map[string]any{"title": "Edited after the webhook"}, &post)
	deliver("post_updated", "publish")
	waitFor(t, "the update", func() bool { return content()["title"] == "Edited after the webhook" })

	e.wpDo(t, "DELETE", fmt.Sprintf("wp/v2/posts/%d", post.ID), nil, nil) // to the trash
	deliver("post_trashed", "trash")
	waitFor(t, "the trashed status", func() bool { return content()["status"] == "trashed" })

	e.wpDo(t, "DELETE", fmt.Sprintf("wp/v2/posts/%d?force=true", post.ID), nil, nil)
	deliver("post_deleted", "")
	waitFor(t, "the deleted status", func() bool { return content()["status"] == "deleted" })

	events := api.do("GET", "/api/v1/integration/"+id+"/events/?event_type=webhook", nil).json(t)["items"].([]any)
	if len(events) != 4 {
		t.Fatalf("%d webhook events, want 4 (created, updated, trashed, deleted): %v", len(events), events)
	}
}
