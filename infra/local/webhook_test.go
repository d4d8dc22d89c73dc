package local

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/testutil/fakewp"
	"github.com/igny8/integrations/shared/webhook"
	"github.com/igny8/integrations/shared/webhooksecret"
)

// A signed delivery through the local function URL reaches the worker,
// which pulls the post from WordPress: the whole webhook path on the local
// stack.
func TestWebhookDeliveryThroughTheFunctionURLPullsThePost(t *testing.T) {
	st, _ := startStack(t, Options{})
	wp := fakewp.New(t)
	wp.InstallPlugin()
	token, err := st.Token("webhook-account", false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, st.APIURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	status, created := api("POST", "/api/v1/integration/", `{"site_id":"blog","platform":"wordpress","external_site_url":"`+wp.URL+`",
		"credentials":{"username":"`+wp.Username+`","application_password":"`+wp.Password+`"}}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	id, secret := created["id"].(string), created["webhook_secret"].(string)
	if cfg, _ := wp.Plugin(); cfg.Secret != secret || cfg.IntegrationID != id || cfg.Endpoint != st.WebhookURL+webhook.Path {
		t.Fatalf("the plugin was not configured by the create: %+v", cfg)
	}
	post := wp.AddPost(fakewp.Post{Title: "Sent by the plugin", Content: "<p>Hi</p>"})

	send := func(msgID, secret string) (int, string) {
		body, _ := json.Marshal(map[string]any{"action": "post_created", "post_id": post.ID, "post_type": "post", "rest_base": "posts",
			"site_url": wp.URL, "integration_id": id, "status": "publish", "modified_gmt": post.ModifiedGMT.Format("2006-01-02T15:04:05"),
			"delivery": map[string]any{"attempt": 1, "coalesced": 1, "plugin_version": "test", "sent_at": time.Now().Unix()}})
		key, _ := webhooksecret.Key(secret)
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", st.WebhookURL+webhook.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", msgID)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("webhook-signature", webhook.Sign(key, msgID, ts, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	other, _ := webhooksecret.Generate()
	if status, body := send("msg_forged", other); status != 401 {
		t.Fatalf("forged delivery: %d %s", status, body)
	}
	if status, body := send("msg_1", secret); status != 202 || !strings.Contains(body, `"delivery_id":"msg_1"`) {
		t.Fatalf("delivery: %d %s", status, body)
	}
	if status, body := send("msg_1", secret); status != 200 || !strings.Contains(body, `"duplicate":true`) {
		t.Fatalf("replay: %d %s", status, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, list := api("GET", "/api/v1/content/?site_id=blog", "")
		items, _ := list["items"].([]any)
		if len(items) == 1 && items[0].(map[string]any)["title"] == "Sent by the plugin" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the post did not arrive within 10 s: %v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, events := api("GET", "/api/v1/integration/"+id+"/events/?event_type=webhook", "")
	if items, _ := events["items"].([]any); len(items) != 1 {
		t.Fatalf("webhook events = %v, want one", events)
	}
}
