package web

import "testing"

func TestDescribeAgent(t *testing.T) {
	cases := []struct{ name, ua, want string }{
		{"empty", "", "Unknown browser"},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on Windows"},
		{"safari on iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"firefox on mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox on macOS"},
		{"go client", "Go-http-client/1.1", "Go-http-client/1.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := describeAgent(c.ua); got != c.want {
				t.Fatalf("describeAgent(%q) = %q, want %q", c.ua, got, c.want)
			}
		})
	}
}
