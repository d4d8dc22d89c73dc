package local

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

// maxAPIBody is the HTTP API's request payload limit (10 MB).
const maxAPIBody = 10 << 20

// APIHandler is the HTTP API function's handler type.
type APIHandler = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// WebhookHandler is the function URL function's handler type.
type WebhookHandler = func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error)

// SyncWorkerHandler is the SQS-triggered function's handler type.
type SyncWorkerHandler = func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// PublisherHandler is the scheduled function's handler type.
type PublisherHandler = func(context.Context, events.EventBridgeEvent) error

// apiGateway serves the HTTP API: route matching, the JWT authorizer, the
// payload 2.0 event and the response mapping.
type apiGateway struct {
	router  *Router
	signer  *Signer
	handler APIHandler
	fns     map[string]functionInfo
	inv     *invoker
	logger  *slog.Logger
}

func (g *apiGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := apiRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	status := g.serve(w, r, requestID)
	g.logger.Info("api request", slog.String("method", r.Method), slog.String("path", r.URL.RequestURI()),
		slog.Int("status", status), slog.String("apigw_request_id", requestID),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
}

func (g *apiGateway) serve(w http.ResponseWriter, r *http.Request, requestID string) int {
	if r.URL.Path == ConsoleTokenPath {
		return g.serveConsoleToken(w, r)
	}
	rt, params := g.router.Match(r.Method, r.URL.EscapedPath())
	if rt == nil {
		writeGatewayError(w, http.StatusNotFound, "Not Found")
		return http.StatusNotFound
	}
	var claims map[string]string
	var scopes []string
	if rt.Authorizer != "" {
		var err error
		claims, scopes, err = g.signer.Verify(bearerToken(r.Header.Get("Authorization")), rt.Scopes)
		if err != nil {
			var ae *authError
			errors.As(err, &ae)
			code, msg, kind := http.StatusUnauthorized, "Unauthorized", "invalid_token"
			if ae != nil && ae.status == http.StatusForbidden {
				code, msg, kind = http.StatusForbidden, "Forbidden", "insufficient_scope"
			}
			w.Header().Set("Www-Authenticate", `Bearer scope="`+strings.Join(rt.Scopes, " ")+`" error="`+kind+`" error_description="`+err.Error()+`"`)
			writeGatewayError(w, code, msg)
			return code
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return http.StatusRequestEntityTooLarge
	}
	ev := buildAPIEvent(r, readRequestMeta(r, body), rt, params, claims, scopes, requestID)
	fn := g.fns[rt.Function]
	// The integration timeout (30 s by default) caps the function's own.
	if rt.Timeout > 0 && rt.Timeout < fn.Timeout {
		fn.Timeout = rt.Timeout
	}
	resp, inv := invoke(r.Context(), g.inv, fn, "", g.handler, ev)
	defer g.inv.finish(inv)
	if inv.Err != nil {
		if errors.Is(inv.Err, ErrFunctionTimeout) && fn.Timeout == rt.Timeout {
			writeGatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
			return http.StatusServiceUnavailable
		}
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return http.StatusInternalServerError
	}
	if err := writeAPIResponse(w, resp); err != nil {
		g.logger.Error("malformed Lambda proxy response", slog.String("function", fn.LogicalID), slog.Any("error", err))
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return http.StatusInternalServerError
	}
	return resp.StatusCode
}

// ConsoleTokenPath is where the console finds its token on the local stack.
// It exists only here, beside the local issuer: API Gateway has no such
// route, so in AWS the console asks the identity provider instead.
const ConsoleTokenPath = issuerPath + "/console-token"

// ConsoleAccount is the account of the console's local token (the banner's
// developer account).
const ConsoleAccount = "dev-account"

// serveConsoleToken hands the console an admin token of the developer
// account, so `make dev` users sign in by opening the page. Browsers only
// let same-origin pages read it (no CORS headers), and the stack listens on
// loopback.
func (g *apiGateway) serveConsoleToken(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeGatewayError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return http.StatusMethodNotAllowed
	}
	const ttl = 12 * time.Hour
	tok, err := g.signer.Token(ConsoleAccount, true, ttl)
	if err != nil {
		g.logger.Error("mint console token", slog.Any("error", err))
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "account": ConsoleAccount, "admin": true,
		"expires_at": time.Now().Add(ttl).UTC().Format(time.RFC3339)})
	return http.StatusOK
}

// bearerToken extracts the token as API Gateway's identity source does: the
// header holds the token alone or prefixed with "Bearer ".
func bearerToken(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}

// functionURL serves a function URL (AuthType NONE).
type functionURL struct {
	urlID   string
	handler WebhookHandler
	fn      functionInfo
	inv     *invoker
	logger  *slog.Logger
}

func (f *functionURL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status := f.serve(w, r)
	f.logger.Info("function URL request", slog.String("function", f.fn.LogicalID), slog.String("method", r.Method),
		slog.String("path", r.URL.RequestURI()), slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
}

func (f *functionURL) serve(w http.ResponseWriter, r *http.Request) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSyncPayload))
	if err != nil {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return http.StatusRequestEntityTooLarge
	}
	// A function URL event's requestId is the Lambda request ID.
	requestID := uuid.NewString()
	ev := buildFunctionURLEvent(r, readRequestMeta(r, body), f.urlID, requestID)
	resp, inv := invoke(r.Context(), f.inv, f.fn, requestID, f.handler, ev)
	defer f.inv.finish(inv)
	w.Header().Set("X-Amzn-Requestid", inv.RequestID)
	if inv.Err != nil {
		// Function URLs answer a function error with 502.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "Internal Server Error")
		return http.StatusBadGateway
	}
	if err := writeFunctionURLResponse(w, resp); err != nil {
		f.logger.Error("malformed function URL response", slog.Any("error", err))
		w.WriteHeader(http.StatusBadGateway)
		return http.StatusBadGateway
	}
	if resp.StatusCode == 0 {
		return http.StatusOK
	}
	return resp.StatusCode
}
