// Package httpapi is the REST API under /api/v1: its routes (all listed in
// routes.go), the caller's identity taken from the JWT authorizer's claims,
// request decoding with size and shape limits, and problem+json errors. The
// API Lambda function serves it through NewLambdaHandler, which adapts API
// Gateway HTTP API (payload 2.0) events to net/http, so the same handlers can
// be exercised with httptest in unit tests.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/config"
	"github.com/igny8/integrations/shared/logging"
)

// Deps are the API's dependencies.
type Deps struct {
	Config       config.Config
	Logger       *slog.Logger
	Integrations IntegrationService
	Sync         SyncService
	Content      ContentService
	Library      SiteLibrary
	Publishing   PublishingService
	AI           AISettingsService
	Models       ModelRegistry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the API as an http.Handler.
type Server struct {
	deps   Deps
	router *router
}

// NewServer builds the API with its routes.
func NewServer(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{deps: d}
	s.router = newRouter(s.routes())
	return s
}

// Routes lists the API's routes (method and API Gateway path template), for
// the template test and the OpenAPI document.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.router.routes {
		out = append(out, RouteInfo{Method: r.Method, Path: r.Path, Auth: r.Auth})
	}
	return out
}

// RouteInfo describes one route.
type RouteInfo struct {
	Method string
	Path   string
	Auth   Access
}

// ServeHTTP routes the request, enforces the route's access level and
// logs one line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.deps.Now()
	rec := &statusRecorder{ResponseWriter: w}
	route, err := s.router.match(r)
	routeName := "unmatched"
	if err == nil {
		routeName = route.Method + " " + route.Path
		err = s.authorize(r, route)
	}
	ctx := r.Context()
	if p, ok := PrincipalFrom(ctx); ok {
		ctx = logging.With(ctx, logging.AccountID(p.AccountID))
		r = r.WithContext(ctx)
	}
	if err != nil {
		s.writeError(rec, r, err)
	} else {
		s.serveRoute(rec, r, route)
	}
	s.deps.Logger.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", routeName),
		slog.Int("status", rec.status()),
		slog.Float64("duration_ms", float64(s.deps.Now().Sub(start).Microseconds())/1000),
	)
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt *route) {
	defer func() {
		if v := recover(); v != nil {
			s.writeError(w, r, fmt.Errorf("handler panicked: %v", v))
		}
	}()
	if err := rt.Handler(w, r); err != nil {
		s.writeError(w, r, err)
	}
}

// writeError logs internal errors in full and sends the caller a problem
// document that never includes their cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := apperr.As(classify(err))
	if ae.Status() >= 500 {
		s.deps.Logger.ErrorContext(r.Context(), "request failed", logging.Err(err))
	}
	if allow, ok := ae.Details["allow"].([]string); ok {
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	apperr.Write(w, ae, r.URL.Path)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
