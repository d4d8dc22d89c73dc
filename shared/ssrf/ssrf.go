// Package ssrf is the one guard for outbound calls to user-supplied URLs
// (WordPress sites, image URLs). It checks the address actually dialled, at
// connect time, after DNS resolution, so a hostname that resolves to a
// private address — or re-resolves to one between a check and the request
// (DNS rebinding) — is refused. Redirects are dialled through the same guard.
package ssrf

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a dial targets an address
// the guard refuses.
var ErrForbiddenAddress = errors.New("address not allowed for outbound requests")

// Policy says which addresses may be dialled.
type Policy struct {
	// AllowLoopback lets development setups reach a WordPress on
	// 127.0.0.1 (DEV_ALLOW_LOOPBACK). Never on in production.
	AllowLoopback bool
}

// blocked lists the special-purpose ranges refused besides loopback,
// private, link-local, multicast and unspecified addresses (which netip
// classifies itself).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, incl. broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64, can embed private IPv4
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fc00::/7"),        // unique local
}

// Check reports whether ip may be dialled under p.
func (p Policy) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	case ip.IsLoopback():
		if p.AllowLoopback {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address", ErrForbiddenAddress, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is a private address", ErrForbiddenAddress, ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is a link-local address (cloud metadata lives here)", ErrForbiddenAddress, ip)
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is a multicast address", ErrForbiddenAddress, ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is unspecified", ErrForbiddenAddress, ip)
	}
	for _, b := range blocked {
		if b.Contains(ip) {
			return fmt.Errorf("%w: %s is in the special-purpose range %s", ErrForbiddenAddress, ip, b)
		}
	}
	return nil
}

// control runs after resolution and before connect, on the exact address.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q", ErrForbiddenAddress, address)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a dialer that refuses forbidden addresses at connect time.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
}

// Transport returns an HTTP transport whose every connection goes through
// the guard. Proxies from the environment are ignored: a proxy would dial
// the target on our behalf, out of the guard's sight.
func (p Policy) Transport(dialTimeout time.Duration) *http.Transport {
	d := p.Dialer(dialTimeout)
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
