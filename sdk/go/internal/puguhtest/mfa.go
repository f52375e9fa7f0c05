package puguhtest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	totpSecret   = regexp.MustCompile(`id="totp-secret" type="text" readonly value="([A-Z2-7]+)"`)
	recoveryArea = regexp.MustCompile(`(?s)<textarea id="recovery-codes"[^>]*>(.*?)</textarea>`)
)

// TOTP is the RFC 6238 code (SHA-1, 6 digits, 30 s) of secret (base32) at t.
func TOTP(secret string, t time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		panic(err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// EnrolTOTP signs the user in on the sign-in page and turns an
// authenticator app on from /account/security; it returns the secret and
// the recovery codes the page showed once.
func (b *Browser) EnrolTOTP(t testing.TB, u *User) (string, []string) {
	t.Helper()
	form := hiddenFields(t, b.get(t, b.base.String()+"/login").body)
	form.Set("email", u.Email)
	form.Set("password", u.Password)
	if p := b.post(t, "/login", form); p.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%.500s", p.status, p.body)
	}
	p := b.post(t, "/account/security/totp", url.Values{"csrf_token": {hiddenFields(t, b.get(t, b.base.String()+"/account/security").body).Get("csrf_token")}})
	m := totpSecret.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("enrolment page: %d\n%.800s", p.status, p.body)
	}
	p = b.post(t, "/account/security/totp/confirm", url.Values{"csrf_token": {hiddenFields(t, p.body).Get("csrf_token")}, "code": {TOTP(m[1], time.Now())}})
	c := recoveryArea.FindStringSubmatch(p.body)
	if c == nil {
		t.Fatalf("confirmation: %d\n%.800s", p.status, p.body)
	}
	return m[1], strings.Fields(html.UnescapeString(c[1]))
}
