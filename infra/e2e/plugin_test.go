package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The companion plugin (infra/wordpress/plugins/igny8-connector) against the
// real WordPress, without the IGNY8 receiver: a local httptest endpoint
// stands in for it and checks what the plugin sends.

// wpCall sends one request to the real WordPress; path starts with "/".
func wpCall(t *testing.T, wp site, method, path string, body any, auth bool) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, wp.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(wp.Username, wp.AppPassword)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("WordPress %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// disconnectPlugin stops the companion plugin's deliveries (DELETE
// igny8/v1/config; a 404 means the site has no plugin, which is fine).
func disconnectPlugin(t *testing.T, wp site) {
	t.Helper()
	if status, _, b := wpCall(t, wp, "DELETE", "/wp-json/igny8/v1/config", nil, true); status != 200 && status != 404 {
		t.Errorf("disconnect the plugin: %d %s", status, b)
	}
}

// wpJSON is wpCall for requests that must succeed, decoding the answer.
func wpJSON(t *testing.T, wp site, method, path string, body any, want int) map[string]any {
	t.Helper()
	status, _, b := wpCall(t, wp, method, path, body, true)
	if status != want {
		t.Fatalf("WordPress %s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("WordPress %s %s: not a JSON object: %s", method, path, b)
	}
	return m
}

// delivery is one request the plugin sent to the test receiver.
type delivery struct {
	header  http.Header
	body    []byte
	payload map[string]any
}

func (d delivery) meta(key string) any { return d.payload["delivery"].(map[string]any)[key] }

// receiver records deliveries and answers them with queued status codes
// (202 when none is queued). It never calls WordPress: the PHP built-in
// server sends a delivery while the request that caused it still holds its
// worker, so a receiver calling back could starve the workers.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []delivery
	answers []int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{header: req.Header.Clone(), body: body}
		_ = json.Unmarshal(body, &d.payload)
		r.mu.Lock()
		r.got = append(r.got, d)
		status := http.StatusAccepted
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"status":%q}`, http.StatusText(status))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) answerNext(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, statuses...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// since waits until the receiver holds `want` deliveries after the first
// `from`, and returns them. WordPress has sent them before its response to
// the request that caused them (see receiver), so the wait is short; more
// than `want` is a failure (that is how coalescing is checked).
func (r *receiver) since(t *testing.T, from, want int) []delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < from+want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	got := append([]delivery(nil), r.got[from:]...)
	if len(got) != want {
		var actions []string
		for _, d := range got {
			actions = append(actions, fmt.Sprintf("%v #%v", d.payload["action"], d.payload["post_id"]))
		}
		t.Fatalf("got %d deliveries %v, want %d", len(got), actions, want)
	}
	return got
}

// newWebhookSecret makes a secret the way the service does: whsec_ +
// base64 of 32 random bytes.
func newWebhookSecret(t *testing.T) (secret string, key []byte) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), key
}

var webhookIDPattern = regexp.MustCompile(`^msg_[0-9a-f]{32}$`)

// checkSigned asserts the Standard Webhooks headers of a delivery, verifying
// the signature with crypto/hmac (independently of the plugin's PHP).
func checkSigned(t *testing.T, d delivery, key []byte) {
	t.Helper()
	if ct := d.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	id, ts := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp")
	if !webhookIDPattern.MatchString(id) {
		t.Errorf("webhook-id %q", id)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Errorf("webhook-timestamp %q is not within 5 minutes of now", ts)
	}
	if sent := d.meta("sent_at"); sent != float64(sec) {
		t.Errorf("delivery.sent_at %v != webhook-timestamp %s", sent, ts)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(d.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range strings.Fields(d.header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	if !ok {
		t.Errorf("webhook-signature %q does not verify (want %s)", d.header.Get("webhook-signature"), want)
	}
}

// checkPayload asserts a delivery's body fields.
func checkPayload(t *testing.T, wp site, integrationID string, d delivery, action string, postID int, status string) {
	t.Helper()
	p := d.payload
	want := map[string]any{
		"action": action, "post_id": float64(postID), "post_type": "post", "rest_base": "posts",
		"site_url": wp.URL, "integration_id": integrationID, "status": status,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s #%d: %s = %v, want %v (body %s)", action, postID, k, p[k], v, d.body)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05", fmt.Sprint(p["modified_gmt"])); err != nil {
		t.Errorf("modified_gmt %v is not in WordPress's REST format", p["modified_gmt"])
	}
	if d.meta("plugin_version") != "1.0.0" {
		t.Errorf("delivery.plugin_version %v", d.meta("plugin_version"))
	}
	if len(d.body) > 64<<10 {
		t.Errorf("body of %d bytes is over 64 KB", len(d.body))
	}
}

// configurePlugin points the plugin at the receiver through its REST route,
// as the service does when it connects a site, and disconnects it at the end.
func configurePlugin(t *testing.T, wp site, endpoint, integrationID, secret string) map[string]any {
	t.Helper()
	cfg := wpJSON(t, wp, "POST", "/wp-json/igny8/v1/config",
		map[string]string{"endpoint": endpoint, "integration_id": integrationID, "secret": secret}, 200)
	t.Cleanup(func() { wpJSON(t, wp, "DELETE", "/wp-json/igny8/v1/config", nil, 200) })
	return cfg
}

func termID(t *testing.T, wp site, taxonomy, slug string) float64 {
	t.Helper()
	_, _, b := wpCall(t, wp, "GET", "/wp-json/wp/v2/"+taxonomy+"?slug="+slug, nil, true)
	var terms []map[string]any
	if err := json.Unmarshal(b, &terms); err != nil || len(terms) != 1 {
		t.Fatalf("%s %s (seed content): %s", taxonomy, slug, b)
	}
	return terms[0]["id"].(float64)
}

func TestConnectorPluginConfigRoute(t *testing.T) {
	wp := wordpressSite(t)
	disconnectPlugin(t, wp) // start from an unconfigured plugin
	_, _, index := wpCall(t, wp, "GET", "/wp-json/", nil, false)
	var idx struct {
		Namespaces []string `json:"namespaces"`
	}
	if err := json.Unmarshal(index, &idx); err != nil || !strings.Contains(strings.Join(idx.Namespaces, " "), "igny8/v1") {
		t.Fatalf("igny8/v1 is not among the namespaces in /wp-json/ (is the plugin active?): %v", idx.Namespaces)
	}

	secret, _ := newWebhookSecret(t)
	good := map[string]string{"endpoint": "http://127.0.0.1:3001/api/v1/integration/webhook/wordpress/", "integration_id": "int-config-test", "secret": secret}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name   string
		method string
		body   any
		auth   bool
		status int
		code   string
		param  string
	}{
		{"anonymous read", "GET", nil, false, 401, "rest_forbidden", ""},
		{"anonymous write", "POST", good, false, 401, "rest_forbidden", ""},
		{"anonymous disconnect", "DELETE", nil, false, 401, "rest_forbidden", ""},
		{"ftp endpoint", "POST", with("endpoint", "ftp://example.com/hook"), true, 400, "igny8_invalid_endpoint", "endpoint"},
		{"endpoint with credentials", "POST", with("endpoint", "https://u:p@example.com/hook"), true, 400, "igny8_invalid_endpoint", "endpoint"},
		{"bad integration id", "POST", with("integration_id", "a b"), true, 400, "igny8_invalid_integration_id", "integration_id"},
		{"secret without prefix", "POST", with("secret", strings.TrimPrefix(secret, "whsec_")), true, 400, "igny8_invalid_secret", "secret"},
		{"short secret", "POST", with("secret", "whsec_c2hvcnQ="), true, 400, "igny8_invalid_secret", "secret"},
		{"missing endpoint", "POST", map[string]string{"integration_id": "x", "secret": secret}, true, 400, "rest_missing_callback_param", ""},
	}
	for _, tt := range tests {
		status, _, b := wpCall(t, wp, tt.method, "/wp-json/igny8/v1/config", tt.body, tt.auth)
		var e struct {
			Code string `json:"code"`
			Data struct {
				Param string `json:"param"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &e)
		if status != tt.status || e.Code != tt.code || e.Data.Param != tt.param {
			t.Errorf("%s: %d %s (param %q), want %d %s (param %q)", tt.name, status, e.Code, e.Data.Param, tt.status, tt.code, tt.param)
		}
		if bytes.Contains(b, []byte(strings.TrimPrefix(secret, "whsec_"))) {
			t.Errorf("%s: the answer contains the secret", tt.name)
		}
	}

	// An editor's Application Password (no manage_options) is refused with
	// 403 rest_forbidden: the service reports that as a warning and the
	// user fills in the settings page instead.
	editor := wpJSON(t, wp, "POST", "/wp-json/wp/v2/users", map[string]any{
		"username": fmt.Sprintf("editor%d", time.Now().UnixNano()), "email": fmt.Sprintf("editor%d@example.com", time.Now().UnixNano()),
		"password": base64.StdEncoding.EncodeToString([]byte(secret))[:24], "roles": []string{"editor"},
	}, 201)
	t.Cleanup(func() {
		wpCall(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/users/%v?force=true&reassign=1", editor["id"]), nil, true)
	})
	appPassword := wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/users/%v/application-passwords", editor["id"]), map[string]string{"name": "igny8-e2e-editor"}, 201)
	asEditor := site{URL: wp.URL, Username: editor["username"].(string), AppPassword: appPassword["password"].(string)}
	for _, method := range []string{"GET", "POST", "DELETE"} {
		var body any
		if method == "POST" {
			body = good
		}
		status, _, b := wpCall(t, asEditor, method, "/wp-json/igny8/v1/config", body, true)
		if status != 403 || !bytes.Contains(b, []byte(`"code":"rest_forbidden"`)) {
			t.Errorf("%s config as an editor: %d %s, want 403 rest_forbidden", method, status, b)
		}
	}
	if cfg := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200); cfg["secret_set"] != false {
		t.Fatalf("refused writes changed the config: %v", cfg)
	}

	cfg := configurePlugin(t, wp, good["endpoint"], good["integration_id"], secret)
	read := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)
	for _, got := range []map[string]any{cfg, read} {
		if got["endpoint"] != good["endpoint"] || got["integration_id"] != good["integration_id"] ||
			got["secret_set"] != true || got["plugin_version"] != "1.0.0" {
			t.Errorf("config: %v", got)
		}
		if _, leaked := got["secret"]; leaked || strings.Contains(fmt.Sprint(got), strings.TrimPrefix(secret, "whsec_")) {
			t.Errorf("config shows the secret: %v", got)
		}
	}

	// Same integration, no secret: the stored one is kept (the settings
	// page relies on it); another integration needs its own secret.
	kept := wpJSON(t, wp, "POST", "/wp-json/igny8/v1/config", map[string]string{"endpoint": "https://hooks.example.com/x", "integration_id": good["integration_id"]}, 200)
	if kept["secret_set"] != true || kept["endpoint"] != "https://hooks.example.com/x" {
		t.Errorf("update without a secret: %v", kept)
	}
	if status, _, b := wpCall(t, wp, "POST", "/wp-json/igny8/v1/config", map[string]string{"endpoint": good["endpoint"], "integration_id": "int-other"}, true); status != 400 || !bytes.Contains(b, []byte("igny8_invalid_secret")) {
		t.Errorf("another integration without a secret: %d %s", status, b)
	}

	// An endpoint that refuses connections: the delivery waits for a retry.
	// Connecting to another integration drops it (it was meant for the
	// previous one).
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	configurePlugin(t, wp, dead.URL+"/hook", "int-unreachable", secret)
	draft := wpJSON(t, wp, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "Unreachable endpoint", "status": "draft"}, 201)
	t.Cleanup(func() {
		wpCall(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v?force=true", draft["id"]), nil, true)
	})
	status := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)["delivery_status"].(map[string]any)
	failure, _ := status["last_failure"].(map[string]any)
	if status["pending"] != 1.0 || failure["outcome"] != "retrying" || failure["http_status"] != 0.0 || failure["error"] == "" {
		t.Errorf("after a refused connection: %v", status)
	}
	otherSecret, _ := newWebhookSecret(t)
	moved := configurePlugin(t, wp, good["endpoint"], "int-moved", otherSecret)
	if moved["delivery_status"].(map[string]any)["pending"] != 0.0 {
		t.Errorf("connecting to another integration kept the previous one's retries: %v", moved["delivery_status"])
	}

	gone := wpJSON(t, wp, "DELETE", "/wp-json/igny8/v1/config", nil, 200)
	if gone["endpoint"] != "" || gone["integration_id"] != "" || gone["secret_set"] != false {
		t.Errorf("after disconnect: %v", gone)
	}
}

