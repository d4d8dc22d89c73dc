// Package wordpress is the one client for every call this service makes to
// a WordPress site's REST API (/wp-json/), authenticated with an Application
// Password. It dials only through the SSRF guard, retries what is safe to
// retry (429 and 5xx with backoff, jitter and Retry-After; never a POST that
// may have created something), caps response sizes, walks X-WP-Total
// pagination, and turns every failure into an *Error whose stable Code,
// Message and Hint tell a site owner what is wrong and how to fix it —
// without ever revealing the password.
package wordpress

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/siteurl"
	"github.com/igny8/integrations/shared/ssrf"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout          = 20 * time.Second
	DefaultMaxResponseBytes = 16 << 20
	DefaultMaxAttempts      = 4
	DefaultBaseBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff       = 20 * time.Second
	DefaultMaxRetryAfter    = 60 * time.Second
	DefaultUserAgent        = "IGNY8-Integrations/1.0 (+https://igny8.com)"
	// DefaultMaxPages bounds EachPage so a site that always reports "more"
	// cannot keep a worker busy forever (10,000 pages of 100 = 1M items).
	DefaultMaxPages = 10000
	// MaxPerPage is WordPress's cap on per_page; it answers 400 above it.
	MaxPerPage = 100
	// maxRedirects is how many redirects a GET follows.
	maxRedirects = 5
	// restPrefix is the REST root below the site URL (pretty permalinks).
	restPrefix = "/wp-json/"
	// CacheBustParam is the query parameter Request.CacheBust adds.
	CacheBustParam = "_igny8_cb"
)

// Credentials are a WordPress username and Application Password. The
// password is sent exactly as given (WordPress shows it in groups separated
// by spaces and accepts it with or without them). It is never logged and
// never part of an error: every formatting path redacts it.
type Credentials struct {
	Username string
	Password string
}

const redacted = "[REDACTED]"

// String redacts the password.
func (c Credentials) String() string {
	return fmt.Sprintf("wordpress.Credentials{Username: %q, Password: %s}", c.Username, redacted)
}

// GoString redacts the password in %#v.
func (c Credentials) GoString() string { return c.String() }

// Format redacts the password for every verb (%d or %x on a struct would
// otherwise print its fields raw).
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue redacts the password in slog output.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.String("password", redacted))
}

