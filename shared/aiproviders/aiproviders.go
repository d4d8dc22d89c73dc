// Package aiproviders checks AI provider API keys: for each provider it
// calls the cheapest authenticated endpoint the provider documents, decodes
// the provider's documented error body, and classifies the outcome (ok with
// latency, invalid key, no permission, insufficient quota or billing, rate
// limited with Retry-After, provider unavailable, timeout). The base URLs
// are configuration, so tests point the checks at httptest servers.
//
// The hosts are fixed provider APIs, not user-supplied URLs, so calls do
// not go through the SSRF guard; they still have a timeout and read at most
// MaxResponseBytes of any answer. Keys never appear in results, errors or
// logs: provider messages are redacted before they are returned.
package aiproviders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outcome codes. Clients branch on them; never rename one.
const (
	StatusOK    = "ok"
	StatusError = "error"

	CodeKeyMissing          = "key_missing"
	CodeInvalidKey          = "invalid_key"
	CodePermissionDenied    = "permission_denied"
	CodeInsufficientQuota   = "insufficient_quota"
	CodeRateLimited         = "rate_limited"
	CodeProviderUnavailable = "provider_unavailable"
	CodeTimeout             = "timeout"
	CodeUnexpectedResponse  = "unexpected_response"
)

// MaxResponseBytes caps how much of a provider's answer is read.
const MaxResponseBytes = 256 << 10

// maxMessage caps the provider message passed on.
const maxMessage = 300

// Result is one connection test's outcome.
type Result struct {
	Provider string `json:"provider"`
	// Status is "ok" or "error".
	Status string `json:"status"`
	// Endpoint is the provider call made, e.g. "GET https://api.openai.com/v1/models".
	Endpoint string `json:"endpoint,omitempty"`
	// LatencyMS is the provider call's duration (0 when no call was made).
	LatencyMS int64     `json:"latency_ms"`
	CheckedAt time.Time `json:"checked_at"`
	Error     *Failure  `json:"error,omitempty"`
}

// Failure classifies a failed test.
type Failure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// ProviderStatus is the provider's HTTP status (0: no answer).
	ProviderStatus int `json:"provider_status,omitempty"`
	// ProviderCode is the provider's own error code or type, as documented.
	ProviderCode string `json:"provider_code,omitempty"`
	// RetryAfterSeconds is the provider's Retry-After, when it sent one.
	RetryAfterSeconds *int `json:"retry_after_seconds,omitempty"`
}

// BaseURLs are the providers' API base URLs (scheme and host, no path).
type BaseURLs struct {
	OpenAI, Anthropic, Runware, Bria string
}

// DefaultBaseURLs are the production hosts.
var DefaultBaseURLs = BaseURLs{
	OpenAI:    "https://api.openai.com",
	Anthropic: "https://api.anthropic.com",
	Runware:   "https://api.runware.ai",
	Bria:      "https://engine.prod.bria-api.com",
}

// Checker runs connection tests.
type Checker struct {
	base   BaseURLs
	client *http.Client
	now    func() time.Time
}

