package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/igny8/integrations/shared/content"
	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/integrations"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/ssrf"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
	"github.com/igny8/integrations/shared/testutil/fakewp"
	"github.com/igny8/integrations/shared/wordpress"
)

// lockedBuffer collects log lines written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiEnv is the API wired as in production — store and secrets on the
// embedded emulator, WordPress clients through the SSRF guard — talking to
// an httptest WordPress on loopback (allowed here, as in the local stack).
type apiEnv struct {
	h       func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	wp      *fakewp.Site
	sm      *secretsmanager.Client
	prefix  string
	ddb     *testutil.RequestCounter
	logs    *lockedBuffer
	service *integrations.Service
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	clients, counter := testutil.MustCountingClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	cfg := testConfig(t)
	cfg.AllowHTTP, cfg.AllowLoopback = true, true
	cfg.MaxBodyBytes = 64 << 10
	cfg.SecretPrefix = testutil.UniqueName(t, "igny8-test") + "/"
	logs := &lockedBuffer{}
	logger := logging.New(logs, slog.LevelDebug)
	policy := ssrf.Policy{AllowLoopback: true}
	svc := integrations.New(integrations.Deps{
		Store:     store.New(clients.DynamoDB, table),
		Secrets:   secrets.New(clients.SecretsManager, cfg.SecretPrefix, cfg.SecretsCacheTTL),
		AllowHTTP: true,
		Logger:    logger,
		// What the local stack sends the plugin.
		WebhookEndpoint: "http://127.0.0.1:3001/api/v1/integration/webhook/wordpress/",
		SecretGrace:     time.Hour,
		Connect: func(siteURL string, creds wordpress.Credentials) (integrations.Site, error) {
			return wordpress.New(siteURL, creds, wordpress.Options{Policy: policy, Sleep: noSleep})
		},
	})
	st := store.New(clients.DynamoDB, table)
	queue := testutil.MustCreateQueue(t, clients.SQS)
	engine := contentsync.New(contentsync.Deps{
		Store:       st,
		Credentials: sitecreds.New(secrets.New(clients.SecretsManager, cfg.SecretPrefix, cfg.SecretsCacheTTL)),
		Open: func(siteURL string, creds wordpress.Credentials) (*wordpress.Client, error) {
			return wordpress.New(siteURL, creds, wordpress.Options{Policy: policy, Sleep: noSleep})
		},
		Jobs:   jobs.NewSender(clients.SQS, queue),
		Logger: logger,
	})
	return &apiEnv{
		h: NewLambdaHandler(Deps{Config: cfg, Logger: logger, Integrations: svc, Sync: engine,
			Content: content.New(st, engine), Library: st}),
		wp:     fakewp.New(t),
		sm:     clients.SecretsManager,
		prefix: cfg.SecretPrefix, ddb: counter, logs: logs, service: svc,
	}
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// createBody is a create request for the env's WordPress.
func (e *apiEnv) createBody(siteID, password string) string {
	b, _ := json.Marshal(map[string]any{
		"site_id": siteID, "platform": "wordpress", "external_site_url": e.wp.URL + "/",
		"credentials": map[string]string{"username": e.wp.Username, "application_password": password},
	})
	return string(b)
}

// create makes an integration and returns its JSON.
func (e *apiEnv) create(t *testing.T, who caller, siteID string) map[string]any {
	t.Helper()
	r := call(t, e.h, "POST", "/api/v1/integration/", who, e.createBody(siteID, e.wp.Password))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.json(t)
}

// secretValue reads a secret straight from Secrets Manager.
func (e *apiEnv) secretValue(t *testing.T, name string) (string, error) {
	t.Helper()
	out, err := e.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.prefix + name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.SecretString), nil
}

// assertNoPassword fails if any response or log line so far contains the
// Application Password, with or without its spaces.
func (e *apiEnv) assertNoPassword(t *testing.T, password string, bodies ...[]byte) {
	t.Helper()
	forms := []string{password, strings.ReplaceAll(password, " ", "")}
	for _, f := range forms {
		if strings.Contains(e.logs.String(), f) {
			t.Fatalf("a log line contains the Application Password")
		}
		for _, b := range bodies {
			if bytes.Contains(b, []byte(f)) {
				t.Fatalf("a response contains the Application Password: %s", b)
			}
		}
	}
}

