package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/config"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
)

// testConfig is a valid configuration for handler tests.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	c, err := config.Load(func(k string) string {
		return map[string]string{
			"TABLE_NAME": "unused", "SYNC_QUEUE_URL": "http://127.0.0.1/q", "SYNC_DLQ_URL": "http://127.0.0.1/dlq",
			"SECRET_PREFIX": "igny8/test/", "API_MAX_BODY_BYTES": "2048", "STAGE": "test",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// caller is who sends a test request; nil claims = no token.
type caller map[string]string

var (
	anonymous = caller(nil)
	accountA  = caller{"sub": "user-a", "custom:account_id": "acct-a"}
	accountB  = caller{"sub": "user-b", "custom:account_id": "acct-b"}
	noAccount = caller{"sub": "user-x"}
)

type response struct {
	status  int
	headers map[string]string
	body    []byte
}

func problemOf(err error) apperr.Problem { return apperr.ToProblem(err, "") }

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %q", r.body)
	}
	return m
}

// call sends one request through the Lambda adapter, as API Gateway would.
// headerPairs are extra request headers as name, value, name, value….
func call(t *testing.T, h func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error), method, target string, who caller, body string, headerPairs ...string) response {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: u.Path, RawQueryString: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json"},
		Body:    body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "test-request", DomainName: "api.test",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: u.Path, SourceIP: "192.0.2.1"},
		},
	}
	for i := 0; i+1 < len(headerPairs); i += 2 {
		ev.Headers[strings.ToLower(headerPairs[i])] = headerPairs[i+1]
	}
	if who != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: who},
		}
	}
	out, err := h(context.Background(), ev)
	if err != nil {
		t.Fatalf("handler returned error: %v", err)
	}
	b := []byte(out.Body)
	if out.IsBase64Encoded {
		b, _ = base64.StdEncoding.DecodeString(out.Body)
	}
	return response{status: out.StatusCode, headers: out.Headers, body: b}
}

// emptyStore is an IntegrationService with nothing in it, for tests of
// routing and auth that must not reach DynamoDB. Only List is implemented;
// any other method panics, which the server turns into a 500.
type emptyStore struct {
	IntegrationService
	calls int
}

func (e *emptyStore) List(context.Context, string, store.IntegrationFilter, store.PageRequest) (store.Page[store.Integration], error) {
	e.calls++
	return store.Page[store.Integration]{}, nil
}

func newTestHandler(t *testing.T, s IntegrationService, logs io.Writer) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	return NewLambdaHandler(Deps{Config: testConfig(t), Logger: logging.New(logs, slog.LevelInfo), Integrations: s})
}

func TestRoutingAndAuthErrorsAreProblems(t *testing.T) {
	h := newTestHandler(t, &emptyStore{}, nil)
	tests := []struct {
		name       string
		method     string
		path       string
		who        caller
		wantStatus int
		wantCode   string
		wantDetail string
	}{
		{"health is public", "GET", "/api/v1/health", anonymous, 200, "", ""},
		{"unknown route", "GET", "/api/v1/nope/", accountA, 404, "route_not_found", "No API route"},
		{"missing trailing slash hints", "GET", "/api/v1/integration", accountA, 404, "route_not_found", "try /api/v1/integration/"},
		{"wrong method", "DELETE", "/api/v1/health", anonymous, 405, "method_not_allowed", "allowed: GET"},
		{"no token", "GET", "/api/v1/integration/", anonymous, 401, "unauthorized", ""},
		{"token without account claim", "GET", "/api/v1/integration/", noAccount, 403, "forbidden", "custom:account_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, h, tt.method, tt.path, tt.who, "")
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantCode == "" {
				return
			}
			if ct := r.headers["Content-Type"]; ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q, want application/problem+json", ct)
			}
			p := r.json(t)
			if p["code"] != tt.wantCode || int(p["status"].(float64)) != tt.wantStatus {
				t.Fatalf("problem = %v, want code %s", p, tt.wantCode)
			}
			if !strings.Contains(p["detail"].(string), tt.wantDetail) {
				t.Fatalf("detail %q does not contain %q", p["detail"], tt.wantDetail)
			}
		})
	}
	if r := call(t, h, "DELETE", "/api/v1/health", anonymous, ""); r.headers["Allow"] != "GET" {
		t.Fatalf("405 Allow header = %q, want GET", r.headers["Allow"])
	}
}

