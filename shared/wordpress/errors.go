package wordpress

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/igny8/integrations/shared/ssrf"
)

// The error codes. They are stable: the API returns them and the sync
// worker branches on them. Never rename one.
const (
	// Reaching the site.
	CodeDNSFailure        = "dns_failure"        // host name not found
	CodeTLSFailure        = "tls_failure"        // certificate or HTTPS handshake problem
	CodeTimeout           = "timeout"            // no answer in time
	CodeConnectionRefused = "connection_refused" // nothing listening
	CodeConnectionFailed  = "connection_failed"  // connection dropped
	CodeForbiddenAddress  = "forbidden_address"  // resolves to a private/reserved address (SSRF guard)
	CodeCanceled          = "canceled"           // our caller canceled the context

	// What the site answered.
	CodeNotJSON                  = "not_json"                          // a web page where JSON was expected
	CodeAuthFailed               = "auth_failed"                       // 401 although credentials were sent
	CodeApplicationPasswordsOff  = "application_passwords_unavailable" // Application Passwords disabled or unavailable
	CodeForbidden                = "forbidden"                         // 403: role lacks a capability, or a firewall
	CodeRESTDisabled             = "rest_disabled"                     // rest_no_route on the index or a wp/v2 route
	CodeNotFound                 = "not_found"                         // 404 otherwise
	CodeRateLimited              = "rate_limited"                      // 429 after retries, or Retry-After too long
	CodeServerError              = "server_error"                      // 5xx after retries
	CodeBadRequest               = "bad_request"                       // other 4xx (rest_invalid_param …)
	CodeResponseTooLarge         = "response_too_large"                // body over MaxResponseBytes
	CodeRedirected               = "redirected"                        // redirect refused or pointing elsewhere
	CodeInvalidResponse          = "invalid_response"                  // JSON of the wrong shape, missing headers
	CodeInsufficientCapabilities = "insufficient_capabilities"         // TestConnection: user cannot publish_posts
	CodeTooManyPages             = "too_many_pages"                    // EachPage hit MaxPages
	CodeInvalidSiteURL           = "invalid_site_url"                  // New: unusable site URL
	CodeInvalidCollection        = "invalid_collection"                // CollectionTotal: bad rest_base
	CodeInvalidRequest           = "invalid_request"                   // a programming error building a Request
	CodeSiteBusy                 = "site_busy"                         // our own per-site request limit: not sent, try later
)

