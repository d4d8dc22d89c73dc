package local

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Route is one HTTP API route taken from an HttpApi event.
type Route struct {
	// Key is API Gateway's route key: "GET /api/v1/integration/" or "$default".
	Key      string
	Method   string // upper case or "ANY"; "" for $default
	Path     string
	Function string // logical ID of the function it invokes
	// Authorizer is "" (none) or the authorizer name the route uses.
	Authorizer string
	Scopes     []string
	Timeout    time.Duration

	segments []segment
	greedy   bool
}

type segKind int

// Segment kinds in precedence order: a literal beats a {param}, which beats
// a greedy {proxy+}.
const (
	segLiteral segKind = iota
	segParam
	segGreedy
)

type segment struct {
	kind segKind
	text string // literal text or parameter name
}

func parseRoutePath(p string) ([]segment, bool, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, false, fmt.Errorf("route path %q must start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	segs := make([]segment, 0, len(parts))
	greedy := false
	for i, s := range parts {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
			if i != len(parts)-1 {
				return nil, false, fmt.Errorf("route path %q: greedy variable must be last", p)
			}
			segs = append(segs, segment{segGreedy, s[1 : len(s)-2]})
			greedy = true
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs = append(segs, segment{segParam, s[1 : len(s)-1]})
		default:
			segs = append(segs, segment{segLiteral, s})
		}
	}
	return segs, greedy, nil
}

// Router matches requests to routes with API Gateway HTTP API precedence:
// the most specific path wins (literal segments over {param} over
// {proxy+}), a route's own method over ANY, and $default catches the rest.
type Router struct {
	routes []*Route
	def    *Route
}

// NewRouter indexes routes; at most one may be $default.
func NewRouter(routes []Route) (*Router, error) {
	r := &Router{}
	seen := map[string]bool{}
	for i := range routes {
		rt := routes[i]
		if seen[rt.Key] {
			return nil, fmt.Errorf("duplicate route %q", rt.Key)
		}
		seen[rt.Key] = true
		if rt.Key == "$default" {
			r.def = &rt
			continue
		}
		segs, greedy, err := parseRoutePath(rt.Path)
		if err != nil {
			return nil, err
		}
		rt.segments, rt.greedy = segs, greedy
		r.routes = append(r.routes, &rt)
	}
	return r, nil
}

// Routes lists the routes, $default last.
func (r *Router) Routes() []Route {
	out := make([]Route, 0, len(r.routes)+1)
	for _, rt := range r.routes {
		out = append(out, *rt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if r.def != nil {
		out = append(out, *r.def)
	}
	return out
}

// Match returns the route for method and escaped path with its decoded path
// parameters, or nil.
func (r *Router) Match(method, escapedPath string) (*Route, map[string]string) {
	if !strings.HasPrefix(escapedPath, "/") {
		escapedPath = "/" + escapedPath
	}
	parts := strings.Split(escapedPath[1:], "/")
	var best *Route
	var bestParams map[string]string
	for _, rt := range r.routes {
		if rt.Method != "ANY" && rt.Method != method {
			continue
		}
		params, ok := matchSegments(rt.segments, parts)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(rt, best) {
			best, bestParams = rt, params
		}
	}
	if best != nil {
		return best, bestParams
	}
	return r.def, nil
}

func matchSegments(segs []segment, parts []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range segs {
		if s.kind == segGreedy {
			if i >= len(parts) {
				return nil, false
			}
			rest := strings.Join(parts[i:], "/")
			if rest == "" {
				return nil, false
			}
			set(s.text, unescape(rest))
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if unescape(parts[i]) != s.text {
				return nil, false
			}
		case segParam:
			if parts[i] == "" {
				return nil, false
			}
			set(s.text, unescape(parts[i]))
		}
	}
	return params, len(parts) == len(segs)
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// moreSpecific reports whether a should win over b when both match.
func moreSpecific(a, b *Route) bool {
	if a.greedy != b.greedy {
		return !a.greedy
	}
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if a.segments[i].kind != b.segments[i].kind {
			return a.segments[i].kind < b.segments[i].kind
		}
	}
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments) // the longer literal prefix before {proxy+}
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// Local identity of the emulated account and APIs.
const (
	LocalAccountID = "000000000000"
	LocalRegion    = "us-east-1"
	localAPIID     = "localapi01"
	// localFunctionURLID is the function URL ID (32 characters, like AWS's).
	localFunctionURLID = "localwebhookfunctionurl000000000"
)

// requestMeta is what both HTTP front ends derive from a request.
type requestMeta struct {
	headers     map[string]string
	cookies     []string
	query       map[string]string
	body        string
	isBase64    bool
	sourceIP    string
	now         time.Time
	rawPath     string
	rawQuery    string
	requestHost string
}

// readRequestMeta converts an incoming request the way API Gateway and
// function URLs do for payload 2.0: lower-case header names, repeated
// headers joined with commas, cookies in their own list, repeated query
// parameters joined with commas, and the body base64-encoded unless its
// content type is text.
func readRequestMeta(r *http.Request, body []byte) requestMeta {
	m := requestMeta{now: time.Now().UTC(), rawPath: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, requestHost: r.Host}
	m.sourceIP = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		m.sourceIP = host
	}
	m.headers = map[string]string{}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						m.cookies = append(m.cookies, c)
					}
				}
			}
			continue
		}
		m.headers[lk] = strings.Join(vs, ",")
	}
	// net/http moves Host out of the header map; API Gateway keeps it, and
	// adds the forwarding headers its load balancers set.
	m.headers["host"] = r.Host
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		m.headers["x-forwarded-port"] = port
	}
	m.headers["x-forwarded-proto"] = "http"
	if xff := m.headers["x-forwarded-for"]; xff != "" {
		m.headers["x-forwarded-for"] = xff + ", " + m.sourceIP
	} else {
		m.headers["x-forwarded-for"] = m.sourceIP
	}
	if len(body) > 0 || r.ContentLength > 0 {
		m.headers["content-length"] = fmt.Sprint(len(body))
	}
	if _, ok := m.headers["x-amzn-trace-id"]; !ok {
		m.headers["x-amzn-trace-id"] = traceID(m.now)
	}
	if r.URL.RawQuery != "" {
		m.query = map[string]string{}
		q, _ := url.ParseQuery(r.URL.RawQuery)
		for k, vs := range q {
			m.query[k] = strings.Join(vs, ",")
		}
	}
	if len(body) > 0 {
		if isTextContentType(r.Header.Get("Content-Type")) {
			m.body = string(body)
		} else {
			m.body = base64.StdEncoding.EncodeToString(body)
			m.isBase64 = true
		}
	}
	return m
}

