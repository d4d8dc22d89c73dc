package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/webhook"
)

// TestWebhookEndToEnd is issue 5's whole path on the real WordPress with the
// companion plugin installed from its zip (make e2e): connecting the site
// configures the plugin by itself; then every change made in WordPress
// reaches IGNY8 through a signed delivery to the local function URL, the
// receiver, the queue and the sync worker's pull-one — no sync run, no
// polling by the service.
func TestWebhookEndToEnd(t *testing.T) {
	e := start(t)
	api := e.account(t, "e2e-plugin-webhook")
	wp := e.wp

	// Connect: the service finds igny8/v1 and configures the plugin.
	created := api.do("POST", "/api/v1/integration/", map[string]any{
		"site_id": "blog", "platform": "wordpress", "external_site_url": wp.URL,
		"credentials": map[string]string{"username": wp.Username, "application_password": wp.AppPassword},
	})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	in := created.json(t)
	id := in["id"].(string)
	secret, _ := in["webhook_secret"].(string)
	plugin, _ := in["connection"].(map[string]any)["plugin"].(map[string]any)
	if !strings.HasPrefix(secret, "whsec_") || plugin["detected"] != true || plugin["configured"] != true {
		t.Fatalf("create: webhook secret shown %v, plugin %v", strings.HasPrefix(secret, "whsec_"), plugin)
	}
	cfg := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)
	wantEndpoint := e.stack.WebhookURL + webhook.Path
	if cfg["endpoint"] != wantEndpoint || cfg["integration_id"] != id || cfg["secret_set"] != true {
		t.Fatalf("the plugin's config after connecting: %v, want endpoint %s and integration %s", cfg, wantEndpoint, id)
	}

	// item finds the IGNY8 content item of a WordPress post (only webhook
	// pulls fill this account: no sync ran).
	item := func(postID float64) map[string]any {
		for _, it := range api.listAll(t, "/api/v1/content/?site_id=blog&content_type=post&limit=100") {
			if it["wordpress_id"] == postID {
				return it
			}
		}
		return nil
	}
	within10s := func(what string, cond func(map[string]any) bool, postID float64) map[string]any {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			if it := item(postID); it != nil && cond(it) {
				t.Logf("%s: in IGNY8 after %v", what, time.Since(start).Round(time.Millisecond))
				return it
			}
			time.Sleep(100 * time.Millisecond)
		}
		var keep []string
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if !strings.Contains(line, "/api/v1/content/") && !strings.Contains(line, "ApiFunction") {
				keep = append(keep, line)
			}
		}
		t.Logf("logs: %s", lastLines(strings.Join(keep, "\n"), 30))
		t.Fatalf("%s: not in IGNY8 within 10 s; last seen %v", what, item(postID))
		return nil
	}

	// Create in WordPress, with a category and a tag.
	news, goTag := termID(t, wp, "categories", "news"), termID(t, wp, "tags", "go")
	title := fmt.Sprintf("Written in WordPress %d", time.Now().UnixNano())
	post := wpJSON(t, wp, "POST", "/wp-json/wp/v2/posts", map[string]any{
		"title": title, "content": "<p>Arrives by webhook.</p>", "status": "publish",
		"categories": []float64{news}, "tags": []float64{goTag},
	}, 201)
	postID := post["id"].(float64)
	t.Cleanup(func() { wpCall(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v?force=true", postID), nil, true) })
	got := within10s("created", func(it map[string]any) bool { return it["title"] == title }, postID)
	if got["status"] != "published" {
		t.Errorf("created post: status %v, want published", got["status"])
	}
	terms := map[string]string{}
	for _, tr := range got["terms"].([]any) {
		ref := tr.(map[string]any)
		terms[ref["taxonomy"].(string)] = ref["id"].(string)
	}
	if len(terms) != 2 || terms["category"] == "" || terms["post_tag"] == "" {
		t.Fatalf("created post's terms in IGNY8: %v, want its category and its tag", got["terms"])
	}
	for taxonomy, slug := range map[string]string{"category": "news", "post_tag": "go"} {
		found := false
		for _, term := range api.listAll(t, "/api/v1/sites/blog/taxonomies/?type="+taxonomy+"&limit=100") {
			found = found || (term["id"] == terms[taxonomy] && term["slug"] == slug)
		}
		if !found {
			t.Errorf("the post's %s in IGNY8 is not %q", taxonomy, slug)
		}
	}

	// Update, trash, delete, each as soon as the one before is in IGNY8
	// (often within the same second: modified_gmt alone cannot tell them
	// apart, the post's content must).
	wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%v", postID), map[string]any{"title": title + " (edited)"}, 200)
	within10s("updated", func(it map[string]any) bool { return it["title"] == title+" (edited)" }, postID)
	wpJSON(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v", postID), nil, 200)
	within10s("trashed", func(it map[string]any) bool { return it["status"] == "trashed" }, postID)
	wpJSON(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v?force=true", postID), nil, 200)
	within10s("deleted", func(it map[string]any) bool { return it["status"] == "deleted" }, postID)

	// One webhook sync event per delivery; the plugin saw every one accepted.
	evts := api.do("GET", "/api/v1/integration/"+id+"/events/?event_type=webhook&limit=20", nil).json(t)["items"].([]any)
	if len(evts) != 4 {
		t.Errorf("%d webhook events, want 4 (created, updated, trashed, deleted): %v", len(evts), evts)
	}
	status := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)["delivery_status"].(map[string]any)
	if status["last_failure"] != nil || status["pending"] != 0.0 || status["last_attempt"].(map[string]any)["http_status"] != 202.0 {
		t.Errorf("the plugin's delivery status: %v", status)
	}
	e.assertNoSecretLeak(t, []string{wp.AppPassword, secret})
}
