package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestBrowserMFAPolicyEnrolment walks the organization policy in Chromium:
// the owner turns it on from the Security tab; a member without a second
// factor signing in to an application within the grace period is told
// until when and may go on without one; once the grace period is over the
// sign-in shows the authenticator-app enrolment (no way around it), a
// wrong code, the right one, the recovery codes, and then completes the
// OAuth authorization, whose ID token says both factors were used. Every
// page at desktop and phone width.
func TestBrowserMFAPolicyEnrolment(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{})
	owner, member := e.NewUser(), e.NewUser()
	orgID := policyOrg(t, e, owner, member)

	redirectURI, callbacks := callbackServer(t)
	app := registerApp(t, e, owner, appOptions{Trusted: true, RedirectURI: redirectURI})
	authorize := e.URL + "/oauth/authorize?" + codeQuery(app, "openid email").Encode()
	codeOf := func(step string) string {
		t.Helper()
		select {
		case q := <-callbacks:
			if q.Get("code") == "" || q.Get("state") != "state-0123456789" {
				t.Fatalf("%s: callback %v", step, q)
			}
			return q.Get("code")
		default:
			t.Fatalf("%s: the browser never reached the application", step)
		}
		return ""
	}
	signIn := func(u *apptest.User) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(authorize), chromedp.WaitVisible(chromedp.ID("sign-in")),
			fillField("email", u.Email), fillField("password", u.Password), chromedp.Click(chromedp.ID("sign-in")),
		}
	}
	signOut := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(e.URL + "/logout"), chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
	}

	// The owner turns the policy on for Acme.
	var status string
	b.run("owner turns the policy on", append(signIn(owner),
		waitForLocation(app.RedirectURI, 10*time.Second),
		chromedp.Navigate(e.URL+"/account"), chromedp.WaitVisible(chromedp.ID("switch-org")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](`document.getElementById("organization_id").value = `+strconv.Quote(orgID))(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.ID("switch-org")), chromedp.WaitVisible(chromedp.ID("notice")),
		chromedp.Navigate(e.URL+"/account/security"), chromedp.WaitVisible(chromedp.ID("policy-required")),
		b.shot("security-policy"),
		chromedp.Click(chromedp.ID("policy-required")), fillField("policy-grace", "168h"),
		chromedp.Click(chromedp.ID("save-policy")), chromedp.WaitVisible(chromedp.ID("policy-enforced-from")),
		textOf(&status, "policy-status"),
		b.shot("security-policy-on"),
	)...)
	codeOf("owner")
	if !strings.Contains(status, "Members of Acme must use a second factor") {
		t.Fatalf("policy status %q", status)
	}
	b.run("owner signs out", signOut...)

	// Within the grace period: told until when, and may go on.
	var banner string
	b.run("member within the grace period", append(signIn(member),
		chromedp.WaitVisible(chromedp.ID("policy-banner")), textOf(&banner, "policy-banner"),
		b.shot("login-enrol-grace"),
		chromedp.Click(chromedp.ID("skip-enrol")),
		waitForLocation(app.RedirectURI, 10*time.Second),
	)...)
	codeOf("within the grace period")
	if !strings.Contains(banner, "Acme requires a second factor from") || !strings.Contains(banner, "continue without it") {
		t.Fatalf("grace banner %q", banner)
	}
	b.run("member signs out", signOut...)

	// After it: enrolment, then the application.
	putPolicy(t, e, owner, orgID, map[string]any{"required": true, "grace_period": "0s"})
	var secret, codeErr, codes string
	var skippable bool
	b.run("member after the grace period", append(signIn(member),
		chromedp.WaitVisible(chromedp.ID("totp-qr")), textOf(&banner, "policy-banner"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			skippable, err = chromedp.Evaluate[bool](`document.getElementById("skip-enrol") !== null`)(ctx, tg)
			if err == nil {
				secret, err = chromedp.Value(chromedp.ID("totp-secret"))(ctx, tg)
			}
			return err
		}),
		b.shot("login-enrol-required"),
		fillField("code", "000000"), chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.ID("code-error")), textOf(&codeErr, "code-error"),
		b.shot("login-enrol-wrong-code"),
	)...)
	if skippable || !strings.Contains(banner, "Set one up to continue signing in") || len(secret) != 32 || !strings.Contains(codeErr, "the code is not correct") {
		t.Fatalf("enforced enrolment: skippable %v, banner %q, secret %q, error %q", skippable, banner, secret, codeErr)
	}
	b.run("member enrols", fillField("code", totpCode(t, secret, 0)), chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes-box")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			codes, err = chromedp.Value(chromedp.ID("recovery-codes"))(ctx, tg)
			return err
		}),
		b.shot("login-enrol-codes"),
		chromedp.Click(chromedp.ID("continue")),
		waitForLocation(app.RedirectURI, 10*time.Second),
	)
	if len(strings.Fields(codes)) != 10 {
		t.Fatalf("recovery codes %q", codes)
	}
	code := codeOf("after enrolment")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURI},
		"client_id": {app.ID}, "client_secret": {app.Secret}}
	r := e.Do(http.MethodPost, "/oauth/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		IDToken string `json:"id_token"`
	}
	r.JSON(t, &tok)
	parts := strings.Split(tok.IDToken, ".")
	if r.Status != http.StatusOK || len(parts) != 3 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	if err != nil || json.Unmarshal(raw, &claims) != nil || !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) || claims.ACR != "urn:puguh:acr:mfa" {
		t.Fatalf("ID token claims after enrolment: %s (%v)", raw, err)
	}
}
