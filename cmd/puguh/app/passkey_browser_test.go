package app_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// addVirtualAuthenticator gives the browser's tab a platform authenticator
// through the DevTools WebAuthn domain: CTAP2, internal transport, resident
// keys and user verification that succeeds, presence simulated. Its id is
// written to *id.
func addVirtualAuthenticator(id *cdpwebauthn.AuthenticatorID) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		*id = res.AuthenticatorID
		return err
	})
}

// TestBrowserPasskeySignInAndStepUp is issue 19's "done when" for passkeys,
// in headless Chromium with a virtual authenticator, every page at desktop
// and phone width: the user registers a passkey on the Security tab, signs
// out, signs in with the passkey alone (no email, no password), and an
// application asking acr_values for multi-factor gets, without another
// sign-in, an ID token (verified with go-oidc) whose amr shows the passkey.
// The alone sign-in goes through conditional mediation (the email field's
// autofill), then, in a browser without it, through the "Sign in with a
// passkey" button. Then the passkey answers the second step after a
// password, and is removed with the password.
func TestBrowserPasskeySignInAndStepUp(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{Localhost: true})
	user := e.NewUser()
	redirectURI, callbacks := callbackServer(t)
	app := registerApp(t, e, user, appOptions{Trusted: true, RedirectURI: redirectURI})
	rp := newOIDCClient(t, e, app, oidc.ScopeOpenID)

	var authID cdpwebauthn.AuthenticatorID
	var listed, autocomplete, lastUsed, loc string
	b.run("register a passkey",
		addVirtualAuthenticator(&authID),
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", user.Email), fillField("password", user.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("tab-security")),
		chromedp.Click(chromedp.ID("tab-security")),
		chromedp.WaitVisible(chromedp.ID("add-passkey")),
		b.shot("passkeys-none"),
		fillField("passkey-name", "Test laptop"),
		fillField("passkey-password", user.Password),
		chromedp.Click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.ID("passkey-list")),
		textOf(&listed, "passkey-list"),
		b.shot("passkeys-list"),
	)
	if !strings.Contains(listed, "Test laptop") || !strings.Contains(listed, "last used never") {
		t.Fatalf("passkey list after registration: %q", listed)
	}
	creds, err := chromedp.Run(b.ctx, func(ctx context.Context, tg *chromedp.Target) (cdpwebauthn.GetCredentialsResult, error) {
		return cdp.Call(ctx, tg, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: authID})
	})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential || creds.Credentials[0].RpID != "localhost" ||
		string(creds.Credentials[0].UserHandle) != user.ID {
		t.Fatalf("the authenticator's credentials: %+v, %v", creds, err)
	}

	// Signed out, the sign-in page offers the passkey in the email field's
	// autofill (conditional mediation), which the virtual authenticator
	// answers at once: the user is signed in with the passkey alone, typing
	// nothing.
	signOut := chromedp.Steps(
		chromedp.Navigate(e.URL+"/logout"),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="/login"]`)),
	)
	b.run("sign out, then sign in with the passkey alone (conditional UI)",
		signOut,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("tab-security")),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			var err error
			loc, err = chromedp.Location()(ctx, tg)
			return chromedp.Void{}, err
		},
	)
	if loc != e.URL+"/account" {
		t.Fatalf("conditional UI sign-in landed on %q", loc)
	}
	// The application asks for multi-factor: the passkey session is enough,
	// so the browser goes straight back to it with a code.
	q := codeQuery(app, "openid", "acr_values", "urn:puguh:acr:mfa")
	b.run("authorize with acr_values",
		chromedp.Navigate(e.URL+"/oauth/authorize?"+q.Encode()),
		waitForLocation(app.RedirectURI, 10*time.Second),
	)
	var cb url.Values
	select {
	case cb = <-callbacks:
	default:
		t.Fatal("the browser never reached the application's callback")
	}
	if cb.Get("state") != "state-0123456789" || cb.Get("iss") != e.URL {
		t.Fatalf("callback %v", cb)
	}
	ctx := context.Background()
	tok, err := rp.config.Exchange(ctx, cb.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(claims.AMR, []string{"hwk", "user", "mfa"}) || claims.ACR != "urn:puguh:acr:mfa" || idt.Subject != user.ID {
		t.Fatalf("ID token after a passkey sign-in: amr %v acr %q sub %q", claims.AMR, claims.ACR, idt.Subject)
	}

	// A browser without conditional mediation: the button signs in.
	b.run("sign in with the passkey button",
		signOut,
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
				Source: `PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`})
			return chromedp.Void{}, err
		},
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			var err error
			autocomplete, err = chromedp.Evaluate[string](`document.getElementById("email").getAttribute("autocomplete")`)(ctx, tg)
			return chromedp.Void{}, err
		},
		b.shot("login-passkey"),
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("tab-security")),
	)
	if autocomplete != "username webauthn" {
		t.Fatalf("email autocomplete %q, want conditional UI's \"username webauthn\"", autocomplete)
	}

	// The passkey as the second step after a password, then its removal.
	var notice string
	b.run("password, then the passkey; remove it",
		signOut,
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", user.Email), fillField("password", user.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("passkey-verify")),
		b.shot("login-mfa-passkey"),
		chromedp.Click(chromedp.ID("passkey-verify")),
		chromedp.WaitVisible(chromedp.ID("tab-security")),
		chromedp.Click(chromedp.ID("tab-security")),
		chromedp.WaitVisible(chromedp.ID("passkey-list")),
		textOf(&lastUsed, "passkey-list"),
		chromedp.Click(chromedp.CSS("#passkey-list summary")),
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.SendKeys(chromedp.CSS(`#passkey-list input[name="password"]`), user.Password)(ctx, tg)
			return chromedp.Void{}, err
		},
		b.shot("passkeys-remove"),
		chromedp.Click(chromedp.CSS(`#passkey-list button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("no-passkeys")),
		textOf(&notice, "main"),
	)
	if strings.Contains(lastUsed, "last used never") || !strings.Contains(notice, "The passkey was removed.") {
		t.Fatalf("passkey list %q; after removal %q", lastUsed, notice)
	}
}