// Error is every error this package returns. Message and Hint are plain
// language for a site owner; neither ever contains the password.
type Error struct {
	// Code is this package's stable code (the Code* constants).
	Code string
	// Status is the HTTP status WordPress answered, 0 if none.
	Status int
	// WPCode is the "code" of WordPress's error JSON (rest_not_logged_in …).
	WPCode string
	// Message says what went wrong; it keeps WordPress's own message
	// where there is one.
	Message string
	// Hint says what the site owner can do about it.
	Hint string
	// RetryAfter is how long the site asked us to wait (429/503), so a
	// queue can delay the job.
	RetryAfter time.Duration
	// Data is the "data" member of WordPress's error JSON (term_exists
	// carries the existing term_id there).
	Data json.RawMessage
	// Err is the underlying cause, for logs.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("wordpress: ")
	b.WriteString(e.Code)
	if e.Status != 0 || e.WPCode != "" {
		b.WriteString(" (")
		if e.Status != 0 {
			fmt.Fprintf(&b, "HTTP %d", e.Status)
		}
		if e.WPCode != "" {
			if e.Status != 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.WPCode)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		if e.Err != nil {
			b.WriteString(strings.TrimSuffix(e.Message, "."))
		} else {
			b.WriteString(e.Message)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// CodeOf returns err's code, or "" when err is not an *Error (or nil).
func CodeOf(err error) string {
	if e, ok := AsError(err); ok {
		return e.Code
	}
	return ""
}

// permanent says, per code, whether repeating the same call later can
// succeed without someone changing the site, the credentials or our data.
var permanent = map[string]bool{
	CodeDNSFailure:               true, // NXDOMAIN; temporary DNS failures are checked below
	CodeTLSFailure:               true,
	CodeTimeout:                  false,
	CodeConnectionRefused:        false,
	CodeConnectionFailed:         false,
	CodeForbiddenAddress:         true,
	CodeCanceled:                 false,
	CodeNotJSON:                  true,
	CodeAuthFailed:               true,
	CodeApplicationPasswordsOff:  true,
	CodeForbidden:                true,
	CodeRESTDisabled:             true,
	CodeNotFound:                 true,
	CodeRateLimited:              false,
	CodeServerError:              false,
	CodeBadRequest:               true,
	CodeResponseTooLarge:         true,
	CodeRedirected:               true,
	CodeInvalidResponse:          true,
	CodeInsufficientCapabilities: true,
	CodeTooManyPages:             true,
	CodeInvalidSiteURL:           true,
	CodeInvalidCollection:        true,
	CodeInvalidRequest:           true,
}

// IsPermanent reports whether err will recur on a retry, so a job should
// be dropped (and the problem shown to the site owner) rather than
// retried: 4xx other than 429, authentication and permission problems,
// non-JSON answers, certificate problems, unknown hosts. Timeouts, 5xx,
// rate limiting, dropped connections and errors from outside this package
// are not permanent.
func IsPermanent(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	if e.Code == CodeDNSFailure {
		var dnsErr *net.DNSError
		if errors.As(e.Err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout) {
			return false
		}
	}
	return permanent[e.Code]
}

// redactedError keeps a cause for errors.Is and errors.As while its text,
// which may quote a redirect URL the site chose, has the password removed.
type redactedError struct {
	text string
	err  error
}

func (r *redactedError) Error() string { return r.text }
func (r *redactedError) Unwrap() error { return r.err }

func (c *Client) redact(err error) error {
	if text := c.scrub(err.Error()); text != err.Error() {
		return &redactedError{text: text, err: err}
	}
	return err
}

// transportError diagnoses a failure to get an HTTP answer at all.
// gateError explains a turn the gate did not give.
func (c *Client) gateError(ctx context.Context, err error) *Error {
	var busy *GateBusyError
	if errors.As(err, &busy) {
		return &Error{Code: CodeSiteBusy, RetryAfter: busy.RetryAfter, Err: err,
			Message: fmt.Sprintf("The request to %s was not sent: this service already has its maximum of concurrent requests to the site.", c.site.Host),
			Hint:    "Nothing is wrong with the site; the work is retried shortly. SITE_CONCURRENCY sets the limit."}
	}
	if ctx.Err() != nil {
		return c.transportError(ctx, ctx.Err())
	}
	return &Error{Code: CodeSiteBusy, Err: err,
		Message: fmt.Sprintf("The request to %s was not sent: its concurrency limit could not be checked.", c.site.Host),
		Hint:    "This is a problem on our side (the lease table); the work is retried."}
}

func (c *Client) transportError(ctx context.Context, err error) *Error {
	e := c.classifyTransport(ctx, err)
	e.Err = c.redact(err)
	return e
}

func (c *Client) classifyTransport(ctx context.Context, err error) *Error {
	host := c.site.Host
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, errInsecureRedirect):
		return &Error{Code: CodeRedirected,
			Message: "The site redirected from https to plain http; credentials are never sent unencrypted, so the request was stopped.",
			Hint:    "Fix the site's redirect rules (or the WordPress Address settings) so https stays https."}
	case errors.Is(err, errTooManyRedirects):
		return &Error{Code: CodeRedirected,
			Message: fmt.Sprintf("The site redirected more than %d times.", maxRedirects),
			Hint:    "There is probably a redirect loop between http and https or www and non-www; check the WordPress Address and Site Address under Settings → General and any redirect plugin."}
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Code: CodeTimeout,
				Message: fmt.Sprintf("The request to %s ran out of time.", host),
				Hint:    "The site may be slow or overloaded; the work is retried later."}
		}
		return &Error{Code: CodeCanceled, Message: fmt.Sprintf("The request to %s was canceled.", host)}
	case errors.Is(err, ssrf.ErrForbiddenAddress):
		return &Error{Code: CodeForbiddenAddress,
			Message: fmt.Sprintf("%s resolves to a private, local or reserved network address, which this service does not connect to.", host),
			Hint:    "Use the site's public address. A WordPress on your own computer or a private network cannot be reached from IGNY8."}
	case errors.As(err, &dnsErr):
		if dnsErr.IsTemporary || dnsErr.IsTimeout {
			return &Error{Code: CodeDNSFailure,
				Message: fmt.Sprintf("Looking up the site's host name %s failed temporarily.", c.site.Hostname()),
				Hint:    "This usually passes. If it does not, check the domain's DNS servers."}
		}
		return &Error{Code: CodeDNSFailure,
			Message: fmt.Sprintf("The site's host name %s could not be found.", c.site.Hostname()),
			Hint:    "Check the site URL for typos, and that the domain is registered and its DNS points at the web server."}
	}
	if msg, ok := tlsProblem(err); ok {
		return &Error{Code: CodeTLSFailure, Message: msg,
			Hint: "Fix the site's HTTPS certificate: renew it (most hosts offer free Let's Encrypt certificates) and make sure the server sends the full certificate chain. An online SSL checker shows the exact problem."}
	}
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Code: CodeConnectionRefused,
			Message: fmt.Sprintf("Nothing accepted a connection at %s (connection refused).", host),
			Hint:    "The web server may be down, or the site URL names the wrong port or protocol (http vs https)."}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Code: CodeTimeout,
			Message: fmt.Sprintf("The site did not answer within %s.", c.opts.Timeout),
			Hint:    "The site may be slow or overloaded; requests are retried. A caching plugin or a faster hosting plan helps if it keeps happening."}
	}
	return &Error{Code: CodeConnectionFailed,
		Message: fmt.Sprintf("The connection to %s failed or was dropped before WordPress answered.", host),
		Hint:    "This is often temporary. If it keeps happening, a firewall in front of the site may be dropping IGNY8's requests."}
}

