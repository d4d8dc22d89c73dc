package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/igny8/integrations/shared/aiproviders"
	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/aisettings"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

var (
	adminA = caller{"sub": "admin-a", "custom:account_id": "acct-a", "scope": "igny8/admin"}
	// adminGroup is an admin by Cognito group, as the stack's pool issues.
	adminGroup = caller{"sub": "admin-g", "custom:account_id": "acct-g", "cognito:groups": "[igny8/admin]"}
)

// fakeProviders answers the four providers' connection tests on one
// httptest server, with their documented success bodies for the keys in
// valid and their documented invalid-key bodies for any other key.
type fakeProviders struct {
	*httptest.Server
	mu    sync.Mutex
	valid map[string]string // provider → accepted key
	calls int
}

func newFakeProviders(t *testing.T) *fakeProviders {
	f := &fakeProviders{valid: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls++
		valid := f.valid
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/models" && r.Header.Get("x-api-key") != "":
			if r.Header.Get("x-api-key") != valid["anthropic"] || r.Header.Get("anthropic-version") == "" {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
				return
			}
			_, _ = io.WriteString(w, `{"data":[{"type":"model","id":"claude-3-haiku-20240307"}],"has_more":false}`)
		case r.URL.Path == "/v1/models":
			if r.Header.Get("Authorization") != "Bearer "+valid["openai"] {
				w.WriteHeader(401)
				key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				// OpenAI quotes the key, masked, in its message.
				_, _ = fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s****%s.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, key[:8], key[len(key)-4:])
				return
			}
			_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"}]}`)
		case r.URL.Path == "/v1" && r.Method == "POST":
			var tasks []map[string]string
			_ = json.NewDecoder(r.Body).Decode(&tasks)
			if len(tasks) != 1 || tasks[0]["apiKey"] != valid["runware"] {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"errors":[{"code":"invalidApiKey","message":"Invalid API key. Get one at https://my.runware.ai/signup","parameter":"apiKey","taskType":"authentication"}]}`)
				return
			}
			_, _ = io.WriteString(w, `{"data":[{"taskType":"authentication","connectionSessionUUID":"f40c2aeb-f8a7-4af7-a1ab-7b8b29a5bad2"}]}`)
		case strings.HasPrefix(r.URL.Path, "/v2/status/"):
			if r.Header.Get("api_token") != valid["bria"] {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"error":{"code":401,"message":"Unauthorized"}}`)
				return
			}
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"code":404,"message":"Request ID not found"}}`)
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProviders) accept(provider, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid[provider] = key
}

// aiEnv is the API with the real AI settings service and registry on the
// emulator, and the providers on a local server.
type aiEnv struct {
	h         func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	sm        *secretsmanager.Client
	ddb       *dynamodb.Client
	table     string
	prefix    string
	counter   *testutil.RequestCounter
	logs      *lockedBuffer
	providers *fakeProviders
	bodies    [][]byte
	doc       map[string]any
}

func newAIEnv(t *testing.T) *aiEnv {
	t.Helper()
	clients, counter := testutil.MustCountingClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	cfg := testConfig(t)
	cfg.MaxBodyBytes = 64 << 10
	cfg.SecretPrefix = testutil.UniqueName(t, "igny8-ai") + "/"
	logs := &lockedBuffer{}
	logger := logging.New(logs, slog.LevelDebug)
	st := store.New(clients.DynamoDB, table)
	file, err := airegistry.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	reg := airegistry.New(st, file, time.Minute, logger)
	providers := newFakeProviders(t)
	svc := aisettings.New(aisettings.Deps{
		Store: st, Secrets: secrets.New(clients.SecretsManager, cfg.SecretPrefix, cfg.SecretsCacheTTL), Registry: reg, Logger: logger,
		Checker: aiproviders.New(aiproviders.BaseURLs{OpenAI: providers.URL, Anthropic: providers.URL, Runware: providers.URL, Bria: providers.URL}, 2*time.Second),
	})
	return &aiEnv{
		h:  NewLambdaHandler(Deps{Config: cfg, Logger: logger, Integrations: &emptyStore{}, AI: svc, Models: reg}),
		sm: clients.SecretsManager, ddb: clients.DynamoDB, table: table, prefix: cfg.SecretPrefix,
		counter: counter, logs: logs, providers: providers, doc: openAPI(t),
	}
}

// do sends a request, checks its status and that the answer is what
// openapi.json documents for the route and status, and keeps the body for
// the no-secret checks.
func (e *aiEnv) do(t *testing.T, method, route, target string, who caller, body string, wantStatus int, headers ...string) map[string]any {
	t.Helper()
	r := call(t, e.h, method, target, who, body, headers...)
	e.bodies = append(e.bodies, r.body)
	if r.status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, target, r.status, wantStatus, r.body)
	}
	op := operations(e.doc)[method+" "+route]
	if op == nil {
		t.Fatalf("openapi.json does not document %s %s", method, route)
	}
	resp, ok := obj(op["responses"])[strconv.Itoa(r.status)]
	if !ok {
		t.Fatalf("%s %s does not document status %d", method, route, r.status)
	}
	media, _, _ := strings.Cut(r.headers["Content-Type"], ";")
	schema := obj(obj(resolveRef(t, e.doc, resp)["content"])[media])["schema"]
	if schema == nil {
		t.Fatalf("%s %s %d documents no %q body", method, route, r.status, media)
	}
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %q", r.body)
	}
	for _, p := range conform(t, e.doc, schema, v, "body") {
		t.Error(p)
	}
	m, _ := v.(map[string]any)
	for k, etag := range r.headers {
		if strings.EqualFold(k, "ETag") && m != nil {
			m["_etag"] = etag
		}
	}
	return m
}

// assertNoKey fails if any response body or log line so far contains one
// of keys (whole, or the part before its last four characters).
func (e *aiEnv) assertNoKey(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		for _, form := range []string{k, k[:len(k)-4]} {
			for _, b := range e.bodies {
				if strings.Contains(string(b), form) {
					t.Fatalf("a response body contains a key: %s", b)
				}
			}
			if strings.Contains(e.logs.String(), form) {
				t.Fatalf("a log line contains a key: %s", e.logs.String())
			}
		}
	}
}

func (e *aiEnv) secret(t *testing.T, stage string) map[string]string {
	t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.prefix + aisettings.SecretName)}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := e.sm.GetSecretValue(context.Background(), in)
	if err != nil {
		t.Fatalf("read the keys secret (%s): %v", stage, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rawSettingsItem is the settings item as stored, every attribute rendered.
func (e *aiEnv) rawSettingsItem(t *testing.T) string {
	t.Helper()
	key := store.AISettingsKey()
	out, err := e.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: map[string]ddbtypes.AttributeValue{
		store.AttrPK: &ddbtypes.AttributeValueMemberS{Value: key.PK}, store.AttrSK: &ddbtypes.AttributeValueMemberS{Value: key.SK}}})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("read the settings item: %v (%d attributes)", err, len(out.Item))
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func providerView(m map[string]any, p string) map[string]any {
	return obj(obj(m["providers"])[p])
}

const (
	settingsRoute = "/api/v1/ai/settings/"
	openAIKey1    = "sk-proj-FIRSTkeyAAAAAAAAAAAAAAAA1111"
	openAIKey2    = "sk-proj-SECONDkeyBBBBBBBBBBBBBBB2222"
	anthropicKey  = "sk-ant-api03-ANTHROPICkeyCCCCCCCC3333"
	runwareKey    = "RUNWAREkeyDDDDDDDDDDDDDDDDDDD4444"
	briaKey       = "BRIAkeyEEEEEEEEEEEEEEEEEEEEEEEE5555"
)

func TestAISettingsKeysSetMaskRotateClear(t *testing.T) {
	e := newAIEnv(t)
	// Before the first save: the data file's defaults, no keys, version 0.
	g := e.do(t, "GET", settingsRoute, settingsRoute, adminA, "", 200)
	if g["version"].(float64) != 0 || g["default_text_model"] != "gpt-4o-mini" || g["default_image_provider"] != "openai" || providerView(g, "openai")["key_set"] != false {
		t.Fatalf("initial settings %v", g)
	}

	set := e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"openai_api_key":"`+openAIKey1+`","anthropic_api_key":"`+anthropicKey+`"}`, 200)
	if o := providerView(set, "openai"); o["key_set"] != true || o["key_last4"] != "1111" || o["updated_at"] == nil {
		t.Fatalf("openai after set: %v", o)
	}
	if a := providerView(set, "anthropic"); a["key_set"] != true || a["key_last4"] != "3333" {
		t.Fatalf("anthropic after set: %v", a)
	}
	if r := providerView(set, "runware"); r["key_set"] != false || r["key_last4"] != nil || r["updated_at"] != nil {
		t.Fatalf("runware without a key: %v", r)
	}
	if set["version"].(float64) != 1 || set["_etag"] != `"1"` {
		t.Fatalf("version %v etag %v after the first save", set["version"], set["_etag"])
	}
	if s := e.secret(t, ""); s["openai_api_key"] != openAIKey1 || s["anthropic_api_key"] != anthropicKey || len(s) != 2 {
		t.Fatalf("secret after set has %d keys", len(s))
	}
	if item := e.rawSettingsItem(t); strings.Contains(item, openAIKey1[:12]) || strings.Contains(item, anthropicKey[:12]) || !strings.Contains(item, "1111") {
		t.Fatalf("the DynamoDB item holds a key, or lacks the last four characters")
	}
	firstChange := providerView(set, "openai")["updated_at"]

	// Rotate with optimistic locking: the old value stays as AWSPREVIOUS.
	time.Sleep(2 * time.Millisecond)
	rot := e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"openai_api_key":"`+openAIKey2+`"}`, 200, "If-Match", `"1"`)
	if o := providerView(rot, "openai"); o["key_last4"] != "2222" || o["updated_at"] == firstChange {
		t.Fatalf("openai after rotation: %v", o)
	}
	if a := providerView(rot, "anthropic"); a["key_last4"] != "3333" {
		t.Fatalf("rotating openai changed anthropic: %v", a)
	}
	if cur, prev := e.secret(t, ""), e.secret(t, "AWSPREVIOUS"); cur["openai_api_key"] != openAIKey2 || prev["openai_api_key"] != openAIKey1 {
		t.Fatalf("after rotation the current and previous secret versions are wrong")
	}
	e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"openai_api_key":"`+openAIKey1+`"}`, 412, "If-Match", `"1"`)
	if e.secret(t, "")["openai_api_key"] != openAIKey2 {
		t.Fatal("a request refused for a stale version changed the key")
	}

	// A client that read the settings before the first save is stale now.
	e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"default_text_model":"gpt-4o","version":0}`, 412)

	// Clear: null and "" both clear; absent keys are kept.
	cl := e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"anthropic_api_key":null,"default_text_model":"claude-3-haiku"}`, 200)
	if a := providerView(cl, "anthropic"); a["key_set"] != false || a["key_last4"] != nil {
		t.Fatalf("anthropic after clearing: %v", a)
	}
	if providerView(cl, "openai")["key_last4"] != "2222" || cl["default_text_model"] != "claude-3-haiku" {
		t.Fatalf("clearing anthropic changed other settings: %v", cl)
	}
	cl = e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"openai_api_key":""}`, 200)
	if providerView(cl, "openai")["key_set"] != false || len(e.secret(t, "")) != 0 {
		t.Fatalf("after clearing both keys: %v, secret has %d keys", cl, len(e.secret(t, "")))
	}

	// A client may PUT back what it read; keys stay write-only.
	read := call(t, e.h, "GET", settingsRoute, adminGroup, "")
	if read.status != 200 {
		t.Fatalf("admin by Cognito group: %d %s", read.status, read.body)
	}
	e.do(t, "PUT", settingsRoute, settingsRoute, adminGroup, string(read.body), 200)
	e.do(t, "PUT", settingsRoute, settingsRoute, adminA, `{"openai_api_key":"`+openAIKey1+`"}`, 400)

	for _, bad := range []struct{ body, field string }{
		{`{"openai_api_key":"short"}`, "openai_api_key"},
		{`{"bria_api_key":"has a space inside it ok"}`, "bria_api_key"},
		{`{"runware_api_key":12345678901234567890}`, ""},
		{`{"mistral_api_key":"` + briaKey + `"}`, "mistral_api_key"},
	} {
		p := e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, bad.body, 400)
		if bad.field != "" && p["field"] != bad.field {
			t.Errorf("%s: field %v, want %s", bad.body, p["field"], bad.field)
		}
	}
	e.assertNoKey(t, openAIKey1, openAIKey2, anthropicKey, briaKey)
}

func TestAIDefaultsAreCheckedAgainstTheRegistry(t *testing.T) {
	e := newAIEnv(t)
	e.do(t, "DELETE", "/api/v1/ai/models/{id}/", "/api/v1/ai/models/bria-2.2/", adminA, "", 200)
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"an image model as the text default", `{"default_text_model":"dall-e-3"}`, 422, "default_text_model"},
		{"an unknown text model", `{"default_text_model":"gpt-9"}`, 422, "default_text_model"},
		{"an image model of another provider", `{"default_image_model":"runware-v2"}`, 422, "default_image_model"},
		{"a provider without the current image model", `{"default_image_provider":"bria"}`, 422, "default_image_provider"},
		{"a provider without image models", `{"default_image_provider":"anthropic"}`, 400, "default_image_provider"},
		{"an inactive image model", `{"default_image_model":"bria-2.2","default_image_provider":"bria"}`, 422, "default_image_model"},
		{"a text model as the image default", `{"default_image_model":"gpt-4o"}`, 422, "default_image_model"},
		{"a PUT without the image provider", `{"default_text_model":"gpt-4o","default_image_model":"dall-e-3"}`, 400, "default_image_provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "PATCH"
			if strings.HasPrefix(tt.name, "a PUT") {
				method = "PUT"
			}
			p := e.do(t, method, settingsRoute, settingsRoute, adminA, tt.body, tt.status)
			if p["field"] != tt.field {
				t.Fatalf("field %v, want %s: %v", p["field"], tt.field, p)
			}
		})
	}
	ok := e.do(t, "PUT", settingsRoute, settingsRoute, adminA, `{"default_text_model":"claude-3-haiku","default_image_model":"bria-2.3-fast","default_image_provider":"bria"}`, 200)
	if ok["default_image_model"] != "bria-2.3-fast" || ok["default_image_provider"] != "bria" || ok["version"].(float64) != 1 {
		t.Fatalf("valid PUT: %v", ok)
	}
}

func TestNonAdminsGet403OnEveryAdminRoute(t *testing.T) {
	e := newAIEnv(t)
	var admin []string
	for _, rt := range NewServer(Deps{}).Routes() {
		if rt.Auth != Admin {
			continue
		}
		admin = append(admin, rt.Method+" "+rt.Path)
		target := strings.NewReplacer("{provider}", "openai", "{id}", "gpt-4o").Replace(rt.Path)
		body := ""
		if rt.Method == "PUT" || rt.Method == "PATCH" {
			body = `{"openai_api_key":"` + openAIKey1 + `","default_text_model":"gpt-4o","default_image_model":"dall-e-3","default_image_provider":"openai"}`
		}
		for _, who := range []caller{accountA, accountB} {
			p := e.do(t, rt.Method, rt.Path, target, who, body, 403)
			if p["code"] != "forbidden" || !strings.Contains(p["detail"].(string), "igny8/admin") {
				t.Errorf("%s %s as a member: %v", rt.Method, rt.Path, p)
			}
		}
	}
	want := []string{"GET /api/v1/ai/settings/", "PUT /api/v1/ai/settings/", "PATCH /api/v1/ai/settings/",
		"POST /api/v1/ai/providers/{provider}/test/", "PUT /api/v1/ai/models/{id}/", "DELETE /api/v1/ai/models/{id}/"}
	if !slices.Equal(admin, want) {
		t.Fatalf("admin routes %v, want %v", admin, want)
	}
	// Nothing was written and no provider was called.
	if _, err := e.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.prefix + aisettings.SecretName)}); err == nil {
		t.Fatal("a refused request created the keys secret")
	}
	if g := e.do(t, "GET", settingsRoute, settingsRoute, adminA, "", 200); g["version"].(float64) != 0 {
		t.Fatalf("a refused request saved settings: %v", g)
	}
	if m := e.do(t, "GET", "/api/v1/ai/models/{id}/", "/api/v1/ai/models/gpt-4o/", accountA, "", 200); m["active"] != true || m["source"] != "seed" {
		t.Fatalf("a refused request changed a model: %v", m)
	}
	if e.providers.calls != 0 {
		t.Fatalf("a refused test called the provider %d times", e.providers.calls)
	}
}

func TestProviderConnectionTests(t *testing.T) {
	e := newAIEnv(t)
	const route = "/api/v1/ai/providers/{provider}/test/"
	e.providers.accept("openai", openAIKey1)
	e.providers.accept("anthropic", anthropicKey)
	e.providers.accept("runware", runwareKey)
	e.providers.accept("bria", "some-other-bria-key-entirely")
	e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"openai_api_key":"`+openAIKey1+`","anthropic_api_key":"`+anthropicKey+`","runware_api_key":"`+runwareKey+`","bria_api_key":"`+briaKey+`"}`, 200)
	for _, p := range []string{"openai", "anthropic", "runware"} {
		r := e.do(t, "POST", route, "/api/v1/ai/providers/"+p+"/test/", adminA, "", 200)
		if r["status"] != "ok" || r["provider"] != p || r["error"] != nil || !strings.Contains(r["endpoint"].(string), e.providers.URL) || r["latency_ms"] == nil {
			t.Fatalf("%s test: %v", p, r)
		}
	}
	bad := e.do(t, "POST", route, "/api/v1/ai/providers/bria/test/", adminA, "", 200)
	if f := obj(bad["error"]); bad["status"] != "error" || f["code"] != "invalid_key" || f["provider_status"].(float64) != 401 {
		t.Fatalf("bria with a refused key: %v", bad)
	}
	// A rotated key is what the next test uses.
	e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"openai_api_key":"`+openAIKey2+`"}`, 200)
	rot := e.do(t, "POST", route, "/api/v1/ai/providers/openai/test/", adminA, "", 200)
	if f := obj(rot["error"]); f["code"] != "invalid_key" || f["provider_code"] != "invalid_api_key" || !strings.Contains(f["message"].(string), "[redacted]") {
		t.Fatalf("openai with the rotated, refused key: %v", rot)
	}
	e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"runware_api_key":null}`, 200)
	missing := e.do(t, "POST", route, "/api/v1/ai/providers/runware/test/", adminA, "", 200)
	if f := obj(missing["error"]); f["code"] != "key_missing" || missing["latency_ms"].(float64) != 0 {
		t.Fatalf("runware without a key: %v", missing)
	}
	e.do(t, "POST", route, "/api/v1/ai/providers/midjourney/test/", adminA, "", 404)
	if !strings.Contains(e.logs.String(), `"msg":"ai provider test"`) {
		t.Fatal("connection tests are not logged")
	}
	e.assertNoKey(t, openAIKey1, openAIKey2, anthropicKey, runwareKey, briaKey)
}

