package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"socket only", nil, "203.0.113.7:5000", nil, "203.0.113.7"},
		// docs/security.md, "Accounts and sessions": without a trusted proxy the header is ignored.
		{"spoofed header, no trusted proxy", nil, "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"spoofed header from an untrusted peer", proxies, "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"one trusted proxy", proxies, "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1"},
		// The client wrote the left entries; our proxy appended the right-most one.
		{"client-written prefix ignored", proxies, "10.1.2.3:443", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", proxies, "127.0.0.1:443", []string{"198.51.100.1, 10.9.9.9", "10.0.0.2"}, "198.51.100.1"},
		{"all trusted", proxies, "10.1.2.3:443", []string{"10.0.0.9"}, "10.0.0.9"},
		{"no header from a proxy", proxies, "10.1.2.3:443", nil, "10.1.2.3"},
		{"garbage stops the walk", proxies, "10.1.2.3:443", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"ipv4-mapped ipv6", proxies, "[::ffff:10.1.2.3]:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"ipv6 peer", nil, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2:3:4:5:6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := NewClientIP(tc.trusted).Of(r).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// IPv6 clients count per /64, so one subnet is one budget.
func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":           "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::99": "2001:db8:1:2::/64",
	} {
		if got := ClientKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("ClientKey(%s) = %s, want %s", in, got, want)
		}
	}
}

// X-Forwarded-For is untrusted input: whatever it holds, Of returns a valid
// address and never panics.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.2.3:443", "198.51.100.1, 10.0.0.2")
	f.Add("10.1.2.3:443", ",,, ,")
	f.Add("garbage", "::1, [::1]:80")
	c := NewClientIP([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		if a := c.Of(r); !a.IsValid() {
			t.Fatalf("invalid address for %q / %q", remote, xff)
		}
	})
}
