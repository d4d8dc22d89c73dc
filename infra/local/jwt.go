package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Local token defaults. The issuer names the local API so a token minted for
// one stack is recognisably local; API Gateway would compare it exactly.
const (
	DefaultAudience = "igny8-local"
	issuerPath      = "/local"
)

// Signer mints and verifies the local stack's JWTs with one ES256 key, the
// way an identity provider and API Gateway's JWT authorizer would.
type Signer struct {
	key      *ecdsa.PrivateKey
	kid      string
	Issuer   string
	Audience string
	// AccountClaim and AdminScope shape minted tokens (template defaults).
	AccountClaim string
	AdminScope   string
}

// LoadOrCreateKey reads an EC P-256 private key from path, or generates one
// and writes it with mode 0600 (its folder 0700) when the file does not
// exist, so tokens minted by `make token` stay valid across restarts. An
// empty path yields an in-memory key.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	if path == "" {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("signing key %s: no PEM block", path)
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	// O_EXCL: two stacks starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return k, nil
}

// NewSigner builds a signer for key with the given issuer and audience.
func NewSigner(key *ecdsa.PrivateKey, issuer, audience, accountClaim, adminScope string) (*Signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &Signer{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12]), Issuer: issuer,
		Audience: audience, AccountClaim: accountClaim, AdminScope: adminScope}, nil
}

// Token mints a token for account, valid for ttl. It carries sub, the
// account claim, token_use, and for admins the admin scope both in `scope`
// and in `cognito:groups` (as a Cognito ID or access token would).
func (s *Signer) Token(account string, admin bool, ttl time.Duration) (string, error) {
	if account == "" {
		return "", errors.New("token: account is empty")
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss":          s.Issuer,
		"aud":          s.Audience,
		"sub":          "local-user-" + account,
		"iat":          now.Unix(),
		"nbf":          now.Add(-time.Minute).Unix(),
		"exp":          now.Add(ttl).Unix(),
		"jti":          uuid.NewString(),
		"token_use":    "id",
		s.AccountClaim: account,
	}
	if admin {
		claims["scope"] = s.AdminScope
		claims["cognito:groups"] = []string{s.AdminScope}
	}
	return s.Sign(claims)
}

// Sign signs arbitrary claims with the local key (tests use it to mint
// expired or otherwise broken tokens).
func (s *Signer) Sign(claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = s.kid
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed, nil
}

// authError is an authorizer refusal: the status API Gateway answers and the
// www-authenticate error description it sends.
type authError struct {
	status      int
	description string
}

func (e *authError) Error() string { return e.description }

// Verify checks a token as API Gateway's JWT authorizer does: algorithm and
// signature (kid must name the local key), iss, aud (or client_id when aud
// is absent), exp, nbf and iat; then the route's scopes, if it has any. It
// returns the claims stringified as API Gateway passes them and the token's
// scopes.
func (s *Signer) Verify(raw string, routeScopes []string) (map[string]string, []string, error) {
	if raw == "" {
		return nil, nil, &authError{401, "the token is missing"}
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(s.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithJSONNumber(),
		jwt.WithLeeway(5*time.Second),
	)
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.kid {
			return nil, errors.New("the token's kid does not match a signing key")
		}
		return &s.key.PublicKey, nil
	})
	if err != nil {
		return nil, nil, &authError{401, describeJWTError(err)}
	}
	if !s.audienceOK(claims) {
		return nil, nil, &authError{401, "the token does not have a valid audience"}
	}
	scopes := tokenScopes(claims)
	if len(routeScopes) > 0 && !anyIn(routeScopes, scopes) {
		return nil, nil, &authError{403, "the token does not have the required scopes"}
	}
	return stringifyClaims(claims), scopes, nil
}

func (s *Signer) audienceOK(c jwt.MapClaims) bool {
	if _, ok := c["aud"]; ok {
		aud, err := c.GetAudience()
		if err != nil {
			return false
		}
		return anyIn([]string{s.Audience}, aud)
	}
	cid, _ := c["client_id"].(string)
	return cid == s.Audience
}

func describeJWTError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token does not have a valid issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token is missing a required claim"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signing method or signature is not valid"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed"
	}
	return "the token is not valid"
}

func tokenScopes(c jwt.MapClaims) []string {
	var out []string
	for _, name := range []string{"scope", "scp"} {
		switch v := c[name].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, e := range v {
				out = append(out, fmt.Sprint(e))
			}
		}
	}
	return out
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}

// stringifyClaims renders claims as API Gateway puts them in
// requestContext.authorizer.jwt.claims: every value a string, numbers in
// their JSON spelling, arrays as "[a b]", objects as JSON.
func stringifyClaims(c jwt.MapClaims) map[string]string {
	out := make(map[string]string, len(c))
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = claimString(c[k])
	}
	return out
}

func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}
