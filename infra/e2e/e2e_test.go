package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/igny8/integrations/infra/local"
)

// site is the real WordPress under test.
type site struct {
	URL, Username, AppPassword string
}

// wordpressSite reads the WordPress to test from the environment: E2E_WP_URL,
// E2E_WP_USERNAME and E2E_WP_APP_PASSWORD, or E2E_WP_ENV naming the env
// file start.sh writes (WP_URL, WP_USERNAME, WP_APP_PASSWORD).
func wordpressSite(t *testing.T) site {
	t.Helper()
	s := site{URL: os.Getenv("E2E_WP_URL"), Username: os.Getenv("E2E_WP_USERNAME"), AppPassword: os.Getenv("E2E_WP_APP_PASSWORD")}
	if path := os.Getenv("E2E_WP_ENV"); path != "" && s.URL == "" {
		vars, err := readEnvFile(path)
		if err != nil {
			t.Fatalf("E2E_WP_ENV: %v", err)
		}
		s = site{URL: vars["WP_URL"], Username: vars["WP_USERNAME"], AppPassword: vars["WP_APP_PASSWORD"]}
	}
	if s.URL == "" || s.Username == "" || s.AppPassword == "" {
		if os.Getenv("E2E_REQUIRED") != "" {
			t.Fatal("E2E_REQUIRED is set but no WordPress is configured (E2E_WP_ENV or E2E_WP_URL, E2E_WP_USERNAME, E2E_WP_APP_PASSWORD)")
		}
		t.Skip("end-to-end tier skipped: no WordPress configured; `make e2e` starts one and runs this tier")
	}
	return s
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if ok {
			vars[k] = strings.Trim(v, `"'`)
		}
	}
	return vars, sc.Err()
}

// syncBuffer collects the stack's logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a running local stack plus the WordPress it talks to.
type env struct {
	wp    site
	stack *local.Stack
	logs  *syncBuffer
}

func start(t *testing.T) *env { return startWith(t, local.Options{}) }

// startWith starts the stack with opts (addresses, prefixes and loggers
// are filled in).
func startWith(t *testing.T, opts local.Options) *env {
	t.Helper()
	wp := wordpressSite(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.APIAddr, opts.WebhookAddr, opts.SigningKeyPath = "127.0.0.1:0", "127.0.0.1:0", "-"
	opts.NamePrefix = fmt.Sprintf("e2e%d-", time.Now().UnixNano()%1e9)
	opts.SecretPrefix = fmt.Sprintf("igny8/e2e/%d/", time.Now().UnixNano())
	opts.Logger, opts.AppLogger = logger, logger
	st, err := local.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// Connecting configures the companion plugin to deliver to this stack;
	// once the stack is gone, the site must not keep trying.
	t.Cleanup(func() { disconnectPlugin(t, wp) })
	return &env{wp: wp, stack: st, logs: logs}
}

// client is one account's API caller.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (e *env) account(t *testing.T, name string) *client {
	t.Helper()
	tok, err := e.stack.Token(fmt.Sprintf("%s-%d", name, time.Now().UnixNano()), false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: e.stack.APIURL, token: tok}
}

type result struct {
	status int
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON object: %s", r.body)
	}
	return m
}

func (c *client) do(method, path string, body any) result {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: b}
}

// wpTotal asks WordPress itself how many items a collection has.
func (e *env) wpTotal(t *testing.T, restBase string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.wp.URL+"/wp-json/wp/v2/"+restBase+"?per_page=1&context=edit", nil)
	req.SetBasicAuth(e.wp.Username, e.wp.AppPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var n int
	if _, err := fmt.Sscan(resp.Header.Get("X-WP-Total"), &n); err != nil {
		t.Fatalf("WordPress sent no X-WP-Total for %s (status %d)", restBase, resp.StatusCode)
	}
	return n
}

