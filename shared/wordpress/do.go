package wordpress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one REST call.
type Request struct {
	// Method defaults to GET.
	Method string
	// Path is relative to the REST root: "wp/v2/users/me", or "" for the
	// index. It must not carry a query; use Query.
	Path  string
	Query url.Values
	// Body, when set, is sent JSON-encoded (a json.RawMessage as is;
	// note that a []byte would be encoded as a base64 string).
	Body any
	// RawBody is sent as is (media uploads) with ContentType. An
	// io.ReaderAt that is also an io.Seeker (*os.File, *bytes.Reader) is
	// re-read from its current offset on each attempt; any other reader is
	// buffered in memory first so a retry can resend it.
	RawBody     io.Reader
	ContentType string
	// Headers are added to the request (Content-Disposition for uploads).
	// Authorization, Accept and User-Agent are always the client's own.
	Headers http.Header
	// Out, when set, receives the decoded JSON body of a 2xx response.
	Out any
	// CacheBust adds _igny8_cb=<unix nanos> so page caches that also cache
	// /wp-json/ (some hosts and plugins do) serve fresh data.
	CacheBust bool
	// Idempotent allows retrying a POST or PATCH on 5xx and dropped
	// connections. Leave it false for anything that creates: a retry after
	// the server did the work would create a second post. GET, HEAD, PUT,
	// DELETE and OPTIONS are always retried; 429 is retried for every
	// method because WordPress did not process the request.
	Idempotent bool
}

// Response describes the final attempt's HTTP response.
type Response struct {
	StatusCode int
	Header     http.Header
	// Total and TotalPages come from X-WP-Total and X-WP-TotalPages; -1
	// when absent.
	Total, TotalPages int
	// Attempts counts every try, including the last.
	Attempts int
	// FinalURL is the URL that answered, after redirects. When its host
	// differs from the site URL's, the site URL stored for the
	// integration is probably not the canonical one (http vs https, www).
	FinalURL string
	// Body is the raw response body (at most MaxResponseBytes).
	Body []byte
}

// Get is Do for a GET that decodes the JSON answer into out.
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) (*Response, error) {
	return c.Do(ctx, Request{Method: http.MethodGet, Path: path, Query: query, Out: out})
}

// Do sends req, retrying per the retry policy (see Request.Idempotent),
// and decodes a 2xx JSON answer into req.Out. Every error is an *Error.
// The returned *Response is non-nil whenever the request was attempted, so
// callers can read Attempts and, for HTTP-level errors, the status and
// headers; it is nil only when req itself is invalid.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	target, err := c.endpoint(req.Path)
	if err != nil {
		return nil, err
	}
	body, err := newRequestBody(req)
	if err != nil {
		return nil, err
	}
	retrySafe := req.Idempotent
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		retrySafe = true
	}

	for attempt := 1; ; attempt++ {
		resp, werr := c.attempt(ctx, method, target, req, body)
		if resp == nil {
			resp = &Response{Total: -1, TotalPages: -1}
		}
		resp.Attempts = attempt
		if werr == nil {
			return resp, nil
		}
		wait, again := c.nextAttempt(ctx, werr, attempt, retrySafe)
		if !again {
			if attempt > 1 {
				werr.Message += fmt.Sprintf(" Gave up after %d attempts.", attempt)
			}
			return resp, werr
		}
		if err := c.opts.Sleep(ctx, wait); err != nil {
			// The caller gave up while we waited; the last answer is the
			// better diagnosis than "context canceled".
			return resp, werr
		}
	}
}

// nextAttempt decides whether to retry after e, and how long to wait.
func (c *Client) nextAttempt(ctx context.Context, e *Error, attempt int, retrySafe bool) (time.Duration, bool) {
	if ctx.Err() != nil || attempt >= c.opts.MaxAttempts {
		return 0, false
	}
	switch e.Code {
	case CodeRateLimited:
		// 429: WordPress (or the firewall in front) did not process the
		// request, so even a POST is safe to resend.
	case CodeServerError:
		if !retrySafe || !retryableStatus(e.Status) {
			return 0, false
		}
	case CodeConnectionRefused:
		// Nothing reached the server.
	case CodeConnectionFailed, CodeTimeout:
		if !retrySafe {
			return 0, false
		}
	default:
		return 0, false
	}
	if e.RetryAfter > 0 {
		if e.RetryAfter > c.opts.MaxRetryAfter {
			// Too long to hold a Lambda; the caller's queue delays instead.
			return 0, false
		}
		return e.RetryAfter, true
	}
	return c.backoff(attempt), true
}