func TestCreateConnectsStoresSecretAndReadsStructure(t *testing.T) {
	e := newAPIEnv(t)
	r := call(t, e.h, "POST", "/api/v1/integration/", accountA, e.createBody("site-1", e.wp.Password))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var got struct {
		integrationJSON
		Connection integrations.ConnectionReport `json:"connection"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.ConnectionStatus != "connected" || got.Connection.Status != "connected" {
		t.Fatalf("connection_status %q, report %+v", got.ConnectionStatus, got.Connection)
	}
	if r.headers["Location"] != "/api/v1/integration/"+got.ID+"/" || r.headers["Etag"] == "" && r.headers["ETag"] == "" {
		t.Fatalf("headers %v", r.headers)
	}
	if got.ExternalSiteURL != e.wp.URL || got.Account != "acct-a" || !got.IsActive || !got.SyncEnabled {
		t.Fatalf("integration %+v", got.integrationJSON)
	}
	if u := got.Connection.User; u == nil || u.ID != 1 || u.Name != "Site Admin" || len(u.Roles) != 1 || u.Roles[0] != "administrator" {
		t.Fatalf("user %+v", got.Connection.User)
	}
	if !got.Connection.Capabilities["publish_posts"] || !got.Connection.Capabilities["upload_files"] || !got.Connection.Capabilities["manage_categories"] {
		t.Fatalf("capabilities %v", got.Connection.Capabilities)
	}
	if s := got.Connection.Site; s == nil || s.Name != "Fake Blog" || s.TimezoneString != "Europe/Berlin" || s.GMTOffset != 2 || !s.ApplicationPasswords {
		t.Fatalf("site %+v", got.Connection.Site)
	}
	c := got.Credentials
	if c.Username != "admin" || !c.ApplicationPasswordSet || c.ApplicationPasswordLast != "UVWX" {
		t.Fatalf("credentials shown as %+v", c)
	}
	// The structure was read with the connection: content types exposed
	// over REST, without WordPress's internal ones.
	st, _ := got.ConfigJSON["structure"].(map[string]any)
	var slugs []string
	for _, pt := range st["post_types"].([]any) {
		slugs = append(slugs, pt.(map[string]any)["slug"].(string))
	}
	if strings.Join(slugs, ",") != "page,post,product" {
		t.Fatalf("post types %v, want page,post,product", slugs)
	}
	// One secret per site holds the credentials.
	v, err := e.secretValue(t, "wordpress/credentials/"+got.ID)
	if err != nil || !strings.Contains(v, e.wp.Password) {
		t.Fatalf("secret: %v (holds the password: %v)", err, strings.Contains(v, e.wp.Password))
	}
	get := call(t, e.h, "GET", "/api/v1/integration/"+got.ID+"/", accountA, "")
	if get.status != 200 || get.json(t)["connection_status"] != "connected" {
		t.Fatalf("get: %d %s", get.status, get.body)
	}
	e.assertNoPassword(t, e.wp.Password, r.body, get.body)
}

func TestTestConnectionDiagnosesEachFailure(t *testing.T) {
	tests := []struct {
		mode     fakewp.Mode
		password string
		wantCode string
	}{
		{mode: fakewp.Healthy, wantCode: ""},
		{mode: fakewp.Healthy, password: "wrong wrong wrong wrong", wantCode: wordpress.CodeAuthFailed},
		{mode: fakewp.StripAuthorization, wantCode: wordpress.CodeAuthFailed},
		{mode: fakewp.HTMLInsteadOfJSON, wantCode: wordpress.CodeNotJSON},
		{mode: fakewp.Forbidden, wantCode: wordpress.CodeForbidden},
		{mode: fakewp.RESTDisabled, wantCode: wordpress.CodeRESTDisabled},
		{mode: fakewp.NoApplicationPasswords, wantCode: wordpress.CodeApplicationPasswordsOff},
		{mode: fakewp.Subscriber, wantCode: wordpress.CodeInsufficientCapabilities},
	}
	e := newAPIEnv(t)
	seen := map[string]bool{}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s%s", tt.mode, tt.password), func(t *testing.T) {
			e.wp.SetMode(fakewp.Healthy)
			password := e.wp.Password
			if tt.password != "" {
				password = tt.password
			}
			r := call(t, e.h, "POST", "/api/v1/integration/", accountA, strings.Replace(e.createBody(fmt.Sprintf("site-%d", i), password), e.wp.URL, fmt.Sprintf("%s/site%d", e.wp.URL, i), 1))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			id := r.json(t)["id"].(string)
			e.wp.SetMode(tt.mode)
			e.wp.ResetRequests()
			r = call(t, e.h, "POST", "/api/v1/integration/"+id+"/test_connection/", accountA, "")
			if r.status != 200 {
				t.Fatalf("test_connection: %d %s", r.status, r.body)
			}
			if n := e.wp.Requests(); n > 2 {
				t.Fatalf("test_connection made %d WordPress requests, want at most 2", n)
			}
			var rep testConnectionResponse
			if err := json.Unmarshal(r.body, &rep); err != nil {
				t.Fatal(err)
			}
			if tt.wantCode == "" {
				if rep.Status != "connected" || rep.ConnectionStatus != "connected" || rep.Error != nil {
					t.Fatalf("healthy site: %s", r.body)
				}
				return
			}
			if rep.Status != "error" || rep.ConnectionStatus != "error" || rep.Error == nil || rep.Error.Code != tt.wantCode {
				t.Fatalf("got %s, want error code %s", r.body, tt.wantCode)
			}
			if rep.Error.Message == "" || rep.Error.Hint == "" {
				t.Fatalf("diagnosis lacks a message or hint: %+v", rep.Error)
			}
			if seen[tt.wantCode+string(tt.mode)] {
				t.Fatalf("duplicate case")
			}
			seen[tt.wantCode+string(tt.mode)] = true
			// The outcome is stored on the integration.
			g := call(t, e.h, "GET", "/api/v1/integration/"+id+"/", accountA, "").json(t)
			conn := g["config_json"].(map[string]any)["connection"].(map[string]any)
			if g["connection_status"] != "error" || conn["error"].(map[string]any)["code"] != tt.wantCode {
				t.Fatalf("stored %v / %v", g["connection_status"], conn)
			}
			e.assertNoPassword(t, password, r.body)
		})
	}
	e.assertNoPassword(t, e.wp.Password)
}

func TestAuthFailureSaysBothCauses(t *testing.T) {
	e := newAPIEnv(t)
	id := e.create(t, accountA, "site-1")["id"].(string)
	e.wp.SetMode(fakewp.StripAuthorization)
	rep := call(t, e.h, "POST", "/api/v1/integration/"+id+"/test_connection/", accountA, "").json(t)
	diag := rep["error"].(map[string]any)
	text := strings.ToLower(fmt.Sprint(diag["message"], " ", diag["hint"]))
	for _, want := range []string{"password", "authorization", "htaccess"} {
		if !strings.Contains(text, want) {
			t.Errorf("auth diagnosis %q does not mention %q", text, want)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	e := newAPIEnv(t)
	e.create(t, accountA, "site-1")
	valid := func(mut func(m map[string]any)) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(e.createBody("site-2", e.wp.Password)), &m)
		mut(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantField  string
	}{
		{"other platform", valid(func(m map[string]any) { m["platform"] = "shopify" }), 422, "platform"},
		{"missing platform", valid(func(m map[string]any) { delete(m, "platform") }), 400, "platform"},
		{"missing url", valid(func(m map[string]any) { delete(m, "external_site_url") }), 400, "external_site_url"},
		{"url with credentials", valid(func(m map[string]any) { m["external_site_url"] = "https://u:p@example.com" }), 400, "external_site_url"},
		{"missing credentials", valid(func(m map[string]any) { delete(m, "credentials") }), 400, "credentials"},
		{"missing password", valid(func(m map[string]any) { m["credentials"] = map[string]any{"username": "admin"} }), 400, "credentials.application_password"},
		{"long username", valid(func(m map[string]any) {
			m["credentials"] = map[string]any{"username": strings.Repeat("u", 61), "application_password": "abcd efgh ijkl mnop"}
		}), 400, "credentials.username"},
		{"bad site id", valid(func(m map[string]any) { m["site_id"] = "a/b" }), 400, "site_id"},
		{"unknown field", valid(func(m map[string]any) { m["colour"] = "red" }), 400, "colour"},
		{"duplicate site", valid(func(m map[string]any) { m["site_id"] = "site-1"; m["external_site_url"] = "https://other.example.com" }), 409, "site_id"},
		{"duplicate URL, other spelling", valid(func(m map[string]any) {
			m["external_site_url"] = strings.ToUpper(strings.TrimPrefix(e.wp.URL, "http://")) + "/wp-admin/"
			m["external_site_url"] = "http://" + m["external_site_url"].(string)
		}), 409, "external_site_url"},
		{"config too deep", valid(func(m map[string]any) {
			deep := map[string]any{}
			cur := deep
			for range 10 {
				next := map[string]any{}
				cur["x"] = next
				cur = next
			}
			m["config_json"] = deep
		}), 400, "config_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, e.h, "POST", "/api/v1/integration/", accountA, tt.body)
			if r.status != tt.wantStatus || r.json(t)["field"] != tt.wantField {
				t.Fatalf("got %d %s, want %d on field %s", r.status, r.body, tt.wantStatus, tt.wantField)
			}
			if ct := r.headers["Content-Type"]; ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
		})
	}
	// Nothing half-written: only the first integration exists.
	var b listBody
	_ = json.Unmarshal(call(t, e.h, "GET", "/api/v1/integration/", accountA, "").body, &b)
	if len(b.Items) != 1 {
		t.Fatalf("%d integrations after rejected creates, want 1", len(b.Items))
	}
}

func TestHTTPSRequiredUnlessAllowed(t *testing.T) {
	clients := testutil.MustClients(t)
	svc := integrations.New(integrations.Deps{Store: store.New(clients.DynamoDB, "unused")})
	_, err := svc.Create(context.Background(), integrations.CreateInput{
		AccountID: "a", SiteID: "s", Platform: "wordpress", ExternalSiteURL: "http://example.com",
		Credentials: &integrations.Credentials{Username: "admin", ApplicationPassword: "abcd efgh ijkl mnop"},
	})
	if p := problemOf(err); p.Status != 400 || p.Field != "external_site_url" || !strings.Contains(p.Detail, "https") {
		t.Fatalf("http URL without DEV_ALLOW_HTTP: %+v", p)
	}
}

func TestTenantIsolationOnEveryRoute(t *testing.T) {
	e := newAPIEnv(t)
	id := e.create(t, accountA, "site-1")["id"].(string)
	cr := call(t, e.h, "POST", "/api/v1/content/", accountA, `{"site_id":"site-1","title":"A's draft","content":"<p>mine</p>"}`)
	if cr.status != 201 {
		t.Fatalf("create content: %d %s", cr.status, cr.body)
	}
	contentID := cr.json(t)["id"].(string)
	for _, rt := range NewServer(Deps{}).Routes() {
		// The AI settings and model registry are global, not tenant data
		// (ai_test.go covers who may read and change them).
		if !strings.Contains(rt.Path, "{id}") || strings.HasPrefix(rt.Path, "/api/v1/ai/") {
			continue
		}
		target := strings.Replace(rt.Path, "{id}", id, 1)
		if strings.HasPrefix(rt.Path, "/api/v1/content/") {
			target = strings.Replace(rt.Path, "{id}", contentID, 1)
		}
		body := ""
		switch {
		case strings.HasSuffix(rt.Path, "/test_collection_connection/"):
			body = `{"collection":"posts"}`
		case strings.HasPrefix(rt.Path, "/api/v1/content/") && (rt.Method == "PUT" || rt.Method == "PATCH"):
			body = `{"title":"stolen","content":"<p>x</p>"}`
		case strings.HasSuffix(rt.Path, "/resolve_conflict/"):
			body = `{"keep":"igny8"}`
		case rt.Method == "PUT" || rt.Method == "PATCH":
			body = `{"site_id":"stolen","platform":"wordpress","external_site_url":"https://x.example.com","is_active":false,"sync_enabled":false}`
		case rt.Method == "POST":
			body = `{}`
		}
		r := call(t, e.h, rt.Method, target, accountB, body)
		if r.status != 404 || r.json(t)["code"] != "not_found" {
			t.Errorf("account B %s %s: %d %s, want 404", rt.Method, rt.Path, r.status, r.body)
		}
	}
	var b listBody
	_ = json.Unmarshal(call(t, e.h, "GET", "/api/v1/integration/", accountB, "").body, &b)
	if len(b.Items) != 0 {
		t.Fatalf("account B lists %d integrations", len(b.Items))
	}
	// B's view of "site-1" is its own, empty one.
	for _, path := range []string{"/api/v1/content/?site_id=site-1", "/api/v1/sites/site-1/taxonomies/", "/api/v1/sites/site-1/images/"} {
		r := call(t, e.h, "GET", path, accountB, "")
		if r.status != 200 || len(r.json(t)["items"].([]any)) != 0 {
			t.Errorf("account B GET %s: %d %s, want an empty list", path, r.status, r.body)
		}
	}
	if r := call(t, e.h, "GET", "/api/v1/content/"+contentID+"/", accountA, ""); r.json(t)["title"] != "A's draft" {
		t.Fatalf("A's content after B's attempts: %s", r.body)
	}
	// A's integration is untouched.
	g := call(t, e.h, "GET", "/api/v1/integration/"+id+"/", accountA, "").json(t)
	if g["site_id"] != "site-1" || g["version"].(float64) < 1 {
		t.Fatalf("A's integration after B's attempts: %v", g)
	}
}

func TestRotateCredentials(t *testing.T) {
	e := newAPIEnv(t)
	created := e.create(t, accountA, "site-1")
	id := created["id"].(string)
	old := e.wp.Password

	// The site owner revokes the password and makes a new one.
	e.wp.Password = "NEWP ASSW ORDx yz12 3456 7890"
	rep := call(t, e.h, "POST", "/api/v1/integration/"+id+"/test_connection/", accountA, "").json(t)
	if rep["status"] != "error" {
		t.Fatalf("old password still accepted: %v", rep)
	}
	r := call(t, e.h, "PATCH", "/api/v1/integration/"+id+"/", accountA,
		`{"credentials":{"application_password":"`+e.wp.Password+`"}}`)
	if r.status != 200 {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["connection_status"] != "connected" || got["credentials"].(map[string]any)["application_password_last4"] != "7890" {
		t.Fatalf("after rotation: %s", r.body)
	}
	// The next call uses the new secret version.
	rep = call(t, e.h, "POST", "/api/v1/integration/"+id+"/test_connection/", accountA, "").json(t)
	if rep["status"] != "connected" {
		t.Fatalf("test after rotation: %v", rep)
	}
	v, err := e.secretValue(t, "wordpress/credentials/"+id)
	if err != nil || !strings.Contains(v, e.wp.Password) || strings.Contains(v, old) {
		t.Fatalf("secret after rotation: err %v", err)
	}
	e.assertNoPassword(t, e.wp.Password, r.body)
	e.assertNoPassword(t, old)
}

func TestUpdateRulesAndVersions(t *testing.T) {
	e := newAPIEnv(t)
	created := e.create(t, accountA, "site-1")
	id := created["id"].(string)
	path := "/api/v1/integration/" + id + "/"
	v := int(created["version"].(float64))

	// PATCH one field; connection is not retested (no WordPress request).
	e.wp.ResetRequests()
	r := call(t, e.h, "PATCH", path, accountA, `{"sync_enabled":false,"config_json":{"publish_status":"draft"}}`, "If-Match", fmt.Sprintf(`"%d"`, v))
	if r.status != 200 || e.wp.Requests() != 0 {
		t.Fatalf("patch: %d %s (%d WP requests)", r.status, r.body, e.wp.Requests())
	}
	got := r.json(t)
	cfg := got["config_json"].(map[string]any)
	if got["sync_enabled"] != false || got["is_active"] != true || cfg["publish_status"] != "draft" || cfg["structure"] == nil || cfg["connection"] == nil {
		t.Fatalf("after patch: %s", r.body)
	}
	// A stale If-Match is refused.
	r = call(t, e.h, "PATCH", path, accountA, `{"is_active":false}`, "If-Match", fmt.Sprintf(`"%d"`, v))
	if r.status != 412 || r.json(t)["code"] != "precondition_failed" {
		t.Fatalf("stale patch: %d %s", r.status, r.body)
	}
	// PUT needs every field…
	r = call(t, e.h, "PUT", path, accountA, `{"site_id":"site-1"}`)
	if r.status != 400 || r.json(t)["field"] != "platform" {
		t.Fatalf("partial put: %d %s", r.status, r.body)
	}
	// …and accepts what GET returned, read-only fields included.
	g := call(t, e.h, "GET", path, accountA, "")
	var back map[string]any
	_ = json.Unmarshal(g.body, &back)
	back["is_active"] = false
	b, _ := json.Marshal(back)
	r = call(t, e.h, "PUT", path, accountA, string(b))
	if r.status != 200 || r.json(t)["is_active"] != false || r.json(t)["connection_status"] != "connected" {
		t.Fatalf("round-trip put: %d %s", r.status, r.body)
	}
	// If-None-Match with the current ETag is 304.
	etag := r.headers["Etag"]
	if etag == "" {
		etag = r.headers["ETag"]
	}
	if r := call(t, e.h, "GET", path, accountA, "", "If-None-Match", etag); r.status != 304 {
		t.Fatalf("conditional get: %d", r.status)
	}
}

func TestDeleteRemovesSecretAndFreesTheSite(t *testing.T) {
	e := newAPIEnv(t)
	id := e.create(t, accountA, "site-1")["id"].(string)
	if _, err := e.secretValue(t, "wordpress/credentials/"+id); err != nil {
		t.Fatalf("secret before delete: %v", err)
	}
	r := call(t, e.h, "DELETE", "/api/v1/integration/"+id+"/", accountA, "")
	if r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := e.secretValue(t, "wordpress/credentials/"+id); err == nil {
		t.Fatal("the credentials secret survived the delete")
	}
	if r := call(t, e.h, "GET", "/api/v1/integration/"+id+"/", accountA, ""); r.status != 404 {
		t.Fatalf("get after delete: %d", r.status)
	}
	if r := call(t, e.h, "DELETE", "/api/v1/integration/"+id+"/", accountA, ""); r.status != 404 {
		t.Fatalf("second delete: %d", r.status)
	}
	// The site and URL are free again.
	e.create(t, accountA, "site-1")
}

func TestContentTypesCountsAndCaching(t *testing.T) {
	e := newAPIEnv(t)
	id := e.create(t, accountA, "site-1")["id"].(string)
	path := "/api/v1/integration/" + id + "/content_types/"
	e.wp.SetCount("posts", 250)

	e.wp.ResetRequests()
	r := call(t, e.h, "GET", path, accountA, "")
	if r.status != 200 {
		t.Fatalf("content_types: %d %s", r.status, r.body)
	}
	var ct integrations.ContentTypes
	if err := json.Unmarshal(r.body, &ct); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, it := range ct.Items {
		if it.Count == nil {
			t.Fatalf("%s has no count: %+v", it.Slug, it.Error)
		}
		counts[it.Slug] = *it.Count
	}
	if counts["post"] != 250 || counts["page"] != 3 || counts["product"] != 4 || len(counts) != 3 {
		t.Fatalf("counts %v", counts)
	}
	// The structure was fresh from create, so only the three counts were read.
	if n := e.wp.Requests(); n != 3 {
		t.Fatalf("content_types made %d WordPress requests, want 3 (one per type)", n)
	}
	// Within STRUCTURE_MAX_AGE the stored counts are served.
	e.wp.ResetRequests()
	if r := call(t, e.h, "GET", path, accountA, ""); r.status != 200 || e.wp.Requests() != 0 {
		t.Fatalf("cached content_types: %d, %d WordPress requests", r.status, e.wp.Requests())
	}
	// refresh=true reads structure and counts again.
	e.wp.SetCount("posts", 251)
	r = call(t, e.h, "GET", path+"?refresh=true", accountA, "")
	if !strings.Contains(string(r.body), `"count":251`) || e.wp.Requests() != 5 {
		t.Fatalf("refresh: %s (%d requests)", r.body, e.wp.Requests())
	}
	// A refresh that fails shows the stored data, marked stale.
	e.wp.SetMode(fakewp.HTMLInsteadOfJSON)
	r = call(t, e.h, "GET", path+"?refresh=1", accountA, "")
	got := r.json(t)
	if r.status != 200 || got["stale"] != true || got["refresh_error"].(map[string]any)["code"] != wordpress.CodeNotJSON {
		t.Fatalf("failed refresh: %d %s", r.status, r.body)
	}
}

func TestTestCollectionAndUpdateStructure(t *testing.T) {
	e := newAPIEnv(t)
	id := e.create(t, accountA, "site-1")["id"].(string)
	base := "/api/v1/integration/" + id + "/"

	r := call(t, e.h, "POST", base+"test_collection_connection/", accountA, `{"collection":"pages"}`)
	if r.status != 200 || r.json(t)["status"] != "ok" || r.json(t)["total"].(float64) != 3 {
		t.Fatalf("pages: %d %s", r.status, r.body)
	}
	r = call(t, e.h, "POST", base+"test_collection_connection/", accountA, `{"collection":"widgets"}`)
	if r.status != 200 || r.json(t)["status"] != "error" || !strings.Contains(string(r.body), "widgets") {
		t.Fatalf("unknown collection: %d %s", r.status, r.body)
	}
	r = call(t, e.h, "POST", base+"test_collection_connection/", accountA, `{"collection":"../users"}`)
	if r.status != 400 || r.json(t)["field"] != "collection" {
		t.Fatalf("bad collection: %d %s", r.status, r.body)
	}

	e.wp.ResetRequests()
	r = call(t, e.h, "POST", base+"update_structure/", accountA, "")
	if r.status != 200 || e.wp.Requests() != 2 {
		t.Fatalf("update_structure: %d %s (%d requests)", r.status, r.body, e.wp.Requests())
	}
	var st integrations.Structure
	_ = json.Unmarshal(r.body, &st)
	if len(st.PostTypes) != 3 || len(st.Taxonomies) != 2 || st.FetchedAt.IsZero() {
		t.Fatalf("structure %+v", st)
	}
	e.wp.SetMode(fakewp.Forbidden)
	r = call(t, e.h, "POST", base+"update_structure/", accountA, "")
	if r.status != 502 || r.json(t)["code"] != wordpress.CodeForbidden {
		t.Fatalf("update_structure on a blocked site: %d %s", r.status, r.body)
	}
}

func TestListIsOneQuery(t *testing.T) {
	e := newAPIEnv(t)
	e.create(t, accountA, "site-1")
	e.ddb.Reset()
	if r := call(t, e.h, "GET", "/api/v1/integration/", accountA, ""); r.status != 200 {
		t.Fatal(r.status)
	}
	if e.ddb.Total() != 1 || e.ddb.Count("Query") != 1 {
		t.Fatalf("list made %v", e.ddb.Snapshot())
	}
}