// New returns a checker with a per-test timeout.
func New(base BaseURLs, timeout time.Duration) *Checker {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	return &Checker{base: base, now: time.Now, client: &http.Client{
		Timeout: timeout, Transport: tr,
		// A provider API never redirects an authenticated call; following
		// one could send the key elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// SetClock replaces the clock (tests).
func (c *Checker) SetClock(now func() time.Time) { c.now = now }

// Check tests key against provider. It returns an error only for an
// unknown provider; every provider failure is a Result with Status "error".
func (c *Checker) Check(ctx context.Context, provider, key string) (Result, error) {
	var p probe
	switch provider {
	case "openai":
		p = openAIProbe(c.base.OpenAI, key)
	case "anthropic":
		p = anthropicProbe(c.base.Anthropic, key)
	case "runware":
		p = runwareProbe(c.base.Runware, key)
	case "bria":
		p = briaProbe(c.base.Bria, key)
	default:
		return Result{}, fmt.Errorf("unknown AI provider %q", provider)
	}
	res := Result{Provider: provider, CheckedAt: c.now().UTC()}
	if key == "" {
		res.Status = StatusError
		res.Error = &Failure{Code: CodeKeyMissing, Message: "No API key is stored for " + provider + ".",
			Hint: "Set " + provider + "_api_key with PUT or PATCH /api/v1/ai/settings/."}
		return res, nil
	}
	req, err := p.request(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("build %s test request: %w", provider, err)
	}
	res.Endpoint = req.Method + " " + req.URL.Scheme + "://" + req.URL.Host + req.URL.Path
	start := time.Now()
	resp, err := c.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
		_ = resp.Body.Close()
	}
	res.LatencyMS = time.Since(start).Milliseconds()
	if err != nil {
		res.Status, res.Error = StatusError, transportFailure(ctx, err)
		return res, nil
	}
	f := p.classify(resp.StatusCode, resp.Header, body)
	if f == nil {
		res.Status = StatusOK
		return res, nil
	}
	f.ProviderStatus = resp.StatusCode
	f.Message = redact(f.Message, key)
	if f.Code == CodeRateLimited || f.Code == CodeProviderUnavailable {
		f.RetryAfterSeconds = retryAfter(resp.Header, c.now())
	}
	res.Status, res.Error = StatusError, f
	return res, nil
}

// probe is one provider's test: the request and how to read the answer
// (nil: the key works).
type probe struct {
	request  func(ctx context.Context) (*http.Request, error)
	classify func(status int, h http.Header, body []byte) *Failure
}

func transportFailure(ctx context.Context, err error) *Failure {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &Failure{Code: CodeTimeout, Message: "The provider did not answer in time.", Hint: "Try again; if it persists, check the provider's status page."}
	}
	if ctx.Err() != nil {
		return &Failure{Code: CodeTimeout, Message: "The test was cancelled before the provider answered."}
	}
	return &Failure{Code: CodeProviderUnavailable, Message: "Could not reach the provider: " + errorKind(err) + ".",
		Hint: "Check the provider's status page and the service's outbound network access."}
}

// errorKind names a transport error without echoing URLs or headers.
func errorKind(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return "the host name did not resolve"
	case errors.As(err, &op) && op.Op == "dial":
		return "the connection was refused or failed"
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509"):
		return "the TLS handshake failed"
	default:
		return "the connection failed"
	}
}

// byStatus is the classification every provider shares for statuses its
// error body did not settle.
func byStatus(status int, providerCode, message string) *Failure {
	f := &Failure{ProviderCode: providerCode, Message: message}
	switch {
	case status == http.StatusUnauthorized:
		f.Code, f.Hint = CodeInvalidKey, "The provider refused the key: check it, or create a new one and save it."
	case status == http.StatusForbidden:
		f.Code, f.Hint = CodePermissionDenied, "The key is valid but not allowed this call: check its permissions, project or region."
	case status == http.StatusPaymentRequired:
		f.Code, f.Hint = CodeInsufficientQuota, "Add credits or raise the spending limit in the provider's billing settings."
	case status == http.StatusTooManyRequests:
		f.Code, f.Hint = CodeRateLimited, "Wait and test again; the provider is limiting this key's requests."
	case status >= 500:
		f.Code, f.Hint = CodeProviderUnavailable, "The provider has a problem; check its status page and test again later."
	default:
		f.Code = CodeUnexpectedResponse
		f.Hint = "The provider answered in a way its documentation does not describe for this call."
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("The provider answered HTTP %d.", status)
	}
	return f
}

// retryAfter reads Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) *int {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return &n
	}
	if t, err := http.ParseTime(v); err == nil {
		n := max(0, int(t.Sub(now).Round(time.Second).Seconds()))
		return &n
	}
	return nil
}

// keyLike matches key-shaped tokens: OpenAI's 401 message quotes the key
// masked ("sk-abc1***...wxyz"), which must not reach callers either.
var keyLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\b(sk|key|rw|bria)[-_][A-Za-z0-9_*.-]{4,}|[A-Za-z0-9_-]*\*{3,}[A-Za-z0-9_*-]*`)
})

// redact removes the key, key-shaped tokens and control characters from a
// provider message and caps its length.
func redact(msg, key string) string {
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	msg = keyLike().ReplaceAllStringFunc(msg, func(tok string) string {
		// Words such as "key-value" are not keys: a key-like token has a
		// mask or a digit and some length.
		if strings.Contains(tok, "***") || (len(tok) >= 12 && strings.ContainsAny(tok, "0123456789")) {
			return "[redacted]"
		}
		return tok
	})
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	return strings.TrimSpace(msg)
}

// decodeJSON decodes body into v, reporting whether it was JSON.
func decodeJSON(body []byte, v any) bool { return json.Unmarshal(body, v) == nil }
