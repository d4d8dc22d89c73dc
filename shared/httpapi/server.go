// Package httpapi is the REST API under /api/v1: its routes, the auth
// context taken from the JWT authorizer's claims, request decoding, and
// problem+json errors. The API Lambda function serves it through
// NewLambdaHandler, which adapts API Gateway HTTP API events to net/http.
package httpapi

import (
	"log/slog"

	"github.com/igny8/integrations/shared/config"
)

// Deps are the API's dependencies.
type Deps struct {
	Config config.Config
	Logger *slog.Logger
}