func TestModelRegistryRoutes(t *testing.T) {
	e := newAIEnv(t)
	const one, cost = "/api/v1/ai/models/{id}/", "/api/v1/ai/models/{id}/cost/"
	list := func(query string) []string {
		var out []string
		for _, m := range e.do(t, "GET", "/api/v1/ai/models/", "/api/v1/ai/models/"+query, accountA, "", 200)["items"].([]any) {
			out = append(out, obj(m)["id"].(string))
		}
		return out
	}
	if got := list("?type=text&provider=anthropic"); !slices.Equal(got, []string{"claude-3-5-sonnet", "claude-3-haiku", "claude-3-opus"}) {
		t.Fatalf("anthropic text models %v", got)
	}
	if got := list("?type=image&provider=bria"); !slices.Equal(got, []string{"bria-2.2", "bria-2.3", "bria-2.3-fast"}) {
		t.Fatalf("bria image models %v", got)
	}
	if got := list(""); len(got) != 10 {
		t.Fatalf("all active models: %v", got)
	}
	for _, q := range []string{"?type=video", "?provider=midjourney", "?include_inactive=maybe"} {
		e.do(t, "GET", "/api/v1/ai/models/", "/api/v1/ai/models/"+q, accountA, "", 400)
	}

	m := e.do(t, "GET", one, "/api/v1/ai/models/dall-e-3/", accountB, "", 200)
	if m["type"] != "image" || len(m["image_prices"].([]any)) != 6 || m["price_source"] == "" || m["source"] != "seed" {
		t.Fatalf("dall-e-3: %v", m)
	}
	e.do(t, "GET", one, "/api/v1/ai/models/gpt-9/", accountA, "", 404)
	e.do(t, "GET", one, "/api/v1/ai/models/NOT%20AN%20ID/", accountA, "", 404)

	// gpt-4o-mini, 1,000 in and 500 out at $0.15 and $0.60 per million:
	// 0.00015 + 0.0003 (airegistry's tests pin the file's prices).
	c := e.do(t, "POST", cost, "/api/v1/ai/models/gpt-4o-mini/cost/", accountA, `{"input_tokens":1000,"output_tokens":500}`, 200)
	if c["cost_usd"] != "0.00045" || obj(c["unit_prices"])["input_usd_per_million_tokens"] != "0.15" || obj(c["unit_prices"])["output_usd_per_million_tokens"] != "0.60" {
		t.Fatalf("gpt-4o-mini cost: %v", c)
	}
	c = e.do(t, "POST", cost, "/api/v1/ai/models/dall-e-3/cost/", accountA, `{"images":2,"size":"1024x1792","quality":"hd"}`, 200)
	if c["cost_usd"] != "0.24" || obj(c["unit_prices"])["usd_per_image"] != "0.120" {
		t.Fatalf("dall-e-3 hd cost: %v", c)
	}
	e.do(t, "POST", cost, "/api/v1/ai/models/dall-e-3/cost/", accountA, `{"images":1,"size":"640x480"}`, 422)
	e.do(t, "POST", cost, "/api/v1/ai/models/dall-e-3/cost/", accountA, `{"input_tokens":10}`, 400)
	e.do(t, "POST", cost, "/api/v1/ai/models/gpt-4o/cost/", accountA, `{}`, 400)
	e.do(t, "POST", cost, "/api/v1/ai/models/gpt-4o/cost/", accountA, `{"input_tokens":1.5}`, 400)
	e.do(t, "POST", cost, "/api/v1/ai/models/gpt-9/cost/", accountA, `{"input_tokens":1}`, 404)

	// Warm: reads cost no DynamoDB call.
	e.counter.Reset()
	for range 10 {
		list("?type=text")
		e.do(t, "GET", one, "/api/v1/ai/models/gpt-4o/", accountA, "", 200)
		e.do(t, "POST", cost, "/api/v1/ai/models/claude-3-haiku/cost/", accountA, `{"input_tokens":10,"output_tokens":10}`, 200)
	}
	if n := e.counter.Total(); n != 0 {
		t.Fatalf("30 warm registry reads made %d DynamoDB calls: %v", n, e.counter.Snapshot())
	}

	// Admins add, replace and deactivate.
	newModel := `{"provider":"anthropic","type":"text","display_name":"Claude Haiku 4.5","input_usd_per_million_tokens":"1.00","output_usd_per_million_tokens":"5.00","context_window":200000,"max_output_tokens":64000,"active":true,"deprecated":false,"price_source":"https://www.anthropic.com/pricing#api","price_date":"2026-11-28"}`
	created := e.do(t, "PUT", one, "/api/v1/ai/models/claude-haiku-4-5/", adminA, newModel, 201)
	if created["id"] != "claude-haiku-4-5" || created["source"] != "admin" || created["updated_at"] == nil {
		t.Fatalf("created: %v", created)
	}
	replaced := e.do(t, "PUT", one, "/api/v1/ai/models/claude-haiku-4-5/", adminA, strings.Replace(newModel, `"5.00"`, `"4.00"`, 1), 200)
	if replaced["output_usd_per_million_tokens"] != "4.00" {
		t.Fatalf("replaced: %v", replaced)
	}
	e.do(t, "PUT", one, "/api/v1/ai/models/claude-haiku-4-5/", adminA, strings.Replace(newModel, `"active":true,`, ``, 1), 400)
	e.do(t, "PUT", one, "/api/v1/ai/models/claude-haiku-4-5/", adminA, `{"id":"other",`+newModel[1:], 400)
	e.do(t, "PUT", one, "/api/v1/ai/models/claude-haiku-4-5/", adminA, strings.Replace(newModel, `"1.00"`, `1.00`, 1), 400)
	e.do(t, "PUT", one, "/api/v1/ai/models/claude-haiku-4-5/", adminA, strings.Replace(newModel, `"type":"text"`, `"type":"image"`, 1), 400)

	gone := e.do(t, "DELETE", one, "/api/v1/ai/models/claude-3-opus/", adminA, "", 200)
	if gone["active"] != false || gone["source"] != "admin" {
		t.Fatalf("deactivated: %v", gone)
	}
	if got := list("?provider=anthropic"); !slices.Equal(got, []string{"claude-3-5-sonnet", "claude-3-haiku", "claude-haiku-4-5"}) {
		t.Fatalf("anthropic models after deactivating claude-3-opus: %v", got)
	}
	if got := list("?provider=anthropic&include_inactive=true"); !slices.Contains(got, "claude-3-opus") {
		t.Fatalf("include_inactive leaves out claude-3-opus: %v", got)
	}
	e.do(t, "DELETE", one, "/api/v1/ai/models/gpt-9/", adminA, "", 404)
	// An inactive model can no longer become a default.
	e.do(t, "PATCH", settingsRoute, settingsRoute, adminA, `{"default_text_model":"claude-3-opus"}`, 422)
}
