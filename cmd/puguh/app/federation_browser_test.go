package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestBrowserFederatedSignIn drives headless Chromium through a federated
// sign-in: the application sends Alice to sp, sp's sign-in page asks for her
// email and sends her to Acme's identity provider (a second Puguh), she signs
// in there with her corporate password, consents on sp and lands on the
// application with a code, never having chosen a Puguh password. A user of
// another domain ends on the refusal page. Pages are saved at desktop and
// phone width under test-artifacts/.
func TestBrowserFederatedSignIn(t *testing.T) {
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	f := newFederation(t)
	alice := f.idp.RegisterAndLogin("alice@acme.test", corporatePassword, "Alice Engineer")
	f.idp.RegisterAndLogin("mallory@evil.test", corporatePassword, "Mallory")

	redirectURI, callbacks := callbackServer(t)
	app := registerApp(t, f.sp, f.owner, appOptions{RedirectURI: redirectURI})

	ctx := headless(t, 1280, 800, 60*time.Second)

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, v := range []struct {
				suffix string
				w, h   int64
				opts   []chromedp.EmulateViewportOption
			}{
				{"desktop", 1280, 800, nil},
				{"phone", 375, 812, []chromedp.EmulateViewportOption{chromedp.EmulatePortrait, chromedp.EmulateMobile}},
			} {
				if _, err := chromedp.EmulateViewport(v.w, v.h, v.opts...)(ctx, tg); err != nil {
					return err
				}
				png, err := chromedp.FullScreenshot(100)(ctx, tg)
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(artifacts, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
					return err
				}
			}
			_, err := chromedp.EmulateViewport(1280, 800)(ctx, tg)
			return err
		})
	}
	into := func(dst *string, a chromedp.Action[string]) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			*dst, err = a(ctx, tg)
			return err
		})
	}
	var idpLocation, consentText, refusal string
	q := codeQuery(app, "openid email profile", "nonce", "nonce-0123456789")
	err = chromedp.Do(ctx,
		chromedp.Navigate(f.sp.URL+"/oauth/authorize?"+q.Encode()),
		chromedp.WaitVisible(chromedp.ID("sso-note")),
		shot("federation-login"),
		// Only the email: Acme's domain goes to Acme's identity provider.
		chromedp.SendKeys(chromedp.ID("email"), alice.Email),
		chromedp.Click(chromedp.ID("sign-in")),
		// The answer moves on by itself (meta refresh) to the IdP.
		waitForLocation(f.idp.URL+"/login", 10*time.Second),
		into(&idpLocation, chromedp.Location()),
		chromedp.WaitVisible(chromedp.ID("password")),
		// The IdP (a Puguh too) pre-fills the email from login_hint.
		chromedp.Evaluate[chromedp.Void](`document.getElementById("email").value = ""`),
		chromedp.SendKeys(chromedp.ID("email"), alice.Email),
		chromedp.SendKeys(chromedp.ID("password"), alice.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		// Back on sp: consent for the application, then its callback.
		waitForLocation(f.sp.URL+"/consent", 10*time.Second),
		chromedp.WaitVisible(chromedp.ID("allow")),
		into(&consentText, chromedp.Text(chromedp.CSS("main"))),
		chromedp.Click(chromedp.ID("allow")),
		waitForLocation(app.RedirectURI, 10*time.Second),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	select {
	case got := <-callbacks:
		if got.Get("code") == "" || got.Get("state") != "state-0123456789" || got.Get("iss") != f.sp.URL {
			t.Errorf("callback query %v", got)
		}
	default:
		t.Error("the browser never reached the application's callback")
	}
	if !strings.Contains(consentText, "Acme Dashboard") {
		t.Errorf("consent page:\n%s", consentText)
	}
	if role := f.role(t, alice.Email); role != "admin" {
		t.Errorf("Alice's role %q, want the mapped admin", role)
	}

	// Another domain: a fresh browser profile signs in as Mallory at the IdP
	// through Acme's connection, and sp refuses her.
	ctx2 := headless(t, 1280, 800, 60*time.Second)
	err = chromedp.Do(ctx2,
		chromedp.Navigate(f.sp.URL+"/oauth/authorize?"+codeQuery(app, "openid", "connection", f.connection).Encode()),
		waitForLocation(f.idp.URL+"/login", 10*time.Second),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), "mallory@evil.test"),
		chromedp.SendKeys(chromedp.ID("password"), corporatePassword),
		chromedp.Click(chromedp.ID("sign-in")),
		waitForLocation(f.sp.URL+"/federation/", 10*time.Second),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
		into(&refusal, chromedp.Text(chromedp.CSS("main"))),
		shot("federation-refused"),
	)
	if err != nil {
		t.Fatalf("browser (another domain): %v", err)
	}
	if !strings.Contains(refusal, "Sign-in refused") || !strings.Contains(refusal, "not in a domain this organization signs in") {
		t.Errorf("refusal page:\n%s", refusal)
	}
	if f.role(t, "mallory@evil.test") != "" {
		t.Error("Mallory was added to Acme")
	}
	_ = idpLocation
}

// TestBrowserAccountSingleSignOn: an owner connects an identity provider on
// the single sign-on tab in Chromium; the page is saved at desktop and phone
// width.
func TestBrowserAccountSingleSignOn(t *testing.T) {
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	ctx := headless(t, 1280, 800, 60*time.Second)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, v := range []struct {
				suffix string
				w, h   int64
				opts   []chromedp.EmulateViewportOption
			}{
				{"desktop", 1280, 800, nil},
				{"phone", 375, 812, []chromedp.EmulateViewportOption{chromedp.EmulatePortrait, chromedp.EmulateMobile}},
			} {
				if _, err := chromedp.EmulateViewport(v.w, v.h, v.opts...)(ctx, tg); err != nil {
					return err
				}
				png, err := chromedp.FullScreenshot(100)(ctx, tg)
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(artifacts, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
					return err
				}
			}
			_, err := chromedp.EmulateViewport(1280, 800)(ctx, tg)
			return err
		})
	}
	var table string
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/login?return_to=/account/sso"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), owner.Email),
		chromedp.SendKeys(chromedp.ID("password"), owner.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("sso-name")),
		chromedp.SendKeys(chromedp.ID("sso-name"), "Acme corporate IdP"),
		chromedp.SendKeys(chromedp.ID("sso-issuer"), "https://login.acme.example"),
		chromedp.SendKeys(chromedp.ID("sso-client-id"), "puguh"),
		chromedp.SendKeys(chromedp.ID("sso-client-secret"), "browser-secret"),
		chromedp.SendKeys(chromedp.ID("sso-domains"), "acme.example, corp.acme.example"),
		chromedp.Click(chromedp.ID("connect")),
		chromedp.WaitVisible(chromedp.ID("connections")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			table, err = chromedp.Text(chromedp.ID("connections"))(ctx, tg)
			return err
		}),
		shot("account-sso"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(table, "Acme corporate IdP") || !strings.Contains(table, "/federation/") || strings.Contains(table, "browser-secret") {
		t.Errorf("connections table:\n%s", table)
	}
}