func TestOversizedBodyIs413BeforeRouting(t *testing.T) {
	h := newTestHandler(t, &emptyStore{}, nil)
	r := call(t, h, "GET", "/api/v1/integration/", accountA, strings.Repeat("x", 4096))
	if r.status != 413 || r.json(t)["code"] != "payload_too_large" {
		t.Fatalf("status %d body %s, want 413 payload_too_large", r.status, r.body)
	}
}

func TestListQueryValidation(t *testing.T) {
	s := &emptyStore{}
	h := newTestHandler(t, s, nil)
	tests := []struct {
		query, field string
	}{
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"cursor=" + strings.Repeat("c", 3000), "cursor"},
		{"site_id=" + strings.Repeat("s", 200), "site_id"},
	}
	for _, tt := range tests {
		r := call(t, h, "GET", "/api/v1/integration/?"+tt.query, accountA, "")
		if r.status != 400 {
			t.Fatalf("%s: status %d, want 400", tt.query, r.status)
		}
		if p := r.json(t); p["field"] != tt.field || p["code"] != "invalid" {
			t.Fatalf("%s: problem %v, want code invalid on field %s", tt.query, p, tt.field)
		}
	}
	if s.calls != 0 {
		t.Fatalf("invalid queries reached the store %d times", s.calls)
	}
	if r := call(t, h, "GET", "/api/v1/integration/", accountA, ""); r.status != 200 || string(bytes.TrimSpace(r.body)) != `{"items":[]}` {
		t.Fatalf("empty list = %d %s, want 200 {\"items\":[]}", r.status, r.body)
	}
}

func TestRequestsAreLoggedWithAccountAndRequestID(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, &emptyStore{}, &logs)
	call(t, h, "GET", "/api/v1/integration/?limit=5", accountA, "")
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q", logs.String())
	}
	for k, want := range map[string]any{"msg": "request", "route": "GET /api/v1/integration/", "status": float64(200), "account_id": "acct-a", "api_request_id": "test-request"} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		wantStatus              int
		wantCode, wantField     string
	}{
		{"ok", "application/json", `{"name":"x"}`, 0, "", ""},
		{"charset ok", "application/json; charset=utf-8", `{"name":"x"}`, 0, "", ""},
		{"wrong type", "text/plain", `{"name":"x"}`, 415, "unsupported_media_type", ""},
		{"malformed", "application/json", `{"name":`, 400, "malformed_json", ""},
		{"syntax", "application/json", `{"name" "x"}`, 400, "malformed_json", ""},
		{"wrong field type", "application/json", `{"name": 5}`, 400, "invalid", "name"},
		{"unknown field", "application/json", `{"nmae":"x"}`, 400, "invalid", "nmae"},
		{"two values", "application/json", `{"name":"x"}{"name":"y"}`, 400, "malformed_json", ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "payload_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			_, err := decode[testBody](req, 64)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				return
			}
			p := problemOf(err)
			if p.Status != tt.wantStatus || string(p.Code) != tt.wantCode || p.Field != tt.wantField {
				t.Fatalf("got %d %s field %q (%s), want %d %s field %q", p.Status, p.Code, p.Field, p.Detail, tt.wantStatus, tt.wantCode, tt.wantField)
			}
		})
	}
}

// testBody is a minimal always-valid request body.
type testBody struct {
	Name string `json:"name"`
}

func (testBody) Validate() error { return nil }