// tlsProblem says which certificate or handshake problem err is, if any.
func tlsProblem(err error) (string, bool) {
	var (
		invalid  x509.CertificateInvalidError
		hostErr  x509.HostnameError
		unknown  x509.UnknownAuthorityError
		roots    x509.SystemRootsError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		echError *tls.ECHRejectionError
	)
	switch {
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired && invalid.Cert != nil {
			return fmt.Sprintf("The site's HTTPS certificate expired on %s.", invalid.Cert.NotAfter.UTC().Format("2 January 2006")), true
		}
		if invalid.Reason == x509.Expired {
			return "The site's HTTPS certificate has expired (or is not valid yet).", true
		}
		return "The site's HTTPS certificate is not valid: " + invalid.Error() + ".", true
	case errors.As(err, &hostErr):
		names := "other names"
		if hostErr.Certificate != nil && len(hostErr.Certificate.DNSNames) > 0 {
			names = strings.Join(hostErr.Certificate.DNSNames, ", ")
		}
		return fmt.Sprintf("The site's HTTPS certificate is for %s, not for %s.", names, hostErr.Host), true
	case errors.As(err, &unknown):
		return "The site's HTTPS certificate is not issued by a trusted authority: it may be self-signed, or the server does not send its intermediate certificates.", true
	case errors.As(err, &roots):
		return "The site's HTTPS certificate could not be checked: no trusted authorities are available.", true
	case errors.As(err, &verify):
		return "The site's HTTPS certificate could not be verified.", true
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "The server does not speak HTTPS at this address.", true
	case errors.As(err, &alert):
		return fmt.Sprintf("The HTTPS handshake with the site failed (%v).", alert), true
	case errors.As(err, &echError):
		return "The HTTPS handshake with the site failed (encrypted client hello rejected).", true
	case strings.Contains(err.Error(), "tls: "):
		return "The HTTPS handshake with the site failed.", true
	}
	return "", false
}

// wpError is WordPress's error JSON: {"code":…,"message":…,"data":{"status":…}}.
type wpError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func parseWPError(body []byte) (wpError, bool) {
	var we wpError
	body = trimJSONPrefix(body)
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &we) != nil || we.Code == "" {
		return wpError{}, false
	}
	return we, true
}

// invalidParams renders data.params of rest_invalid_param ("status: status
// is not one of publish, …") in a stable order.
func invalidParams(data json.RawMessage) string {
	var d struct {
		Params map[string]string `json:"params"`
	}
	if json.Unmarshal(data, &d) != nil || len(d.Params) == 0 {
		return ""
	}
	keys := make([]string, 0, len(d.Params))
	for k := range d.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = cleanText(d.Params[k])
	}
	return strings.Join(parts, "; ")
}

