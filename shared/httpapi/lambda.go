package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/logging"
)

// NewLambdaHandler returns the Lambda handler for API Gateway HTTP API
// (payload format 2.0) events: the event becomes an *http.Request, the
// server handles it, and the recorded response becomes the event response.
func NewLambdaHandler(d Deps) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	s := NewServer(d)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		ctx = logging.With(ctx, logging.String("api_request_id", ev.RequestContext.RequestID))
		req, err := requestFromEvent(ctx, ev, d.Config.MaxBodyBytes)
		if err != nil {
			return problemResponse(err, ev.RawPath), nil
		}
		if jwt := ev.RequestContext.Authorizer; jwt != nil && jwt.JWT != nil {
			if p, ok := principalFromClaims(jwt.JWT.Claims, jwt.JWT.Scopes, d.Config.AccountClaim, d.Config.AdminScope); ok {
				req = req.WithContext(WithPrincipal(req.Context(), p))
			}
		}
		w := newResponseBuffer()
		s.ServeHTTP(w, req)
		return w.event(), nil
	}
}

// requestFromEvent rebuilds the HTTP request API Gateway received. Payload
// 2.0 joins repeated headers with commas and moves cookies to their own
// field; the body is base64 when API Gateway considered it binary.
func requestFromEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest, maxBody int64) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		body, err = base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "The request body is not valid base64")
		}
	}
	if int64(len(body)) > maxBody {
		return nil, apperr.New(apperr.PayloadTooLarge, "The body is larger than %d bytes", maxBody)
	}
	target := ev.RawPath
	if target == "" {
		target = "/"
	}
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "The request path is not a valid URL")
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, apperr.New(apperr.Invalid, "The request has no method")
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.Host = ev.RequestContext.DomainName
	req.RequestURI = u.RequestURI()
	return req, nil
}

// responseBuffer is the http.ResponseWriter handed to the server inside
// Lambda; it keeps the response for the event.
type responseBuffer struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newResponseBuffer() *responseBuffer { return &responseBuffer{header: http.Header{}} }

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *responseBuffer) event() events.APIGatewayV2HTTPResponse {
	code := b.code
	if code == 0 {
		code = http.StatusOK
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: code, Headers: map[string]string{}}
	for k, vs := range b.header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if isText(b.header.Get("Content-Type")) {
		resp.Body = b.body.String()
	} else if b.body.Len() > 0 {
		resp.Body = base64.StdEncoding.EncodeToString(b.body.Bytes())
		resp.IsBase64Encoded = true
	}
	return resp
}

// isText reports whether a response of this media type can travel as a
// plain string in the event; everything else is base64-encoded.
func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/javascript" || mt == "image/svg+xml" || mt == "application/xml"
}

func problemResponse(err error, instance string) events.APIGatewayV2HTTPResponse {
	w := newResponseBuffer()
	apperr.Write(w, err, instance)
	return w.event()
}
