package aiproviders

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk-proj-Abc123SECRETsecretSECRET9xYz"

// fakeProvider is an httptest server that records what it was asked and
// answers with a fixed status, headers and body.
type fakeProvider struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []*http.Request
	bodies []string
	status int
	header http.Header
	body   string
	delay  time.Duration
}

func newFakeProvider(t *testing.T) *fakeProvider {
	f := &fakeProvider{status: 200, header: http.Header{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r)
		f.bodies = append(f.bodies, string(b))
		status, header, body, delay := f.status, f.header, f.body, f.delay
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProvider) answer(status int, body string, header ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body, f.header = status, body, http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		f.header.Set(header[i], header[i+1])
	}
}

func (f *fakeProvider) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		t.Fatal("the provider was not called")
	}
	return f.seen[len(f.seen)-1], f.bodies[len(f.bodies)-1]
}

func checkerFor(f *fakeProvider, timeout time.Duration) *Checker {
	return New(BaseURLs{OpenAI: f.URL, Anthropic: f.URL, Runware: f.URL, Bria: f.URL}, timeout)
}

// The bodies below are the providers' documented shapes (see the doc
// comments in providers.go for the pages they come from).
const (
	openAIModels        = `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}`
	openAIInvalidKey    = `{"error":{"message":"Incorrect API key provided: sk-proj-********************9xYz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`
	openAIQuota         = `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
	openAIRateLimit     = `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	openAIRegion        = `{"error":{"message":"Country, region, or territory not supported","type":"request_forbidden","param":null,"code":"unsupported_country_region_territory"}}`
	openAIServerError   = `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`
	anthropicModels     = `{"data":[{"type":"model","id":"claude-3-haiku-20240307","display_name":"Claude Haiku 3","created_at":"2024-03-07T00:00:00Z"}],"has_more":true,"first_id":"claude-3-haiku-20240307","last_id":"claude-3-haiku-20240307"}`
	anthropicAuth       = `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`
	anthropicPermission = `{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`
	anthropicBilling    = `{"type":"error","error":{"type":"billing_error","message":"Your account has a billing issue."}}`
	anthropicCredit     = `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}`
	anthropicRateLimit  = `{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit."}}`
	anthropicOverloaded = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	runwareOK           = `{"data":[{"taskType":"authentication","connectionSessionUUID":"f40c2aeb-f8a7-4af7-a1ab-7b8b29a5bad2"}]}`
	runwareInvalidKey   = `{"errors":[{"code":"invalidApiKey","message":"Invalid API key. Get one at https://my.runware.ai/signup","parameter":"apiKey","taskType":"authentication"}]}`
	runwareNoCredits    = `{"errors":[{"code":"insufficientCredits","message":"Your account balance is insufficient.","taskType":"authentication"}]}`
	runwareRateLimit    = `{"errors":[{"code":"rateLimitExceeded","message":"Too many requests.","taskType":"authentication"}]}`
	briaNotFound        = `{"error":{"code":404,"message":"Request ID not found"},"request_id":"00000000-0000-0000-0000-000000000000"}`
	briaUnauthorized    = `{"error":{"code":401,"message":"Unauthorized: invalid api_token"}}`
	briaRateLimit       = `{"message":"Too Many Requests"}`
)