// isTextContentType reports whether API Gateway passes a body of this type
// as text; everything else (including form posts and a missing type) is
// base64-encoded.
func isTextContentType(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/graphql", mt == "application/yaml", mt == "application/x-yaml",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

func traceID(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}

// apiRequestID returns an ID shaped like API Gateway's (base64 of 11 bytes).
func apiRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// clfTime formats a time as API Gateway's requestContext.time
// ("12/Mar/2020:19:03:58 +0000").
func clfTime(t time.Time) string { return t.Format("02/Jan/2006:15:04:05 -0700") }

// BuildAPIEvent builds the payload 2.0 event API Gateway sends for r on
// route rt with the given path parameters and authorizer result.
func BuildAPIEvent(r *http.Request, body []byte, rt *Route, pathParams map[string]string, claims map[string]string, scopes []string) events.APIGatewayV2HTTPRequest {
	m := readRequestMeta(r, body)
	return buildAPIEvent(r, m, rt, pathParams, claims, scopes, apiRequestID())
}

func buildAPIEvent(r *http.Request, m requestMeta, rt *Route, pathParams map[string]string, claims map[string]string, scopes []string, requestID string) events.APIGatewayV2HTTPRequest {
	host := m.requestHost
	prefix := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		prefix = h
	}
	if i := strings.IndexByte(prefix, '.'); i > 0 {
		prefix = prefix[:i]
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Key,
		RawPath:               m.rawPath,
		RawQueryString:        m.rawQuery,
		Cookies:               m.cookies,
		Headers:               m.headers,
		QueryStringParameters: m.query,
		PathParameters:        pathParams,
		Body:                  m.body,
		IsBase64Encoded:       m.isBase64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Key,
			AccountID:    LocalAccountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        localAPIID,
			DomainName:   host,
			DomainPrefix: prefix,
			Time:         clfTime(m.now),
			TimeEpoch:    m.now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      m.rawPath,
				Protocol:  r.Proto,
				SourceIP:  m.sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes},
		}
	}
	return ev
}

// writeAPIResponse writes a payload 2.0 response as API Gateway does:
// headers, multiValueHeaders, each cookie as a Set-Cookie header, and a
// base64 body decoded. A response with no status code is a malformed
// integration response (500).
func writeAPIResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("response body is not valid base64: %w", err)
		}
		body = b
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("response status code %d is not valid", resp.StatusCode)
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}

// writeGatewayError answers as API Gateway does when it answers itself:
// JSON {"message": …}.
func writeGatewayError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}", message)
}

// BuildFunctionURLEvent builds the event a Lambda function URL (auth NONE)
// sends for r.
func BuildFunctionURLEvent(r *http.Request, body []byte, urlID, requestID string) events.LambdaFunctionURLRequest {
	m := readRequestMeta(r, body)
	return buildFunctionURLEvent(r, m, urlID, requestID)
}

func buildFunctionURLEvent(r *http.Request, m requestMeta, urlID, requestID string) events.LambdaFunctionURLRequest {
	return events.LambdaFunctionURLRequest{
		Version:               "2.0",
		RawPath:               m.rawPath,
		RawQueryString:        m.rawQuery,
		Cookies:               m.cookies,
		Headers:               m.headers,
		QueryStringParameters: m.query,
		Body:                  m.body,
		IsBase64Encoded:       m.isBase64,
		RequestContext: events.LambdaFunctionURLRequestContext{
			// Function URLs with AuthType NONE report the caller as anonymous.
			AccountID:    "anonymous",
			RequestID:    requestID,
			APIID:        urlID,
			DomainName:   m.requestHost,
			DomainPrefix: urlID,
			Time:         clfTime(m.now),
			TimeEpoch:    m.now.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      m.rawPath,
				Protocol:  r.Proto,
				SourceIP:  m.sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
}

func writeFunctionURLResponse(w http.ResponseWriter, resp events.LambdaFunctionURLResponse) error {
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK // function URLs infer 200
	}
	return writeAPIResponse(w, events.APIGatewayV2HTTPResponse{
		StatusCode: resp.StatusCode, Headers: resp.Headers, Body: resp.Body,
		IsBase64Encoded: resp.IsBase64Encoded, Cookies: resp.Cookies,
	})
}
