package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/igny8/integrations/shared/apperr"
)

// Access is the access level a route requires.
type Access int

const (
	// Public routes need no token (API Gateway route with Auth NONE).
	Public Access = iota
	// AccountMember routes need a token that names an account.
	AccountMember
	// Admin routes need, in addition, the configured admin scope.
	Admin
)

// Principal is the authenticated caller, taken from the JWT authorizer's
// claims. API Gateway has already verified the token's signature, issuer,
// audience and expiry before the function runs; the API only reads claims.
type Principal struct {
	AccountID string
	Subject   string
	Admin     bool
}

type principalKey struct{}

// WithPrincipal stores the caller on the context.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored on the context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// principalFromClaims builds the caller from authorizer claims and scopes.
// API Gateway stringifies claims: arrays arrive as "[a b]". The admin grant
// may come as an OAuth scope (scope/scp claims or the authorizer's scopes)
// or as a Cognito group, because Cognito ID tokens carry groups, not scopes.
func principalFromClaims(claims map[string]string, scopes []string, accountClaim, adminScope string) (Principal, bool) {
	if len(claims) == 0 {
		return Principal{}, false
	}
	p := Principal{
		AccountID: strings.TrimSpace(claims[accountClaim]),
		Subject:   claims["sub"],
	}
	granted := append([]string{}, scopes...)
	granted = append(granted, strings.Fields(claims["scope"])...)
	granted = append(granted, strings.Fields(claims["scp"])...)
	granted = append(granted, strings.Fields(strings.Trim(claims["cognito:groups"], "[]"))...)
	for _, g := range granted {
		if adminScope != "" && g == adminScope {
			p.Admin = true
		}
	}
	return p, true
}

// authorize enforces the route's access level. API Gateway rejects missing
// or invalid tokens before the function runs; this check is the second line
// of defence against a route deployed without its authorizer, and the place
// that requires an account claim and the admin scope.
func (s *Server) authorize(r *http.Request, rt *route) error {
	if rt.Auth == Public {
		return nil
	}
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return apperr.New(apperr.Unauthorized, "A bearer token is required")
	}
	if p.AccountID == "" {
		return apperr.New(apperr.Forbidden, "The token has no %s claim naming an account", s.deps.Config.AccountClaim)
	}
	if len(p.AccountID) > 128 {
		return apperr.New(apperr.Forbidden, "The token's account claim is longer than 128 characters")
	}
	if rt.Auth == Admin && !p.Admin {
		return apperr.New(apperr.Forbidden, "This endpoint needs the %s scope", s.deps.Config.AdminScope)
	}
	return nil
}

// account returns the caller's account; only called behind authorize.
func account(r *http.Request) string {
	p, _ := PrincipalFrom(r.Context())
	return p.AccountID
}
