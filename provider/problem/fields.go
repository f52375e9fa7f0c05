package problem

import (
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeEmail trims and lower-cases an address and reports whether it is a
// plain, deliverable-looking address: local@domain.tld, at most 254
// characters (RFC 5321 §4.5.3.1), no display name, no comments, ASCII only.
func NormalizeEmail(raw string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(raw))
	if len(e) < 3 || len(e) > 254 {
		return "", false
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", false
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || len(local) > 64 || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", false
	}
	for _, r := range e {
		if r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", false
		}
	}
	return e, true
}

// Email validates and normalises a required email field into *dst.
func (v *Validator) Email(raw *string, dst *string, loc ...any) {
	if raw == nil {
		v.Required(loc...)
		return
	}
	e, ok := NormalizeEmail(*raw)
	if !ok {
		v.Add("value is not a valid email address", "value_error.email", loc...)
		return
	}
	*dst = e
}

// Name validates a required human-readable name into *dst: 1..max
// characters after trimming, valid UTF-8, no control characters.
func (v *Validator) Name(raw *string, max int, dst *string, loc ...any) {
	if raw == nil {
		v.Required(loc...)
		return
	}
	s := strings.TrimSpace(*raw)
	if !utf8.ValidString(s) {
		v.Add("value is not valid UTF-8", "value_error.str.unicode", loc...)
		return
	}
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		v.Add("ensure this value has at least 1 characters", "value_error.any_str.min_length", loc...)
		return
	case n > max:
		v.Add("ensure this value has at most "+strconv.Itoa(max)+" characters", "value_error.any_str.max_length", loc...)
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			v.Add("control characters are not allowed", "value_error.str.control", loc...)
			return
		}
	}
	*dst = s
}