// newApplicationPassword creates a second Application Password for the
// admin through WordPress's own REST API, for the rotation test.
func (e *env) newApplicationPassword(t *testing.T, name string) (password, uuid string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.wp.URL+"/wp-json/wp/v2/users/me/application-passwords",
		strings.NewReader(fmt.Sprintf(`{"name":%q}`, name)))
	req.SetBasicAuth(e.wp.Username, e.wp.AppPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Password string `json:"password"`
		UUID     string `json:"uuid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 || out.Password == "" {
		t.Fatalf("create application password: status %d, %v", resp.StatusCode, err)
	}
	return out.Password, out.UUID
}

func (e *env) revokeApplicationPassword(t *testing.T, uuid string) {
	t.Helper()
	req, _ := http.NewRequest("DELETE", e.wp.URL+"/wp-json/wp/v2/users/me/application-passwords/"+uuid, nil)
	req.SetBasicAuth(e.wp.Username, e.wp.AppPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke application password: status %d", resp.StatusCode)
	}
}

func (e *env) secretExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := e.stack.Clients.SecretsManager.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(e.stack.Config.SecretPrefix + name),
	})
	return err == nil
}

func (e *env) assertNoSecretLeak(t *testing.T, passwords []string, bodies ...[]byte) {
	t.Helper()
	for _, p := range passwords {
		for _, form := range []string{p, strings.ReplaceAll(p, " ", "")} {
			if strings.Contains(e.logs.String(), form) {
				t.Fatal("the stack's logs contain an Application Password")
			}
			for _, b := range bodies {
				if bytes.Contains(b, []byte(form)) {
					t.Fatalf("a response contains an Application Password: %s", b)
				}
			}
		}
	}
}

func TestConnectRealWordPress(t *testing.T) {
	e := start(t)
	api := e.account(t, "e2e-connect")

	// Create: the service tests the credentials and reads the structure.
	created := api.do("POST", "/api/v1/integration/", map[string]any{
		"site_id": "blog", "platform": "wordpress", "external_site_url": e.wp.URL + "/wp-admin/",
		"credentials": map[string]string{"username": e.wp.Username, "application_password": e.wp.AppPassword},
	})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	in := created.json(t)
	id := in["id"].(string)
	conn := in["connection"].(map[string]any)
	if in["connection_status"] != "connected" || in["external_site_url"] != e.wp.URL {
		t.Fatalf("create: %s", created.body)
	}
	user := conn["user"].(map[string]any)
	if user["username"] != e.wp.Username || !strings.Contains(fmt.Sprint(user["roles"]), "administrator") {
		t.Fatalf("connected as %v, want the admin", user)
	}
	if caps := conn["capabilities"].(map[string]any); caps["publish_posts"] != true || caps["upload_files"] != true {
		t.Fatalf("capabilities %v", caps)
	}
	if site := conn["site"].(map[string]any); site["application_passwords"] != true || !strings.Contains(fmt.Sprint(site["namespaces"]), "wp/v2") {
		t.Fatalf("site %v", site)
	}

	// test_connection on its own.
	tc := api.do("POST", "/api/v1/integration/"+id+"/test_connection/", nil)
	if tc.status != 200 || tc.json(t)["status"] != "connected" {
		t.Fatalf("test_connection: %d %s", tc.status, tc.body)
	}

	// update_structure lists posts and pages with their REST bases.
	us := api.do("POST", "/api/v1/integration/"+id+"/update_structure/", nil)
	if us.status != 200 {
		t.Fatalf("update_structure: %d %s", us.status, us.body)
	}
	bases := map[string]string{}
	for _, pt := range us.json(t)["post_types"].([]any) {
		m := pt.(map[string]any)
		bases[m["slug"].(string)] = m["rest_base"].(string)
	}
	if bases["post"] != "posts" || bases["page"] != "pages" || bases["attachment"] != "" {
		t.Fatalf("post types %v: want post→posts and page→pages, no attachment", bases)
	}

	// content_types counts equal what WordPress reports.
	ct := api.do("GET", "/api/v1/integration/"+id+"/content_types/?refresh=true", nil)
	if ct.status != 200 {
		t.Fatalf("content_types: %d %s", ct.status, ct.body)
	}
	for _, item := range ct.json(t)["items"].([]any) {
		m := item.(map[string]any)
		if m["count"] == nil {
			t.Fatalf("no count for %v", m)
		}
		if want := e.wpTotal(t, m["rest_base"].(string)); int(m["count"].(float64)) != want {
			t.Fatalf("%s: content_types says %v, WordPress says %d", m["slug"], m["count"], want)
		}
	}

	// test_collection_connection: posts and an unknown collection.
	col := api.do("POST", "/api/v1/integration/"+id+"/test_collection_connection/", map[string]string{"collection": "posts"})
	if col.status != 200 || int(col.json(t)["total"].(float64)) != e.wpTotal(t, "posts") {
		t.Fatalf("test_collection_connection posts: %d %s", col.status, col.body)
	}
	col = api.do("POST", "/api/v1/integration/"+id+"/test_collection_connection/", map[string]string{"collection": "no-such-type"})
	if col.status != 200 || col.json(t)["status"] != "error" {
		t.Fatalf("test_collection_connection unknown: %d %s", col.status, col.body)
	}

	// Rotation: a new Application Password replaces the old one, then the
	// old one is revoked in WordPress; the integration keeps working.
	newPassword, newUUID := e.newApplicationPassword(t, fmt.Sprintf("igny8-rotation-%d", time.Now().UnixNano()))
	rot := api.do("PATCH", "/api/v1/integration/"+id+"/", map[string]any{"credentials": map[string]string{"application_password": newPassword}})
	if rot.status != 200 || rot.json(t)["connection_status"] != "connected" {
		t.Fatalf("rotate: %d %s", rot.status, rot.body)
	}
	e.revokeApplicationPasswordAfter(t, newUUID)
	tc = api.do("POST", "/api/v1/integration/"+id+"/test_connection/", nil)
	if tc.status != 200 || tc.json(t)["status"] != "connected" {
		t.Fatalf("test_connection after rotation: %d %s", tc.status, tc.body)
	}

	// Another account cannot see it.
	other := e.account(t, "e2e-other")
	if r := other.do("GET", "/api/v1/integration/"+id+"/", nil); r.status != 404 {
		t.Fatalf("other account: %d", r.status)
	}

	// Delete removes the secret.
	secretName := "wordpress/credentials/" + id
	if !e.secretExists(t, secretName) {
		t.Fatal("no credentials secret before delete")
	}
	if r := api.do("DELETE", "/api/v1/integration/"+id+"/", nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if e.secretExists(t, secretName) {
		t.Fatal("the credentials secret survived the delete")
	}
	e.assertNoSecretLeak(t, []string{e.wp.AppPassword, newPassword}, created.body, tc.body, rot.body, ct.body, us.body)
}

// revokeApplicationPasswordAfter revokes the rotation password when the
// test ends, so repeated runs don't pile up passwords in WordPress.
func (e *env) revokeApplicationPasswordAfter(t *testing.T, uuid string) {
	t.Cleanup(func() { e.revokeApplicationPassword(t, uuid) })
}

func TestWrongPasswordIsDiagnosed(t *testing.T) {
	e := start(t)
	api := e.account(t, "e2e-wrong")
	wrong := "aaaa bbbb cccc dddd eeee ffff"
	r := api.do("POST", "/api/v1/integration/", map[string]any{
		"site_id": "blog", "platform": "wordpress", "external_site_url": e.wp.URL,
		"credentials": map[string]string{"username": e.wp.Username, "application_password": wrong},
	})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	in := r.json(t)
	conn := in["connection"].(map[string]any)
	diag, _ := conn["error"].(map[string]any)
	if in["connection_status"] != "error" || diag["code"] != "auth_failed" || diag["wordpress_code"] != "rest_not_logged_in" {
		t.Fatalf("wrong password: %s", r.body)
	}
	tc := api.do("POST", "/api/v1/integration/"+in["id"].(string)+"/test_connection/", nil)
	if tc.json(t)["error"].(map[string]any)["code"] != "auth_failed" {
		t.Fatalf("test_connection: %s", tc.body)
	}
	e.assertNoSecretLeak(t, []string{wrong, e.wp.AppPassword}, r.body, tc.body)
	if r := api.do("DELETE", "/api/v1/integration/"+in["id"].(string)+"/", nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
}
