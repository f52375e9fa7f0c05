package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP finds the address a request came from. It trusts X-Forwarded-For
// only as far as the hops that appended to it are trusted proxies: anyone can
// send the header, so believing it from the socket's peer unconditionally
// would let an attacker pick a fresh "IP" for every guess (docs/security.md, "Accounts and sessions").
type ClientIP struct {
	trusted []netip.Prefix
}

// NewClientIP trusts X-Forwarded-For from peers inside trusted (may be empty).
func NewClientIP(trusted []netip.Prefix) *ClientIP { return &ClientIP{trusted: trusted} }

// Of returns the client address of r: the socket's peer, or, when that peer is
// a trusted proxy, the right-most X-Forwarded-For entry that is not itself a
// trusted proxy. Entries left of it were written by the client and are ignored.
func (c *ClientIP) Of(r *http.Request) netip.Addr {
	addr := parseAddr(r.RemoteAddr)
	if !c.isTrusted(addr) {
		return addr
	}
	// Several X-Forwarded-For headers are one list, in order (RFC 9110 §5.3).
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A trusted proxy would not write garbage: stop at the last
				// address we can vouch for.
				return addr
			}
			addr = hop.Unmap()
			if !c.isTrusted(addr) {
				return addr
			}
		}
	}
	return addr
}

// ClientKey is the rate-limit key of a client address. IPv6 addresses count per /64,
// the smallest block an end site is given, so one attacker cannot spread
// guesses over the 2^64 addresses of its own subnet.
func ClientKey(addr netip.Addr) string {
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (c *ClientIP) isTrusted(addr netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func parseAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified() // only in tests with odd RemoteAddrs: all share one budget
	}
	return addr.Unmap()
}
