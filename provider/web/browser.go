package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
)

// Cookie names without the prefix; cookieName adds __Host- on https, which
// pins the cookie to our host, path / and Secure (RFC 6265bis §4.1.3.2).
const (
	browserCookie = "puguh_browser"
	sessionCookie = "puguh_session"
)

func (p *Pages) cookieName(base string) string {
	if p.secure {
		return "__Host-" + base
	}
	return base
}

// setCookie writes an HttpOnly, SameSite=Lax cookie for path /. Lax lets the
// session ride along when a client sends the browser to /oauth/authorize
// (a top-level GET) but not on cross-site POSTs.
func (p *Pages) setCookie(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: p.cookieName(base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (p *Pages) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(p.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// randomToken returns 256 bits from the CSPRNG, base64url (docs/security.md, "Tokens and keys").
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// digest is how secrets are stored: SHA-256, hex.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Browser returns the browser's pre-session cookie, setting a new one if it
// has none. It binds CSRF tokens and pending authorization requests to this
// browser before anyone has signed in.
func (p *Pages) Browser(w http.ResponseWriter, r *http.Request) string {
	if v := p.cookie(r, browserCookie); len(v) == 43 {
		return v
	}
	v := randomToken()
	p.setCookie(w, browserCookie, v, 0) // a browser-session cookie
	// Later reads in this request see it too.
	r.AddCookie(&http.Cookie{Name: p.cookieName(browserCookie), Value: v})
	return v
}

// CSRFToken is the synchronizer token for forms on this browser: an HMAC of
// the pre-session cookie under a key derived from PUGUH_SECRET, so it cannot
// be computed without the server's key nor used from another browser
// (OWASP CSRF Prevention Cheat Sheet, "signed double-submit cookie").
func (p *Pages) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	return p.csrfFor(p.Browser(w, r))
}

func (p *Pages) csrfFor(browser string) string {
	m := hmac.New(sha256.New, p.csrfKey)
	m.Write([]byte("csrf\x00" + browser))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckForm parses a form post and refuses it (false, after answering) when
// it is over 64 KiB (413) or unreadable (400), comes from another site or
// lacks this browser's CSRF token (403).
func (p *Pages) CheckForm(w http.ResponseWriter, r *http.Request) bool {
	// Our forms are small: 64 KiB is plenty, whatever PUGUH_MAX_BODY_BYTES allows.
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		p.refuseBody(w, r, status)
		return false
	}
	if !p.sameOrigin(r) {
		p.RenderError(w, r, http.StatusForbidden, "Request refused", "This form was sent from another site.", "", "")
		return false
	}
	browser := p.cookie(r, browserCookie)
	token := r.PostForm.Get("csrf_token")
	if browser == "" || token == "" || !hmac.Equal([]byte(token), []byte(p.csrfFor(browser))) {
		p.RenderError(w, r, http.StatusForbidden, "Request refused",
			"Your session could not be verified. Go back, reload the page and try again.", "", "")
		return false
	}
	return true
}

// sameOrigin refuses cross-site posts. Origin, when it names an origin, must
// be ours (Fetch standard). Our pages send Referrer-Policy: no-referrer, with
// which browsers send "Origin: null" on form posts; then Sec-Fetch-Site must
// say same-origin. Sec-Fetch-Site, when sent, must never be cross-site.
func (p *Pages) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		return false
	}
	switch o := r.Header.Get("Origin"); o {
	case "":
		return true
	case "null":
		return site == "same-origin"
	default:
		u, err := url.Parse(o)
		return err == nil && u.Scheme == p.issuer.Scheme && u.Host == p.issuer.Host
	}
}