// retryableStatus lists the 5xx answers that are usually transient: the
// classic four and the origin errors Cloudflare puts in front of many
// WordPress sites. 501 and 505 will not change on a retry.
func retryableStatus(status int) bool {
	switch status {
	case 500, 502, 503, 504, 520, 521, 522, 523, 524:
		return true
	}
	return false
}

// backoff is exponential with full jitter: uniform in [0, min(max, base·2^(n-1))).
func (c *Client) backoff(attempt int) time.Duration {
	ceiling := c.opts.MaxBackoff
	if attempt-1 < 32 {
		if d := c.opts.BaseBackoff << (attempt - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return time.Duration(c.opts.Rand() * float64(ceiling))
}

// attempt sends one try and reads its answer.
func (c *Client) attempt(ctx context.Context, method string, target *url.URL, req Request, body *requestBody) (*Response, *Error) {
	// The gate's wait is not part of the attempt's timeout, and its slot
	// is held only while the site works on the request: decoding happens
	// after it is handed back.
	leave := func() {}
	if c.gate != nil {
		l, err := c.gate.Enter(ctx)
		if err != nil {
			return nil, c.gateError(ctx, err)
		}
		var once sync.Once
		leave = func() { once.Do(l) }
	}
	defer leave()
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	u := *target
	q := url.Values{}
	for k, v := range req.Query {
		q[k] = append([]string(nil), v...)
	}
	if req.CacheBust {
		q.Set(CacheBustParam, strconv.FormatInt(c.opts.Now().UnixNano(), 10))
	}
	u.RawQuery = q.Encode()

	hreq, err := http.NewRequestWithContext(actx, method, u.String(), nil)
	if err != nil {
		return nil, &Error{Code: CodeInvalidRequest, Message: "Could not build the request.", Err: err}
	}
	for k, vs := range req.Headers {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if body != nil {
		hreq.Body, hreq.ContentLength = body.open()
		hreq.Header.Set("Content-Type", body.contentType)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.opts.UserAgent)
	hreq.Header.Set("Authorization", c.authHeader)

	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer hresp.Body.Close()

	resp := &Response{
		StatusCode: hresp.StatusCode,
		Header:     hresp.Header,
		Total:      headerInt(hresp.Header, "X-WP-Total"),
		TotalPages: headerInt(hresp.Header, "X-WP-TotalPages"),
		FinalURL:   hresp.Request.URL.String(),
	}
	if hresp.ContentLength > c.opts.MaxResponseBytes {
		return resp, c.tooLarge(resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(hresp.Body, c.opts.MaxResponseBytes+1))
	if err != nil {
		return resp, c.transportError(ctx, err)
	}
	leave()
	if int64(len(data)) > c.opts.MaxResponseBytes {
		return resp, c.tooLarge(resp.StatusCode)
	}
	resp.Body = data
	return resp, c.checkResponse(method, req, resp, hresp.Request.URL)
}

func (c *Client) tooLarge(status int) *Error {
	limit := fmt.Sprintf("%d bytes", c.opts.MaxResponseBytes)
	if c.opts.MaxResponseBytes >= 1<<20 {
		limit = fmt.Sprintf("%.0f MiB", float64(c.opts.MaxResponseBytes)/(1<<20))
	}
	return &Error{Code: CodeResponseTooLarge, Status: status,
		Message: "The site's answer is larger than the " + limit + " this service accepts.",
		Hint:    "A plugin may be adding a lot of data to REST responses; ask for fewer items per page or disable the plugin's REST additions."}
}

// checkResponse turns an HTTP answer into nil or a diagnosed *Error, and
// decodes a successful JSON body into req.Out.
func (c *Client) checkResponse(method string, req Request, resp *Response, final *url.URL) *Error {
	e := c.diagnose(method, req, resp, final)
	if e != nil && !strings.EqualFold(final.Hostname(), c.site.Hostname()) && e.Code != CodeRedirected {
		e.Hint = strings.TrimSpace(e.Hint + " The request was redirected to " + final.Scheme + "://" + final.Host +
			"; if that is the site's real address, update the site URL.")
	}
	return e
}

func (c *Client) diagnose(method string, req Request, resp *Response, final *url.URL) *Error {
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		return c.decodeSuccess(method, req, resp)
	case status >= 300 && status < 400:
		// Only reached for methods whose redirects we refuse to follow.
		target := "another address"
		if loc := resp.Header.Get("Location"); loc != "" {
			target = c.scrub(loc)
		}
		return &Error{Code: CodeRedirected, Status: status,
			Message: fmt.Sprintf("WordPress answered the %s with a redirect to %s instead of processing it.", method, target),
			Hint:    "The site URL is probably not the site's canonical address (http vs https, with or without www, or a moved site). Update the site URL to the address WordPress redirects to."}
	case status == http.StatusUnauthorized && !strings.EqualFold(final.Hostname(), c.site.Hostname()):
		// Go does not forward credentials to another host, so this 401 is
		// our own doing, and the site URL is what to fix.
		return &Error{Code: CodeRedirected, Status: status,
			Message: fmt.Sprintf("The site redirected from %s to %s, and credentials are not sent to a different host, so WordPress saw an anonymous request.", c.site.Host, final.Host),
			Hint:    "Update the site URL to " + final.Scheme + "://" + final.Host + c.site.Path + "."}
	}
	return c.statusError(req.Path, resp)
}

func (c *Client) decodeSuccess(method string, req Request, resp *Response) *Error {
	if method == http.MethodHead || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	body := trimJSONPrefix(resp.Body)
	if len(body) == 0 {
		if req.Out == nil {
			return nil
		}
		return c.notJSON(req.Path, resp, "an empty page")
	}
	if !looksLikeJSON(body) {
		return c.notJSON(req.Path, resp, "")
	}
	if req.Out == nil {
		return nil
	}
	if err := json.Unmarshal(body, req.Out); err != nil {
		e := &Error{Code: CodeInvalidResponse, Status: resp.StatusCode,
			Message: "The site's JSON answer to /wp-json/" + req.Path + " does not have the expected shape.",
			Hint:    "A plugin may be changing REST responses; if the problem persists, try disabling recently added plugins.",
			Err:     err}
		if hasPHPNoise(resp.Body) {
			e.Message = "PHP printed warnings or errors into the JSON answer to /wp-json/" + req.Path + "."
			e.Hint = phpNoiseHint
		}
		return e
	}
	return nil
}

// requestBody is a body that can be sent again on a retry.
type requestBody struct {
	data        []byte      // JSON or buffered raw bytes
	src         io.ReaderAt // or a re-readable section of the caller's reader
	off, size   int64
	contentType string
}

func newRequestBody(req Request) (*requestBody, error) {
	switch {
	case req.Body != nil && req.RawBody != nil:
		return nil, &Error{Code: CodeInvalidRequest, Message: "A request has either Body or RawBody, not both."}
	case req.Body != nil:
		data, err := json.Marshal(req.Body)
		if err != nil {
			return nil, &Error{Code: CodeInvalidRequest, Message: "Could not encode the request body as JSON.", Err: err}
		}
		return &requestBody{data: data, size: int64(len(data)), contentType: "application/json"}, nil
	case req.RawBody != nil:
		ct := cmpOr(req.ContentType, cmpOr(req.Headers.Get("Content-Type"), "application/octet-stream"))
		if rs, ok := req.RawBody.(interface {
			io.ReaderAt
			io.Seeker
		}); ok {
			off, err1 := rs.Seek(0, io.SeekCurrent)
			end, err2 := rs.Seek(0, io.SeekEnd)
			_, err3 := rs.Seek(off, io.SeekStart)
			if err1 == nil && err2 == nil && err3 == nil {
				return &requestBody{src: rs, off: off, size: end - off, contentType: ct}, nil
			}
		}
		data, err := io.ReadAll(req.RawBody)
		if err != nil {
			return nil, &Error{Code: CodeInvalidRequest, Message: "Could not read the upload body.", Err: err}
		}
		return &requestBody{data: data, size: int64(len(data)), contentType: ct}, nil
	}
	return nil, nil
}

// open returns a fresh reader for one attempt. Each attempt gets its own
// reader, so a transport still closing the previous one cannot disturb it.
func (b *requestBody) open() (io.ReadCloser, int64) {
	if b.size == 0 {
		return http.NoBody, 0
	}
	if b.src != nil {
		return io.NopCloser(io.NewSectionReader(b.src, b.off, b.size)), b.size
	}
	return io.NopCloser(bytes.NewReader(b.data)), b.size
}

// endpoint builds the REST URL for path, refusing anything that could
// leave the REST root (a rest_base read from the site is not trusted).
func (c *Client) endpoint(path string) (*url.URL, error) {
	path = strings.TrimLeft(path, "/")
	bad := strings.ContainsAny(path, "?#\\") || strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f })
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			bad = true
		}
	}
	if bad {
		return nil, &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("%q is not a valid REST path.", path)}
	}
	u := *c.site
	u.Path = c.site.Path + restPrefix + path
	return &u, nil
}

func headerInt(h http.Header, name string) int {
	v, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil || v < 0 {
		return -1
	}
	return v
}

// retryAfter parses Retry-After as delay-seconds or an HTTP-date.
func (c *Client) retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	// A day bounds what a confused or hostile server can ask for.
	const ceiling = 24 * time.Hour
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(secs, int64(ceiling/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(c.opts.Now())
	}
	return min(max(d, 0), ceiling)
}