// MarshalJSON redacts the password: a Credentials value that ends up in a
// JSON log or response must not carry the secret. Store the password field
// explicitly where it is meant to go (Secrets Manager).
func (c Credentials) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"username":%q,"password":%q}`, c.Username, redacted), nil
}

// Options tune a Client. The zero value is production-ready except for
// Policy, which must allow loopback for a WordPress on 127.0.0.1.
type Options struct {
	// Policy is the SSRF policy the default transport dials through.
	Policy ssrf.Policy
	// Transport, when set, replaces the guarded transport. Only tests
	// should set it: it bypasses the SSRF guard.
	Transport http.RoundTripper
	// Timeout bounds one attempt, including reading the body.
	Timeout time.Duration
	// MaxResponseBytes caps a response body; larger is response_too_large.
	MaxResponseBytes int64
	// MaxAttempts counts the first try: 4 means up to 3 retries.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape exponential backoff with full jitter.
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps a Retry-After we wait for in process; a longer
	// one ends the call with an error carrying RetryAfter so a queue can
	// delay the job instead of a Lambda sleeping.
	MaxRetryAfter time.Duration
	// UserAgent is sent on every request.
	UserAgent string
	// MaxPages bounds EachPage.
	MaxPages int
	// Sleep waits between attempts; it must return early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for jitter.
	Rand func() float64
	// Now is the clock for Retry-After dates.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.Sleep == nil {
		o.Sleep = sleepContext
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == nil {
		o.Transport = sharedTransport(o.Policy, o.Timeout)
	}
	return o
}

type transportKey struct {
	policy      ssrf.Policy
	dialTimeout time.Duration
}

var (
	transportsMu sync.Mutex
	transports   = map[transportKey]*http.Transport{}
)

// sharedTransport returns one guarded transport per policy and timeout, so
// clients built per integration or per job share connection pools instead
// of each leaving idle connections behind.
func sharedTransport(p ssrf.Policy, dialTimeout time.Duration) *http.Transport {
	transportsMu.Lock()
	defer transportsMu.Unlock()
	k := transportKey{p, dialTimeout}
	if t, ok := transports[k]; ok {
		return t
	}
	t := p.Transport(dialTimeout)
	transports[k] = t
	return t
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client talks to one WordPress site. It is safe for concurrent use.
type Client struct {
	site       *url.URL // normalised site URL, no trailing slash
	username   string
	authHeader string   // "Basic …", built once
	secrets    []string // password forms scrubbed from any text we surface
	http       *http.Client
	opts       Options
	gate       Gate
}

// Gate bounds how many requests go to one site at once, across every
// process that calls it. Enter waits for a turn and returns the function
// that ends it; an error means no turn came in time (the caller should try
// again later) or ctx ended.
type Gate interface {
	Enter(ctx context.Context) (leave func(), err error)
}

// GateBusyError is what a Gate returns when the site stayed busy: the
// request was not sent, and RetryAfter says when trying again makes sense.
type GateBusyError struct{ RetryAfter time.Duration }

func (e *GateBusyError) Error() string {
	return "the site already has its maximum of concurrent requests from this service"
}

// WithGate returns a copy of the client whose every attempt first takes a
// turn from g: the turn covers sending and reading the answer, not the
// waits between retries.
func (c *Client) WithGate(g Gate) *Client {
	cp := *c
	cp.gate = g
	return &cp
}

// New returns a client for the site at siteURL ("https://example.com" or,
// for a WordPress installed in a subdirectory, "https://example.com/blog").
// The REST root is siteURL + "/wp-json/".
func New(siteURL string, creds Credentials, opts Options) (*Client, error) {
	site, err := parseSiteURL(siteURL)
	if err != nil {
		return nil, err
	}
	if creds.Username == "" || creds.Password == "" {
		return nil, &Error{Code: CodeInvalidRequest, Message: "A WordPress username and Application Password are both required."}
	}
	opts = opts.withDefaults()
	c := &Client{
		site:       site,
		username:   creds.Username,
		authHeader: "Basic " + base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)),
		secrets:    secretForms(creds),
		opts:       opts,
	}
	c.http = &http.Client{Transport: opts.Transport, CheckRedirect: checkRedirect}
	return c, nil
}

// secretForms lists every spelling of the password a hostile or chatty
// server might echo back, longest first so replacements don't leave parts.
func secretForms(creds Credentials) []string {
	compact := strings.ReplaceAll(creds.Password, " ", "")
	forms := []string{
		base64.StdEncoding.EncodeToString([]byte(creds.Username + ":" + creds.Password)),
		url.PathEscape(creds.Password), url.QueryEscape(creds.Password),
		creds.Password, compact,
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(forms)
}

// String keeps the credentials out of %v of a Client.
func (c Client) String() string { return "wordpress.Client{" + c.site.String() + "}" }

// Format keeps the credentials out of every verb, including %+v and %#v,
// which would otherwise print unexported fields raw; value receiver so a
// dereferenced *Client is covered too.
func (c Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// SiteURL is the normalised site URL the client was built with.
func (c *Client) SiteURL() string { return c.site.String() }

// Username is the WordPress user the client authenticates as.
func (c *Client) Username() string { return c.username }

// parseSiteURL normalises the site URL with the service's one normaliser.
// Whether http:// is acceptable is the caller's policy (it was checked when
// the integration was saved); the client accepts both schemes.
func parseSiteURL(raw string) (*url.URL, error) {
	norm, err := siteurl.Normalize(raw, siteurl.Options{AllowHTTP: true})
	if err != nil {
		return nil, &Error{Code: CodeInvalidSiteURL, Message: "The site URL is not usable: " + err.Error() + ".",
			Hint: "Enter the address of the WordPress site as visitors see it, for example https://example.com or https://example.com/blog."}
	}
	u, err := url.Parse(norm)
	if err != nil {
		return nil, &Error{Code: CodeInvalidSiteURL, Message: "The site URL is not usable.", Err: err}
	}
	return u, nil
}

// Sentinels for redirect refusals, turned into CodeRedirected by classify.
var (
	errTooManyRedirects = errors.New("too many redirects")
	errInsecureRedirect = errors.New("redirect from https to http refused")
)

// checkRedirect follows at most maxRedirects redirects, for GET and HEAD
// only, and never from https to http. Other methods get the 3xx response
// back (reported as CodeRedirected): Go would turn a redirected POST into a
// GET, silently dropping the body. Every hop is dialled through the same
// guarded transport, and Go drops Authorization when the host changes to
// one that is not a subdomain of the original.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if m := via[0].Method; m != http.MethodGet && m != http.MethodHead {
		return http.ErrUseLastResponse
	}
	if len(via) > maxRedirects {
		return errTooManyRedirects
	}
	if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errInsecureRedirect
	}
	return nil
}
