// Package siteurl normalises the site URLs users type, so that one site has
// one spelling: the uniqueness rule (one integration per account and URL),
// the webhook's check that a delivery comes from the integration's site and
// the WordPress client all compare the same string.
//
// The normal form is scheme://host[:port][/path]: lower-case scheme and
// host (internationalised names in their ASCII "xn--" form), no default
// port, no credentials, query or fragment, and no trailing slash. A path is
// kept because WordPress may live in a subdirectory; the admin and REST
// suffixes users often paste (/wp-admin/, /wp-json/, /wp-login.php) are cut.
package siteurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/idna"
)

// MaxLength bounds the URL as typed and as normalised.
const MaxLength = 512

// Error says what is wrong with a URL in words a user can act on.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

// ErrInvalid is matched by every *Error through errors.Is.
var ErrInvalid = errors.New("invalid site URL")

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Options relax the rules for development.
type Options struct {
	// AllowHTTP accepts http:// URLs (DEV_ALLOW_HTTP). WordPress only offers
	// Application Passwords over HTTPS outside local environments, and the
	// password would otherwise cross the network in clear text.
	AllowHTTP bool
}

// suffixes that users paste from their browser's address bar while logged
// in to WordPress; the site is what comes before them.
var adminSuffixes = []string{"/wp-admin", "/wp-json", "/wp-login.php", "/index.php"}

var hostProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(true), idna.Transitional(false))

// Normalize returns the normal form of raw or an *Error.
func Normalize(raw string, opts Options) (string, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", invalid("the site URL is empty")
	case len(s) > MaxLength:
		return "", invalid("the site URL is longer than %d characters", MaxLength)
	case strings.ContainsAny(s, " \t\r\n\\"):
		return "", invalid("the site URL contains spaces or backslashes")
	}
	if !strings.Contains(s, "://") {
		// "example.com" is what most people type; assume the secure scheme.
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", invalid("the site URL cannot be parsed: %s", strings.TrimPrefix(err.Error(), "parse "))
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "https":
	case "http":
		if !opts.AllowHTTP {
			return "", invalid("the site URL must use https://; WordPress only allows Application Passwords over HTTPS, and the password would travel unencrypted")
		}
	default:
		return "", invalid("the site URL must start with https://, not %s://", scheme)
	}
	if u.User != nil {
		return "", invalid("the site URL must not contain a user name or password; send credentials separately")
	}
	if u.Opaque != "" {
		return "", invalid("the site URL must look like https://example.com")
	}
	host, err := normalizeHost(u.Hostname())
	if err != nil {
		return "", err
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	p, err := normalizePath(u.Path)
	if err != nil {
		return "", err
	}
	out := scheme + "://" + host + p
	if len(out) > MaxLength {
		return "", invalid("the site URL is longer than %d characters", MaxLength)
	}
	return out, nil
}

func normalizeHost(h string) (string, error) {
	if h == "" {
		return "", invalid("the site URL has no host name")
	}
	if ip := net.ParseIP(h); ip != nil {
		// Addresses are allowed here; the SSRF guard decides at connect
		// time whether one may be dialled.
		return strings.ToLower(ip.String()), nil
	}
	h = strings.TrimSuffix(h, ".")
	ascii, err := hostProfile.ToASCII(h)
	if err != nil {
		return "", invalid("%q is not a valid host name", h)
	}
	ascii = strings.ToLower(ascii)
	if !strings.Contains(ascii, ".") && ascii != "localhost" {
		return "", invalid("%q is not a full host name; use the address you open the site with, such as example.com", ascii)
	}
	return ascii, nil
}

func normalizePath(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	cleaned := path.Clean("/" + p)
	lower := strings.ToLower(cleaned)
	for _, suffix := range adminSuffixes {
		if i := strings.Index(lower, suffix); i >= 0 && (len(lower) == i+len(suffix) || lower[i+len(suffix)] == '/') {
			cleaned, lower = cleaned[:i], lower[:i]
		}
	}
	cleaned = strings.TrimSuffix(cleaned, "/")
	if strings.Count(cleaned, "/") > 8 {
		return "", invalid("the site URL's path is too deep to be a WordPress install")
	}
	return cleaned, nil
}

// Host returns the host (and port, when not the default) of a normalised
// URL, for log lines and comparisons that ignore the path.
func Host(normalized string) string {
	u, err := url.Parse(normalized)
	if err != nil {
		return ""
	}
	return u.Host
}
