package identity

import "testing"

// MaskEmail keeps the first character of the local part and the domain.
func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"nadia@example.com":   "n***@example.com",
		"n@example.com":       "n***@example.com",
		"émile@example.org":   "é***@example.org",
		"a@b@example.com":     "a***@example.com",
		"no-at-sign":          "***",
		"@example.com":        "***",
		"Moved-x@Example.COM": "M***@Example.COM",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