// permalinkAndFirewallHint tells a site owner how to see what we saw.
func (c *Client) permalinkAndFirewallHint() string {
	return "Open " + c.site.String() + "/wp-json/ in a browser: it should show JSON text. " + permalinkAndFirewallTail
}

const permalinkAndFirewallTail = "If it shows the home page or a \"not found\" page, set Settings → Permalinks to anything but Plain (or fix the web server's rewrite rules). " +
	"If it shows a block, captcha or login page, a security plugin or firewall is blocking the REST API: allow /wp-json/ for IGNY8."

const phpNoiseHint = "The site prints PHP warnings into its answers. Set define('WP_DEBUG_DISPLAY', false); in wp-config.php, and update or fix the plugin or theme causing the warning."

const authHeaderHint = "Check the username and create a fresh Application Password under Users → Profile → Application Passwords (your normal login password does not work). " +
	"If both are right, the web server is removing the Authorization header before WordPress sees it: add the line " +
	`SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1` + " to the .htaccess file in the WordPress folder, or inside its rewrite rules add " +
	"RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}] — or ask the host to pass the Authorization header to PHP."

// statusError diagnoses a non-2xx, non-3xx answer.
func (c *Client) statusError(path string, resp *Response) *Error {
	status := resp.StatusCode
	e := &Error{Status: status}
	wp, isWP := parseWPError(resp.Body)
	wpMsg := ""
	if isWP {
		e.WPCode = c.scrub(wp.Code)
		if len(wp.Data) > 0 {
			e.Data = json.RawMessage(c.scrub(string(wp.Data)))
		}
		wpMsg = c.scrub(cleanText(wp.Message))
	}
	what := c.describeAnswer(resp)
	route := "/wp-json/" + path

	switch {
	case wp.Code == "application_passwords_disabled" || wp.Code == "application_passwords_disabled_for_user":
		e.Code = CodeApplicationPasswordsOff
		e.Message = "WordPress says Application Passwords are not available" + forUser(wp.Code, c.username) + ": " + wpMsg
		e.Hint = applicationPasswordsHint
	case resp.Header.Get("Cf-Mitigated") == "challenge":
		e.Code = CodeForbidden
		e.Message = "Cloudflare in front of the site answered with a bot challenge instead of passing the request to WordPress."
		e.Hint = "In Cloudflare, add a WAF rule that skips bot protection for requests to /wp-json/ from IGNY8 (User-Agent " + c.opts.UserAgent + ")."
	case status == http.StatusUnauthorized:
		e.Code = CodeAuthFailed
		switch wp.Code {
		case "incorrect_password":
			e.Message = fmt.Sprintf("WordPress rejected the Application Password for user %q: %s", c.username, wpMsg)
			e.Hint = "Create a new Application Password under Users → Profile → Application Passwords and paste it here; your normal login password does not work."
		case "invalid_username", "invalid_email":
			e.Message = fmt.Sprintf("WordPress has no user %q: %s", c.username, wpMsg)
			e.Hint = "Enter the username (or email address) of the WordPress account the Application Password belongs to."
		case "":
			e.Message = fmt.Sprintf("The web server in front of WordPress refused the request with %s (HTTP 401) before WordPress could check the Application Password.", what)
			e.Hint = "The site is probably protected by a server password (HTTP authentication); remove it for /wp-json/. " + authHeaderHint
		default:
			e.Message = fmt.Sprintf("WordPress treated the request as not logged in although credentials were sent (%s). "+
				"Either the username or Application Password is wrong, or the web server strips the Authorization header before WordPress sees it (common on CGI/FastCGI hosting).", wpMsg)
			e.Hint = authHeaderHint
		}
	case status == http.StatusForbidden:
		e.Code = CodeForbidden
		switch {
		case strings.HasPrefix(wp.Code, "rest_cannot") || strings.HasPrefix(wp.Code, "rest_forbidden"):
			e.Message = fmt.Sprintf("WordPress user %q lacks the permission for this: %s", c.username, wpMsg)
			e.Hint = "Connect with an account whose role is Editor or Administrator."
		case isWP:
			e.Message = "WordPress refused the request (HTTP 403): " + wpMsg
			e.Hint = "A security plugin or the user's role blocks this request; allow IGNY8's access to the REST API, or connect with an Editor or Administrator account."
		default:
			e.Message = fmt.Sprintf("The site refused the request with %s (HTTP 403) instead of WordPress's JSON: typically a security plugin (Wordfence, Solid Security, All In One WP Security), a firewall (Cloudflare, Sucuri, ModSecurity) or the host blocking REST API access.", what)
			e.Hint = "Allow requests to /wp-json/ from IGNY8 (User-Agent " + c.opts.UserAgent + ") in the security plugin or firewall."
		}
	case status == http.StatusNotFound:
		switch {
		case wp.Code == "rest_no_route" && isCoreRoute(path):
			e.Code = CodeRESTDisabled
			e.Message = fmt.Sprintf("WordPress's REST API has no route %s: the REST API is disabled or the route was removed.", route)
			e.Hint = "A plugin (such as \"Disable REST API\" or a security plugin) or theme code turns off REST API routes; allow them for logged-in users."
		case wp.Code == "rest_no_route":
			e.Code = CodeNotFound
			e.Message = fmt.Sprintf("WordPress has no REST route %s; the plugin that provides it may be inactive, or the content type is not available over REST.", route)
		case isWP:
			e.Code = CodeNotFound
			e.Message = "WordPress could not find it: " + wpMsg
		default:
			e.Code = CodeNotFound
			e.Message = fmt.Sprintf("The site answered %s with %s (HTTP 404), not a WordPress REST response.", route, what)
			e.Hint = "Check the site URL (including a subfolder such as /blog). " + c.permalinkAndFirewallHint()
		}
	case status == http.StatusTooManyRequests:
		e.Code = CodeRateLimited
		e.RetryAfter = c.retryAfter(resp.Header)
		e.Message = "The site (or its host or firewall) is limiting how fast IGNY8 may send requests (HTTP 429)."
		e.Hint = "IGNY8 slows down and retries. If this keeps happening, raise the rate limit for /wp-json/ or allow IGNY8 in the security plugin or firewall."
	case status >= 500 && wp.Code == "rest_upload_sideload_error":
		// WordPress answers 500 when it refuses an upload's file (a type
		// the site does not allow, a file that is not what it claims):
		// sending the same file again cannot help.
		e.Code = CodeBadRequest
		e.Message = "WordPress refused the uploaded file: " + wpMsg
		e.Hint = "Check that the site allows this file type (Settings or a security plugin) and that the image is valid."
	case status >= 500:
		e.Code = CodeServerError
		if status == http.StatusServiceUnavailable {
			e.RetryAfter = c.retryAfter(resp.Header)
		}
		e.Message = fmt.Sprintf("The site failed with HTTP %d", status)
		if wpMsg != "" {
			e.Message += ": " + wpMsg
		} else {
			e.Message += " (" + what + ")."
		}
		e.Hint = "This is usually temporary (an overloaded host or maintenance mode); IGNY8 retries. If it keeps happening, check the site's PHP error log."
		if hasPHPNoise(resp.Body) {
			e.Hint = "A PHP error stopped WordPress. Check the site's PHP error log (or the \"technical issue\" email WordPress sent) for the plugin or theme at fault."
		}
	case status >= 400:
		e.Code = CodeBadRequest
		if isWP {
			e.Message = "WordPress rejected the request: " + wpMsg
			if params := invalidParams(wp.Data); params != "" {
				e.Message += " (" + c.scrub(params) + ")"
			}
		} else {
			e.Message = fmt.Sprintf("The site rejected the request with HTTP %d (%s).", status, what)
		}
		if status == http.StatusRequestEntityTooLarge {
			e.Hint = "The web server refuses uploads this large; raise PHP's upload_max_filesize and post_max_size (and nginx's client_max_body_size)."
		}
	default:
		e.Code = CodeInvalidResponse
		e.Message = fmt.Sprintf("The site answered with the unexpected HTTP status %d.", status)
	}
	return e
}