func TestChecksEachProviderAsDocumented(t *testing.T) {
	tests := []struct {
		name, provider string
		status         int
		body           string
		header         []string
		wantStatus     string
		wantCode       string
		wantProvider   string
		wantRetryAfter int // -1: none
	}{
		{"openai ok", "openai", 200, openAIModels, nil, "ok", "", "", -1},
		{"openai invalid key", "openai", 401, openAIInvalidKey, nil, "error", CodeInvalidKey, "invalid_api_key", -1},
		{"openai quota", "openai", 429, openAIQuota, nil, "error", CodeInsufficientQuota, "insufficient_quota", -1},
		{"openai rate limit", "openai", 429, openAIRateLimit, []string{"Retry-After", "20"}, "error", CodeRateLimited, "rate_limit_exceeded", 20},
		{"openai region", "openai", 403, openAIRegion, nil, "error", CodePermissionDenied, "unsupported_country_region_territory", -1},
		{"openai server error", "openai", 500, openAIServerError, nil, "error", CodeProviderUnavailable, "server_error", -1},
		{"openai 200 that is not a list", "openai", 200, `<html>captive portal</html>`, nil, "error", CodeUnexpectedResponse, "", -1},
		{"anthropic ok", "anthropic", 200, anthropicModels, nil, "ok", "", "", -1},
		{"anthropic invalid key", "anthropic", 401, anthropicAuth, nil, "error", CodeInvalidKey, "authentication_error", -1},
		{"anthropic permission", "anthropic", 403, anthropicPermission, nil, "error", CodePermissionDenied, "permission_error", -1},
		{"anthropic billing", "anthropic", 402, anthropicBilling, nil, "error", CodeInsufficientQuota, "billing_error", -1},
		{"anthropic credit balance", "anthropic", 400, anthropicCredit, nil, "error", CodeInsufficientQuota, "invalid_request_error", -1},
		{"anthropic rate limit", "anthropic", 429, anthropicRateLimit, []string{"Retry-After", "7"}, "error", CodeRateLimited, "rate_limit_error", 7},
		{"anthropic overloaded", "anthropic", 529, anthropicOverloaded, nil, "error", CodeProviderUnavailable, "overloaded_error", -1},
		{"runware ok", "runware", 200, runwareOK, nil, "ok", "", "", -1},
		{"runware invalid key", "runware", 401, runwareInvalidKey, nil, "error", CodeInvalidKey, "invalidApiKey", -1},
		{"runware invalid key in a 200", "runware", 200, runwareInvalidKey, nil, "error", CodeInvalidKey, "invalidApiKey", -1},
		{"runware no credits", "runware", 402, runwareNoCredits, nil, "error", CodeInsufficientQuota, "insufficientCredits", -1},
		{"runware rate limit", "runware", 429, runwareRateLimit, []string{"Retry-After", "Sat, 28 Nov 2026 12:00:30 GMT"}, "error", CodeRateLimited, "rateLimitExceeded", 30},
		{"runware bad gateway", "runware", 502, `{"errors":[]}`, nil, "error", CodeProviderUnavailable, "", -1},
		{"bria ok: the unknown request is not found", "bria", 404, briaNotFound, nil, "ok", "", "", -1},
		{"bria invalid key", "bria", 401, briaUnauthorized, nil, "error", CodeInvalidKey, "", -1},
		{"bria rate limit", "bria", 429, briaRateLimit, []string{"Retry-After", "60"}, "error", CodeRateLimited, "", 60},
		{"bria 404 from elsewhere", "bria", 404, `not json`, nil, "error", CodeUnexpectedResponse, "", -1},
	}
	fake := newFakeProvider(t)
	c := checkerFor(fake, 2*time.Second)
	c.SetClock(func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.answer(tt.status, tt.body, tt.header...)
			res, err := c.Check(context.Background(), tt.provider, testKey)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.wantStatus || res.Provider != tt.provider {
				t.Fatalf("result %+v, want status %s", res, tt.wantStatus)
			}
			if res.Endpoint == "" || res.CheckedAt.IsZero() {
				t.Errorf("result lacks endpoint or time: %+v", res)
			}
			if tt.wantStatus == "ok" {
				if res.Error != nil {
					t.Fatalf("ok with an error: %+v", res.Error)
				}
				return
			}
			f := res.Error
			if f == nil || f.Code != tt.wantCode || f.ProviderCode != tt.wantProvider || f.ProviderStatus != tt.status || f.Message == "" {
				t.Fatalf("failure %+v, want code %s provider code %q status %d", f, tt.wantCode, tt.wantProvider, tt.status)
			}
			switch {
			case tt.wantRetryAfter < 0 && f.RetryAfterSeconds != nil:
				t.Errorf("retry_after_seconds %d, want none", *f.RetryAfterSeconds)
			case tt.wantRetryAfter >= 0 && (f.RetryAfterSeconds == nil || *f.RetryAfterSeconds != tt.wantRetryAfter):
				t.Errorf("retry_after_seconds %v, want %d", f.RetryAfterSeconds, tt.wantRetryAfter)
			}
			out, _ := json.Marshal(res)
			if strings.Contains(string(out), testKey) || strings.Contains(string(out), "SECRET") || strings.Contains(string(out), "****") {
				t.Fatalf("the result shows the key or a masked form of it: %s", out)
			}
		})
	}
}

