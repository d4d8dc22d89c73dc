package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/golang-jwt/jwt/v5"
)

func get(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAuthorizerGuardsDefaultAuthorizerRoutes(t *testing.T) {
	t.Parallel()
	st, rec := startStack(t, Options{})
	url := st.APIURL + "/api/v1/integration/"

	expired, err := st.Signer.Sign(jwt.MapClaims{"iss": st.Signer.Issuer, "aud": st.Signer.Audience, "sub": "x",
		"custom:account_id": "a", "iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	foreignKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreign, _ := NewSigner(foreignKey, st.Signer.Issuer, st.Signer.Audience, "custom:account_id", "igny8/admin")
	foreignTok, _ := foreign.Token("dev-account", false, time.Hour)
	wrongAud, _ := st.Signer.Sign(jwt.MapClaims{"iss": st.Signer.Issuer, "aud": "someone-else", "sub": "x", "exp": time.Now().Add(time.Hour).Unix()})
	wrongIss, _ := st.Signer.Sign(jwt.MapClaims{"iss": "https://evil.example", "aud": st.Signer.Audience, "sub": "x", "exp": time.Now().Add(time.Hour).Unix()})
	noExp, _ := st.Signer.Sign(jwt.MapClaims{"iss": st.Signer.Issuer, "aud": st.Signer.Audience, "sub": "x"})

	for name, tok := range map[string]string{"no token": "", "expired": expired, "foreign key": foreignTok,
		"wrong audience": wrongAud, "wrong issuer": wrongIss, "no exp": noExp, "garbage": "not.a.jwt"} {
		code, h, body := get(t, url, tok)
		if code != http.StatusUnauthorized || body != `{"message":"Unauthorized"}` {
			t.Errorf("%s: got %d %s, want 401 {\"message\":\"Unauthorized\"}", name, code, body)
		}
		if !strings.Contains(h.Get("Www-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: www-authenticate = %q", name, h.Get("Www-Authenticate"))
		}
	}
	if invs, _ := rec.snapshot(); len(invs) != 0 {
		t.Fatalf("refused requests must not invoke the function; saw %s", describe(invs))
	}

	dev, err := st.Token("dev-account", false, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	code, _, body := get(t, url, dev)
	// The API function answers 200 {"items": []} for an account without
	// integrations; whatever it answers, the call must have reached it.
	if code == http.StatusUnauthorized || code == http.StatusNotFound || code >= 500 {
		t.Fatalf("dev token: got %d %s", code, body)
	}
	if code == http.StatusOK {
		var got struct{ Items []any }
		if err := json.Unmarshal([]byte(body), &got); err != nil || got.Items == nil {
			t.Errorf("dev token: body %s, want {\"items\": []}", body)
		}
	}
	invs := rec.waitFor(t, 5*time.Second, "the API invocation", func(i []Invocation) bool { return len(i) == 1 })
	ev := invs[0].Event.(events.APIGatewayV2HTTPRequest)
	if invs[0].Function != "ApiFunction" || ev.RouteKey != "GET /api/v1/integration/" || ev.RequestContext.RouteKey != ev.RouteKey {
		t.Errorf("invoked %s with routeKey %q", invs[0].Function, ev.RouteKey)
	}
	jwtCtx := ev.RequestContext.Authorizer.JWT
	if jwtCtx.Claims["custom:account_id"] != "dev-account" || jwtCtx.Claims["iss"] != st.Signer.Issuer || jwtCtx.Claims["sub"] == "" {
		t.Errorf("claims = %v", jwtCtx.Claims)
	}
	if exp := jwtCtx.Claims["exp"]; exp == "" || strings.ContainsAny(exp, ".e+") {
		t.Errorf("exp claim must be a stringified integer, got %q", jwtCtx.Claims["exp"])
	}

	admin, _ := st.Token("dev-account", true, time.Hour)
	get(t, url, admin)
	invs = rec.waitFor(t, 5*time.Second, "the admin invocation", func(i []Invocation) bool { return len(i) == 2 })
	a := invs[1].Event.(events.APIGatewayV2HTTPRequest).RequestContext.Authorizer.JWT
	if a.Claims["cognito:groups"] != "[igny8/admin]" || a.Claims["scope"] != "igny8/admin" || !reflect.DeepEqual(a.Scopes, []string{"igny8/admin"}) {
		t.Errorf("admin claims %v scopes %v", a.Claims, a.Scopes)
	}

	// Public routes and the $default route need no token and carry no claims.
	if code, _, body := get(t, st.APIURL+"/api/v1/health", ""); code != http.StatusOK {
		t.Errorf("health: %d %s", code, body)
	}
	if code, _, _ := get(t, st.APIURL+"/no/such/route", ""); code == http.StatusUnauthorized {
		t.Errorf("$default route must not require a token")
	}
	invs = rec.waitFor(t, 5*time.Second, "public invocations", func(i []Invocation) bool { return len(i) == 4 })
	if ev := invs[3].Event.(events.APIGatewayV2HTTPRequest); ev.RouteKey != "$default" || ev.RequestContext.Authorizer != nil {
		t.Errorf("unknown path: routeKey %q authorizer %+v", ev.RouteKey, ev.RequestContext.Authorizer)
	}
}

func TestRouterPrecedence(t *testing.T) {
	t.Parallel()
	r, err := NewRouter([]Route{
		{Key: "GET /pets/dog/1", Method: "GET", Path: "/pets/dog/1"},
		{Key: "GET /pets/dog/{id}", Method: "GET", Path: "/pets/dog/{id}"},
		{Key: "GET /pets/{proxy+}", Method: "GET", Path: "/pets/{proxy+}"},
		{Key: "ANY /{proxy+}", Method: "ANY", Path: "/{proxy+}"},
		{Key: "ANY /api/v1/integration/{id}/sync/", Method: "ANY", Path: "/api/v1/integration/{id}/sync/"},
		{Key: "POST /api/v1/integration/{id}/sync/", Method: "POST", Path: "/api/v1/integration/{id}/sync/"},
		{Key: "GET /api/v1/integration/", Method: "GET", Path: "/api/v1/integration/"},
		{Key: "$default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, want string
		params             map[string]string
	}{
		{"GET", "/pets/dog/1", "GET /pets/dog/1", nil},
		{"GET", "/pets/dog/2", "GET /pets/dog/{id}", map[string]string{"id": "2"}},
		{"GET", "/pets/cat/1", "GET /pets/{proxy+}", map[string]string{"proxy": "cat/1"}},
		{"POST", "/pets/dog/1", "ANY /{proxy+}", map[string]string{"proxy": "pets/dog/1"}},
		{"POST", "/api/v1/integration/i-1/sync/", "POST /api/v1/integration/{id}/sync/", map[string]string{"id": "i-1"}},
		{"PUT", "/api/v1/integration/a%20b/sync/", "ANY /api/v1/integration/{id}/sync/", map[string]string{"id": "a b"}},
		{"GET", "/api/v1/integration/", "GET /api/v1/integration/", nil},
		{"GET", "/api/v1/integration", "ANY /{proxy+}", map[string]string{"proxy": "api/v1/integration"}},
		{"GET", "/", "$default", nil},
	} {
		rt, params := r.Match(c.method, c.path)
		if rt == nil || rt.Key != c.want || !reflect.DeepEqual(params, c.params) {
			got := "<nil>"
			if rt != nil {
				got = rt.Key
			}
			t.Errorf("%s %s: matched %s %v, want %s %v", c.method, c.path, got, params, c.want, c.params)
		}
	}
	noDefault, _ := NewRouter([]Route{{Key: "GET /a", Method: "GET", Path: "/a"}})
	if rt, _ := noDefault.Match("GET", "/b"); rt != nil {
		t.Errorf("no match and no $default must give nil (404), got %s", rt.Key)
	}
}

func TestAPIEventMatchesPayloadV2(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		method  string
		target  string
		headers [][2]string
		body    string
		route   Route
		params  map[string]string
		check   func(t *testing.T, ev events.APIGatewayV2HTTPRequest)
	}{
		{
			name: "query, cookies and repeated headers", method: "GET",
			target:  "/api/v1/integration/?site=1&tag=a&tag=b&q=hello%20world",
			headers: [][2]string{{"X-Custom", "one"}, {"X-Custom", "two"}, {"Cookie", "a=1; b=2"}, {"User-Agent", "test-agent"}},
			route:   Route{Key: "GET /api/v1/integration/", Method: "GET", Path: "/api/v1/integration/"},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				if ev.Version != "2.0" || ev.RouteKey != "GET /api/v1/integration/" || ev.RawPath != "/api/v1/integration/" {
					t.Errorf("version/routeKey/rawPath = %q %q %q", ev.Version, ev.RouteKey, ev.RawPath)
				}
				if ev.RawQueryString != "site=1&tag=a&tag=b&q=hello%20world" {
					t.Errorf("rawQueryString = %q", ev.RawQueryString)
				}
				want := map[string]string{"site": "1", "tag": "a,b", "q": "hello world"}
				if !reflect.DeepEqual(ev.QueryStringParameters, want) {
					t.Errorf("queryStringParameters = %v, want %v", ev.QueryStringParameters, want)
				}
				if ev.Headers["x-custom"] != "one,two" || ev.Headers["user-agent"] != "test-agent" || ev.Headers["host"] == "" {
					t.Errorf("headers = %v", ev.Headers)
				}
				if _, ok := ev.Headers["cookie"]; ok {
					t.Errorf("cookies must not stay in headers: %v", ev.Headers)
				}
				if !reflect.DeepEqual(ev.Cookies, []string{"a=1", "b=2"}) {
					t.Errorf("cookies = %v", ev.Cookies)
				}
				for k := range ev.Headers {
					if k != strings.ToLower(k) {
						t.Errorf("header %q is not lower case", k)
					}
				}
				rc := ev.RequestContext
				if rc.Stage != "$default" || rc.AccountID == "" || rc.APIID == "" || rc.RequestID == "" || rc.TimeEpoch == 0 ||
					rc.HTTP.Method != "GET" || rc.HTTP.Path != "/api/v1/integration/" || rc.HTTP.Protocol != "HTTP/1.1" ||
					rc.HTTP.SourceIP != "192.0.2.1" || rc.HTTP.UserAgent != "test-agent" || rc.DomainName == "" || rc.DomainPrefix == "" {
					t.Errorf("requestContext = %+v", rc)
				}
				if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time); err != nil {
					t.Errorf("requestContext.time %q: %v", rc.Time, err)
				}
				if ev.Body != "" || ev.IsBase64Encoded || ev.PathParameters != nil {
					t.Errorf("body %q base64 %v params %v", ev.Body, ev.IsBase64Encoded, ev.PathParameters)
				}
			},
		},
		{
			name: "path parameters and a JSON body", method: "POST", target: "/api/v1/integration/i%2F1/sync/",
			headers: [][2]string{{"Content-Type", "application/json; charset=utf-8"}}, body: `{"direction":"pull"}`,
			route:  Route{Key: "POST /api/v1/integration/{id}/sync/", Method: "POST", Path: "/api/v1/integration/{id}/sync/"},
			params: map[string]string{"id": "i/1"},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				if ev.PathParameters["id"] != "i/1" || ev.RawPath != "/api/v1/integration/i%2F1/sync/" {
					t.Errorf("pathParameters %v rawPath %q", ev.PathParameters, ev.RawPath)
				}
				if ev.Body != `{"direction":"pull"}` || ev.IsBase64Encoded || ev.Headers["content-length"] != "20" {
					t.Errorf("body %q base64 %v content-length %q", ev.Body, ev.IsBase64Encoded, ev.Headers["content-length"])
				}
			},
		},
		{
			name: "binary body is base64", method: "PUT", target: "/upload",
			headers: [][2]string{{"Content-Type", "image/png"}}, body: "\x89PNG\x00\x01",
			route: Route{Key: "$default"},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				if ev.RouteKey != "$default" || !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte("\x89PNG\x00\x01")) {
					t.Errorf("routeKey %q base64 %v body %q", ev.RouteKey, ev.IsBase64Encoded, ev.Body)
				}
			},
		},
		{
			name: "form posts are base64 too", method: "POST", target: "/form",
			headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, body: "a=1",
			route: Route{Key: "$default"},
			check: func(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
				if !ev.IsBase64Encoded || ev.Body != "YT0x" {
					t.Errorf("base64 %v body %q", ev.IsBase64Encoded, ev.Body)
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			for _, h := range c.headers {
				r.Header.Add(h[0], h[1])
			}
			ev := BuildAPIEvent(r, []byte(c.body), &c.route, c.params, nil, nil)
			// The event must survive Lambda's JSON round trip unchanged.
			b, _ := json.Marshal(ev)
			var back events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			c.check(t, back)
		})
	}
}

func TestAPIResponseMapping(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	err := writeAPIResponse(w, events.APIGatewayV2HTTPResponse{
		StatusCode: 201, Headers: map[string]string{"Content-Type": "text/plain", "X-One": "1"},
		MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
		Cookies:           []string{"s=1; Path=/", "t=2"},
		Body:              base64.StdEncoding.EncodeToString([]byte("hi")), IsBase64Encoded: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := w.Result()
	if res.StatusCode != 201 || w.Body.String() != "hi" || res.Header.Get("X-One") != "1" ||
		!reflect.DeepEqual(res.Header.Values("X-Many"), []string{"a", "b"}) ||
		!reflect.DeepEqual(res.Header.Values("Set-Cookie"), []string{"s=1; Path=/", "t=2"}) {
		t.Errorf("response %d %q headers %v", res.StatusCode, w.Body.String(), res.Header)
	}
	if err := writeAPIResponse(httptest.NewRecorder(), events.APIGatewayV2HTTPResponse{}); err == nil {
		t.Error("a response without a status code must be refused (API Gateway answers 500)")
	}
}

// TestStackFollowsTheTemplate starts a stack from another template (the
// samtemplate fixture): routes with {proxy+} and scopes, a secret, and
// environment values that need resolving all come from the file, with no
// change in this package.
func TestStackFollowsTheTemplate(t *testing.T) {
	t.Parallel()
	st, rec := startStack(t, Options{TemplatePath: "../samtemplate/testdata/template.yaml", HoldEventSources: true})
	out, err := st.Clients.SecretsManager.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String("igny8/integrations/local/ai-providers")})
	if err != nil || aws.ToString(out.Name) != "igny8/integrations/local/ai-providers" {
		t.Errorf("template secret: %v %v", out, err)
	}
	dev, _ := st.Token("acct-1", false, time.Hour)
	admin, _ := st.Token("acct-1", true, time.Hour)
	url := st.APIURL + "/api/v1/admin/models/gpt"
	if code, h, body := get(t, url, dev); code != http.StatusForbidden || body != `{"message":"Forbidden"}` || !strings.Contains(h.Get("Www-Authenticate"), "insufficient_scope") {
		t.Errorf("route with AuthorizationScopes, token without the scope: %d %s", code, body)
	}
	get(t, url, admin)
	invs := rec.waitFor(t, 5*time.Second, "the admin route invocation", func(i []Invocation) bool { return len(i) == 1 })
	ev := invs[0].Event.(events.APIGatewayV2HTTPRequest)
	if ev.RouteKey != "ANY /api/v1/admin/{proxy+}" || ev.PathParameters["proxy"] != "models/gpt" {
		t.Errorf("routeKey %q pathParameters %v", ev.RouteKey, ev.PathParameters)
	}
	if st.Config.TableName != st.Tables["Table"].Name || st.Config.SyncDLQURL != st.Queues["SyncDeadLetterQueue"].URL || st.Config.Stage != "local" {
		t.Errorf("config = %+v", st.Config)
	}
}