func TestConnectorPluginDeliveries(t *testing.T) {
	wp := wordpressSite(t)
	rcv := newReceiver(t)
	secret, key := newWebhookSecret(t)
	integrationID := fmt.Sprintf("int-e2e-%d", time.Now().UnixNano())
	configurePlugin(t, wp, rcv.srv.URL+"/api/v1/integration/webhook/wordpress/", integrationID, secret)
	check := func(d delivery, action string, postID int, status string) {
		t.Helper()
		checkSigned(t, d, key)
		checkPayload(t, wp, integrationID, d, action, postID, status)
	}

	// Create with terms: one delivery for the whole request (the REST
	// controller's insert, status transition and term/meta saves).
	n := rcv.count()
	post := wpJSON(t, wp, "POST", "/wp-json/wp/v2/posts", map[string]any{
		"title": "Webhook e2e", "content": "<p>hello</p>", "status": "publish",
		"categories": []float64{termID(t, wp, "categories", "news")}, "tags": []float64{termID(t, wp, "tags", "go")},
	}, 201)
	id := int(post["id"].(float64))
	t.Cleanup(func() { wpCall(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%d?force=true", id), nil, true) })
	d := rcv.since(t, n, 1)[0]
	check(d, "post_created", id, "publish")
	if d.payload["modified_gmt"] != post["modified_gmt"] {
		t.Errorf("modified_gmt %v, WordPress says %v", d.payload["modified_gmt"], post["modified_gmt"])
	}
	if d.meta("attempt") != 1.0 || d.meta("coalesced").(float64) < 2 {
		t.Errorf("delivery %v: want attempt 1 and several events coalesced", d.payload["delivery"])
	}

	n = rcv.count()
	updated := wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d", id), map[string]any{"title": "Webhook e2e, edited"}, 200)
	d = rcv.since(t, n, 1)[0]
	check(d, "post_updated", id, "publish")
	if d.payload["modified_gmt"] != updated["modified_gmt"] {
		t.Errorf("modified_gmt %v, WordPress says %v", d.payload["modified_gmt"], updated["modified_gmt"])
	}

	// Two changes to one post in one request (REST batch): one delivery.
	n = rcv.count()
	path := fmt.Sprintf("/wp/v2/posts/%d", id)
	wpJSON(t, wp, "POST", "/wp-json/batch/v1", map[string]any{"requests": []map[string]any{
		{"method": "POST", "path": path, "body": map[string]any{"title": "Batched"}},
		{"method": "POST", "path": path, "body": map[string]any{"status": "draft"}},
	}}, 207)
	d = rcv.since(t, n, 1)[0]
	check(d, "post_status_changed", id, "draft")
	if d.meta("coalesced").(float64) < 2 {
		t.Errorf("batch of two changes: coalesced %v", d.meta("coalesced"))
	}

	// Two posts in one request: one delivery each.
	n = rcv.count()
	other := wpJSON(t, wp, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "Webhook e2e 2", "status": "publish"}, 201)
	otherID := int(other["id"].(float64))
	t.Cleanup(func() { wpCall(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%d?force=true", otherID), nil, true) })
	check(rcv.since(t, n, 1)[0], "post_created", otherID, "publish")
	n = rcv.count()
	wpJSON(t, wp, "POST", "/wp-json/batch/v1", map[string]any{"requests": []map[string]any{
		{"method": "POST", "path": path, "body": map[string]any{"title": "Batched again"}},
		{"method": "POST", "path": fmt.Sprintf("/wp/v2/posts/%d", otherID), "body": map[string]any{"title": "Batched too"}},
	}}, 207)
	pair := rcv.since(t, n, 2)
	check(pair[0], "post_updated", id, "draft")
	check(pair[1], "post_updated", otherID, "publish")
	if pair[0].header.Get("webhook-id") == pair[1].header.Get("webhook-id") {
		t.Error("two deliveries share a webhook-id")
	}

	// Autosaves send nothing: of a published post WordPress stores a
	// revision; of the author's own draft it updates the draft itself, under
	// DOING_AUTOSAVE.
	n = rcv.count()
	wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d/autosaves", otherID), map[string]any{"title": "Autosaved", "content": "draft text"}, 200)
	wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d/autosaves", id), map[string]any{"title": "Autosaved draft", "content": "draft text"}, 200)
	rcv.since(t, n, 0)
	if draft := wpJSON(t, wp, "GET", fmt.Sprintf("/wp-json/wp/v2/posts/%d?context=edit", id), nil, 200); draft["title"].(map[string]any)["raw"] != "Autosaved draft" {
		t.Fatalf("the draft's autosave did not update the draft itself (the case this checks): title %v", draft["title"])
	}

	// 503: retried by WP-Cron with the same webhook-id, new timestamp and
	// signature, attempt 2. (DISABLE_WP_CRON: the test runs wp-cron.php.)
	rcv.answerNext(http.StatusServiceUnavailable)
	n = rcv.count()
	wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d", otherID), map[string]any{"title": "Retry me"}, 200)
	first := rcv.since(t, n, 1)[0]
	check(first, "post_updated", otherID, "publish")
	status := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)["delivery_status"].(map[string]any)
	if status["pending"] != 1.0 || status["last_failure"].(map[string]any)["http_status"] != 503.0 {
		t.Fatalf("after a 503: %v", status)
	}
	deadline := time.Now().Add(30 * time.Second)
	for rcv.count() == n+1 && time.Now().Before(deadline) {
		wpCall(t, wp, "GET", "/wp-cron.php", nil, false)
		time.Sleep(500 * time.Millisecond)
	}
	retry := rcv.since(t, n+1, 1)[0]
	check(retry, "post_updated", otherID, "publish")
	if retry.header.Get("webhook-id") != first.header.Get("webhook-id") {
		t.Errorf("retry webhook-id %s, first attempt %s", retry.header.Get("webhook-id"), first.header.Get("webhook-id"))
	}
	t1, _ := strconv.Atoi(first.header.Get("webhook-timestamp"))
	t2, _ := strconv.Atoi(retry.header.Get("webhook-timestamp"))
	if retry.meta("attempt") != 2.0 || t2 < t1+5 || retry.header.Get("webhook-signature") == first.header.Get("webhook-signature") {
		t.Errorf("retry: attempt %v, timestamps %d then %d (want 5 s or more apart), signatures %s / %s",
			retry.meta("attempt"), t1, t2, first.header.Get("webhook-signature"), retry.header.Get("webhook-signature"))
	}
	status = wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)["delivery_status"].(map[string]any)
	if status["pending"] != 0.0 || status["last_attempt"].(map[string]any)["outcome"] != "delivered" {
		t.Errorf("after the retry: %v", status)
	}

	// 400: final, no retry.
	rcv.answerNext(http.StatusBadRequest)
	n = rcv.count()
	wpJSON(t, wp, "POST", fmt.Sprintf("/wp-json/wp/v2/posts/%d", otherID), map[string]any{"title": "Refused"}, 200)
	rcv.since(t, n, 1)
	status = wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)["delivery_status"].(map[string]any)
	if failure := status["last_failure"].(map[string]any); status["pending"] != 0.0 || failure["http_status"] != 400.0 || failure["outcome"] != "rejected" {
		t.Errorf("after a 400: %v", status)
	}

	// Trash, then delete for good.
	n = rcv.count()
	wpJSON(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%d", id), nil, 200)
	check(rcv.since(t, n, 1)[0], "post_trashed", id, "trash")
	n = rcv.count()
	wpJSON(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%d?force=true", id), nil, 200)
	check(rcv.since(t, n, 1)[0], "post_deleted", id, "")
	n = rcv.count()
	wpJSON(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%d?force=true", otherID), nil, 200)
	check(rcv.since(t, n, 1)[0], "post_deleted", otherID, "")

	// Disconnected: nothing is sent any more.
	wpJSON(t, wp, "DELETE", "/wp-json/igny8/v1/config", nil, 200)
	n = rcv.count()
	third := wpJSON(t, wp, "POST", "/wp-json/wp/v2/posts", map[string]any{"title": "Unsent", "status": "draft"}, 201)
	wpJSON(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/posts/%v?force=true", third["id"]), nil, 200)
	rcv.since(t, n, 0)
}

func TestConnectorPluginContentIDMarker(t *testing.T) {
	wp := wordpressSite(t)
	contentID := fmt.Sprintf("content-%d", time.Now().UnixNano())
	for _, base := range []string{"posts", "pages"} {
		created := wpJSON(t, wp, "POST", "/wp-json/wp/v2/"+base, map[string]any{
			"title": "Marker " + base, "status": "publish", "meta": map[string]string{"_igny8_content_id": contentID},
		}, 201)
		id := created["id"].(float64)
		t.Cleanup(func() { wpCall(t, wp, "DELETE", fmt.Sprintf("/wp-json/wp/v2/%s/%v?force=true", base, id), nil, true) })
		if got := created["meta"].(map[string]any)["_igny8_content_id"]; got != contentID {
			t.Fatalf("%s: the marker was not stored: meta %v", base, created["meta"])
		}

		lookup := func(auth bool, value string) []map[string]any {
			t.Helper()
			q := "/wp-json/wp/v2/" + base + "?igny8_content_id=" + value
			if auth {
				q += "&status=any&context=edit"
			}
			status, _, b := wpCall(t, wp, "GET", q, nil, auth)
			var items []map[string]any
			if status != 200 || json.Unmarshal(b, &items) != nil {
				t.Fatalf("GET %s: %d %s", q, status, b)
			}
			return items
		}
		if found := lookup(true, contentID); len(found) != 1 || found[0]["id"] != id {
			t.Errorf("%s?igny8_content_id=%s found %d items, want #%v", base, contentID, len(found), id)
		}
		if found := lookup(true, contentID+"-other"); len(found) != 0 {
			t.Errorf("%s: an unknown content ID found %d items", base, len(found))
		}
		// The marker is not public: anonymous lookups find nothing and the
		// public view of the post does not show it.
		if found := lookup(false, contentID); len(found) != 0 {
			t.Errorf("%s: an anonymous lookup found %d items", base, len(found))
		}
		_, _, public := wpCall(t, wp, "GET", fmt.Sprintf("/wp-json/wp/v2/%s/%v", base, id), nil, false)
		if bytes.Contains(public, []byte(contentID)) {
			t.Errorf("%s: the public view shows the marker: %s", base, public)
		}
	}
}

// TestConnectorPluginUnit runs infra/wordpress/tests/connector-test.php, the
// plugin's in-process checks (signature vectors, validation, skip rules,
// coalescing, retry schedule), in the site's own PHP.
func TestConnectorPluginUnit(t *testing.T) {
	wordpressSite(t)
	state := localStateDir(t)
	cmd := exec.Command("php", "../wordpress/tests/connector-test.php")
	cmd.Env = append(os.Environ(), "IGNY8_WP_STATE="+state)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("connector-test.php: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("connector-test.php: all passed")) {
		t.Fatalf("connector-test.php did not finish:\n%s", out)
	}
	t.Logf("%d checks passed", bytes.Count(out, []byte("\nok ")))
}

// localStateDir is the state dir of the start.sh site under test (from its
// env file): the in-process checks need the site on this machine.
func localStateDir(t *testing.T) string {
	t.Helper()
	path := os.Getenv("E2E_WP_ENV")
	if path == "" {
		if os.Getenv("E2E_REQUIRED") != "" {
			t.Fatal("E2E_REQUIRED is set but E2E_WP_ENV is not: the plugin's in-process checks need a site made by infra/wordpress/start.sh")
		}
		t.Skip("needs E2E_WP_ENV (a site made by infra/wordpress/start.sh on this machine)")
	}
	vars, err := readEnvFile(path)
	if err != nil || vars["WP_STATE_DIR"] == "" {
		t.Fatalf("E2E_WP_ENV %s: no WP_STATE_DIR (%v)", path, err)
	}
	return vars["WP_STATE_DIR"]
}

// TestConnectorPluginInstalledFromZip checks the site runs the plugin as
// shipped: active, and, when E2E_PLUGIN_ZIP names the zip `make e2e`
// installed, a real folder whose files are exactly the zip's.
func TestConnectorPluginInstalledFromZip(t *testing.T) {
	wp := wordpressSite(t)
	_, _, b := wpCall(t, wp, "GET", "/wp-json/wp/v2/plugins?_fields=plugin,status,version", nil, true)
	if !bytes.Contains(b, []byte(`{"plugin":"igny8-connector\/igny8-connector","status":"active","version":"1.0.0"}`)) {
		t.Fatalf("igny8-connector 1.0.0 is not active: %s", b)
	}
	zipPath := os.Getenv("E2E_PLUGIN_ZIP")
	if zipPath == "" {
		t.Log("E2E_PLUGIN_ZIP not set: the site may run the development symlink")
		return
	}
	dir := filepath.Join(localStateDir(t), "wp-content", "plugins", "igny8-connector")
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("%s is not a folder installed from the zip (a symlink or missing): %v", dir, err)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	inZip := map[string]bool{}
	for _, f := range zr.File {
		rel := strings.TrimPrefix(f.Name, "igny8-connector/")
		inZip[rel] = true
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(rc)
		rc.Close()
		if got, err := os.ReadFile(filepath.Join(dir, rel)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the zip's copy (%v)", rel, err)
		}
	}
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if rel, _ := filepath.Rel(dir, p); !inZip[filepath.ToSlash(rel)] {
				t.Errorf("installed file %s is not in the zip", rel)
			}
		}
		return nil
	})
}

// envFileVar reads one variable of the E2E_WP_ENV file (start.sh's site).
func envFileVar(t *testing.T, name string) string {
	t.Helper()
	path := os.Getenv("E2E_WP_ENV")
	if path == "" {
		if os.Getenv("E2E_REQUIRED") != "" {
			t.Fatalf("E2E_REQUIRED is set but E2E_WP_ENV is not: this test needs %s from a site made by infra/wordpress/start.sh", name)
		}
		t.Skipf("needs E2E_WP_ENV (%s of a site made by infra/wordpress/start.sh)", name)
	}
	vars, err := readEnvFile(path)
	if err != nil || vars[name] == "" {
		t.Fatalf("E2E_WP_ENV %s: no %s (%v)", path, name, err)
	}
	return vars[name]
}

var noncePattern = regexp.MustCompile(`name="action" value="(igny8_connector_\w+)">\s*<input type="hidden" id="_wpnonce" name="_wpnonce" value="([0-9a-f]+)"`)

// TestConnectorPluginSettingsPage is the manual fallback: an administrator
// logged into wp-admin saves the three settings on Settings → IGNY8
// Connector, sees the secret only as "set, ending in …" and disconnects.
func TestConnectorPluginSettingsPage(t *testing.T) {
	wp := wordpressSite(t)
	password := envFileVar(t, "WP_ADMIN_PASSWORD")
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	base, _ := url.Parse(wp.URL)
	jar.SetCookies(base, []*http.Cookie{{Name: "wordpress_test_cookie", Value: "WP Cookie check", Path: "/"}})
	resp, err := browser.PostForm(wp.URL+"/wp-login.php", url.Values{"log": {wp.Username}, "pwd": {password}, "testcookie": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { wpCall(t, wp, "DELETE", "/wp-json/igny8/v1/config", nil, true) })

	page := func() string {
		t.Helper()
		resp, err := browser.Get(wp.URL + "/wp-admin/options-general.php?page=igny8-connector")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<h1>IGNY8 Connector</h1>")) {
			t.Fatalf("settings page: %d (logged in?) %.300s", resp.StatusCode, b)
		}
		return string(b)
	}
	nonces := func(html string) map[string]string {
		out := map[string]string{}
		for _, m := range noncePattern.FindAllStringSubmatch(html, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	submit := func(action, nonce string, fields url.Values) (int, string) {
		t.Helper()
		form := url.Values{"action": {action}, "_wpnonce": {nonce}}
		for k, v := range fields {
			form[k] = v
		}
		resp, err := browser.PostForm(wp.URL+"/wp-admin/admin-post.php", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	html := page()
	if !strings.Contains(html, "Not configured: nothing is sent.") || nonces(html)["igny8_connector_save"] == "" {
		t.Fatalf("unconfigured settings page: %s", html)
	}
	secret, _ := newWebhookSecret(t)
	fields := url.Values{"endpoint": {"https://hooks.example.com/api/v1/integration/webhook/wordpress/"}, "integration_id": {"int-settings-page"}, "secret": {secret}}

	if status, _ := submit("igny8_connector_save", "0badc0de00", fields); status != 403 {
		t.Errorf("save with a wrong nonce: status %d, want 403", status)
	}
	bad := url.Values{"endpoint": {"ftp://example.com/"}, "integration_id": {"int-settings-page"}, "secret": {secret}}
	if status, body := submit("igny8_connector_save", nonces(html)["igny8_connector_save"], bad); status != 200 || !strings.Contains(body, "The endpoint must be an http or https URL.") {
		t.Errorf("save with an ftp endpoint: %d, no error shown: %.500s", status, body)
	}
	status, body := submit("igny8_connector_save", nonces(html)["igny8_connector_save"], fields)
	if status != 200 || !strings.Contains(body, "Settings saved.") {
		t.Fatalf("save: %d %.500s", status, body)
	}
	if !strings.Contains(body, "Set, ending in …"+secret[len(secret)-4:]) || strings.Contains(body, strings.TrimPrefix(secret, "whsec_")[:12]) {
		t.Errorf("the page must show the secret's last four characters only")
	}
	cfg := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200)
	if cfg["endpoint"] != fields.Get("endpoint") || cfg["integration_id"] != "int-settings-page" || cfg["secret_set"] != true {
		t.Fatalf("config after saving the page: %v", cfg)
	}

	disconnect := nonces(body)["igny8_connector_disconnect"]
	if disconnect == "" {
		t.Fatal("no Disconnect button on a configured site")
	}
	if status, body := submit("igny8_connector_disconnect", disconnect, nil); status != 200 || !strings.Contains(body, "Disconnected") {
		t.Fatalf("disconnect: %d %.500s", status, body)
	}
	if cfg := wpJSON(t, wp, "GET", "/wp-json/igny8/v1/config", nil, 200); cfg["secret_set"] != false || cfg["endpoint"] != "" {
		t.Fatalf("config after disconnecting: %v", cfg)
	}
}