func TestRequestsAuthenticateAsEachProviderDocuments(t *testing.T) {
	fake := newFakeProvider(t)
	c := checkerFor(fake, 2*time.Second)
	check := func(provider, body string) (*http.Request, string) {
		fake.answer(200, body)
		if _, err := c.Check(context.Background(), provider, testKey); err != nil {
			t.Fatal(err)
		}
		return fake.last(t)
	}
	r, _ := check("openai", openAIModels)
	if r.Method != "GET" || r.URL.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("openai request %s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}
	r, _ = check("anthropic", anthropicModels)
	if r.Method != "GET" || r.URL.Path != "/v1/models" || r.Header.Get("x-api-key") != testKey || r.Header.Get("anthropic-version") != "2023-06-01" {
		t.Errorf("anthropic request %s %s headers %v", r.Method, r.URL.Path, r.Header)
	}
	r, body := check("runware", runwareOK)
	var tasks []map[string]string
	if err := json.Unmarshal([]byte(body), &tasks); err != nil || r.Method != "POST" || r.URL.Path != "/v1" ||
		len(tasks) != 1 || tasks[0]["taskType"] != "authentication" || tasks[0]["apiKey"] != testKey {
		t.Errorf("runware request %s %s body %s", r.Method, r.URL.Path, body)
	}
	r, _ = check("bria", briaNotFound)
	if r.Method != "GET" || r.URL.Path != "/v2/status/"+briaProbeRequestID || r.Header.Get("api_token") != testKey {
		t.Errorf("bria request %s %s headers %v", r.Method, r.URL.Path, r.Header)
	}
}

func TestTimeoutUnreachableAndMissingKey(t *testing.T) {
	fake := newFakeProvider(t)
	fake.delay = 2 * time.Second
	c := checkerFor(fake, 150*time.Millisecond)
	res, err := c.Check(context.Background(), "openai", testKey)
	if err != nil || res.Status != StatusError || res.Error.Code != CodeTimeout || res.LatencyMS < 100 {
		t.Fatalf("slow provider: %+v %v, want a timeout after about 150 ms", res, err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	res, err = New(BaseURLs{Anthropic: url}, time.Second).Check(context.Background(), "anthropic", testKey)
	if err != nil || res.Error == nil || res.Error.Code != CodeProviderUnavailable || res.Error.ProviderStatus != 0 {
		t.Fatalf("unreachable provider: %+v %v", res, err)
	}

	res, err = c.Check(context.Background(), "bria", "")
	if err != nil || res.Error == nil || res.Error.Code != CodeKeyMissing || res.Endpoint != "" || res.LatencyMS != 0 {
		t.Fatalf("no key: %+v %v, want key_missing without a call", res, err)
	}
	if _, err := c.Check(context.Background(), "midjourney", testKey); err == nil {
		t.Fatal("an unknown provider was accepted")
	}
}

func TestOversizedAnswerIsCutAndRedirectsAreNotFollowed(t *testing.T) {
	fake := newFakeProvider(t)
	c := checkerFor(fake, 2*time.Second)
	fake.answer(200, `{"object":"list","data":[`+strings.Repeat(`{"id":"m"},`, MaxResponseBytes/10)+`{"id":"m"}]}`)
	res, _ := c.Check(context.Background(), "openai", testKey)
	if res.Status != StatusError || res.Error.Code != CodeUnexpectedResponse {
		t.Fatalf("an answer over %d bytes: %+v, want unexpected_response (only the cap is read)", MaxResponseBytes, res)
	}
	other := newFakeProvider(t)
	fake.answer(http.StatusTemporaryRedirect, "", "Location", other.URL+"/v1/models")
	res, _ = c.Check(context.Background(), "openai", testKey)
	other.mu.Lock()
	calls := len(other.seen)
	other.mu.Unlock()
	if calls != 0 || res.Status != StatusError {
		t.Fatalf("redirect followed (%d calls to the target) or accepted: %+v", calls, res)
	}
}

func TestRedact(t *testing.T) {
	for _, msg := range []string{
		"Incorrect API key provided: " + testKey + ".",
		"Incorrect API key provided: sk-proj-********************9xYz.",
		"bad key sk-ant-api03-AAAABBBBCCCC",
	} {
		got := redact(msg, testKey)
		if strings.Contains(got, testKey) || strings.Contains(got, "***") || strings.Contains(got, "AAAABBBB") || !strings.Contains(got, "[redacted]") {
			t.Errorf("redact(%q) = %q", msg, got)
		}
	}
	if got := redact("Invalid key-value pair in the request", testKey); got != "Invalid key-value pair in the request" {
		t.Errorf("an ordinary message was changed: %q", got)
	}
	if got := redact(strings.Repeat("x", 1000), ""); len(got) > maxMessage+4 {
		t.Errorf("a long message was not capped: %d bytes", len(got))
	}
}