const applicationPasswordsHint = "WordPress only offers Application Passwords over HTTPS (or on sites marked as local development). " +
	"Make the site use https://, and check that no plugin (for example a security plugin) or the wp_is_application_passwords_available filter turns them off."

func forUser(wpCode, username string) string {
	if wpCode == "application_passwords_disabled_for_user" {
		return fmt.Sprintf(" for user %q", username)
	}
	return ""
}

// coreCollections are the wp/v2 routes every WordPress registers. Their
// absence (rest_no_route) means the REST API, or part of it, has been
// turned off; a missing custom type's route means something milder.
var coreCollections = []string{"posts", "pages", "media", "users", "types", "taxonomies",
	"categories", "tags", "comments", "settings", "statuses", "search"}

// isCoreRoute is true for the index and WordPress's own wp/v2 routes.
func isCoreRoute(path string) bool {
	path = strings.Trim(path, "/")
	if path == "" || path == "wp/v2" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "wp/v2/")
	if !ok {
		return false
	}
	collection, _, _ := strings.Cut(rest, "/")
	return slices.Contains(coreCollections, collection)
}

func (c *Client) notJSON(path string, resp *Response, what string) *Error {
	if what == "" {
		what = c.describeAnswer(resp)
	}
	e := &Error{Code: CodeNotJSON, Status: resp.StatusCode,
		Message: fmt.Sprintf("The site answered /wp-json/%s with %s instead of the REST API's JSON.", path, what),
		Hint:    c.permalinkAndFirewallHint()}
	if hasPHPNoise(resp.Body) {
		e.Message = fmt.Sprintf("PHP printed warnings or errors into the answer to /wp-json/%s, so it is not valid JSON.", path)
		e.Hint = phpNoiseHint
	}
	return e
}

var titlePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`) })

// describeAnswer names a non-JSON body for a message: "a web page titled
// "Just a moment..."", "an empty answer", "a plain text answer".
func (c *Client) describeAnswer(resp *Response) string {
	body := bytes.TrimSpace(resp.Body)
	switch {
	case len(body) == 0:
		return "an empty answer"
	case looksLikeJSON(trimJSONPrefix(body)):
		return "an unrecognised JSON answer"
	}
	if m := titlePattern().FindSubmatch(body); m != nil {
		if title := c.scrub(cleanText(string(m[1]))); title != "" {
			if len(title) > 100 {
				title = title[:100] + "…"
			}
			return fmt.Sprintf("a web page titled %q", title)
		}
	}
	if bytes.HasPrefix(body, []byte("<")) || strings.Contains(resp.Header.Get("Content-Type"), "html") {
		return "a web page"
	}
	return "a non-JSON answer"
}

var tagPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<[^>]*>`) })

// cleanText turns WordPress's messages (which may carry HTML and
// entities) into plain text.
func cleanText(s string) string {
	s = html.UnescapeString(tagPattern().ReplaceAllString(s, ""))
	return strings.Join(strings.Fields(s), " ")
}

// scrub removes the password, in any form we know, from text a server
// sent us before it goes into an error.
func (c *Client) scrub(s string) string {
	for _, secret := range c.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// trimJSONPrefix drops leading whitespace and byte-order marks, which a
// plugin file saved with a BOM puts in front of every answer.
func trimJSONPrefix(b []byte) []byte {
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		if !bytes.HasPrefix(b, utf8BOM) {
			return b
		}
		b = b[len(utf8BOM):]
	}
}

// looksLikeJSON is a cheap first-byte test that separates JSON from the
// HTML and text pages that firewalls and misconfigured sites serve.
func looksLikeJSON(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch b[0] {
	case '{', '[', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return bytes.HasPrefix(b, []byte("true")) || bytes.HasPrefix(b, []byte("false")) || bytes.HasPrefix(b, []byte("null"))
}

var phpNoise = []string{"<b>Warning</b>:", "<b>Notice</b>:", "<b>Deprecated</b>:", "<b>Fatal error</b>:", "<b>Parse error</b>:",
	"PHP Warning:", "PHP Notice:", "PHP Deprecated:", "PHP Fatal error:", "There has been a critical error on this website"}

// hasPHPNoise spots PHP's own error output (display_errors on).
func hasPHPNoise(body []byte) bool {
	for _, marker := range phpNoise {
		if bytes.Contains(body, []byte(marker)) {
			return true
		}
	}
	return false
}
