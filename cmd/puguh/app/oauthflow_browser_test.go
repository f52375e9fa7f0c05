package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// chromiumPath is Debian's chromium.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserSignInAndConsent drives the sign-in and consent pages in headless
// Chromium, as a user would, and saves a screenshot of each page under
// test-artifacts/ at the repository root.
func TestBrowserSignInAndConsent(t *testing.T) {
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()
	// The client's callback: a loopback listener that records the response.
	redirectURI, callbacks := callbackServer(t)
	app := registerApp(t, e, user, appOptions{RedirectURI: redirectURI})

	ctx := headless(t, 1000, 900, 20*time.Second)

	// shot saves a full-page screenshot of the current page.
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(90)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(artifacts, name), png, 0o644)
		})
	}
	// into runs an action that returns a value and keeps the value.
	into := func(dst *string, a chromedp.Action[string]) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			*dst, err = a(ctx, tg)
			return err
		})
	}
	var loginTitle, consentText, finalURL, errorText string
	q := codeQuery(app, "openid profile email read:user read:resources", "nonce", "nonce-0123456789")
	err = chromedp.Do(ctx,
		chromedp.Navigate(e.URL+"/oauth/authorize?"+q.Encode()),
		chromedp.WaitVisible(chromedp.ID("email")),
		into(&loginTitle, chromedp.Title()),
		shot("login.png"),
		chromedp.SendKeys(chromedp.ID("email"), user.Email),
		chromedp.SendKeys(chromedp.ID("password"), user.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("allow")),
		into(&consentText, chromedp.Text(chromedp.CSS("main"))),
		shot("consent.png"),
		chromedp.Click(chromedp.ID("allow")),
		// The consent page's own body is visible too: wait for the redirect to
		// land on the client's callback before navigating on, or the next
		// Navigate aborts it (net::ERR_ABORTED).
		waitForLocation(app.RedirectURI, 10*time.Second),
		into(&finalURL, chromedp.Location()),
		chromedp.Navigate(e.URL+"/oauth/authorize?client_id=nope&redirect_uri=https%3A%2F%2Fevil.example.com%2F&response_type=code&state=state-0123456789"),
		chromedp.WaitVisible(chromedp.ID("error-code")),
		into(&errorText, chromedp.Text(chromedp.ID("error-code"))),
		shot("error.png"),
		chromedp.Navigate(e.URL+"/logout"),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		shot("logout.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if loginTitle != "Sign in · Puguh" {
		t.Errorf("sign-in page title %q", loginTitle)
	}
	for _, want := range []string{"Acme Dashboard", "See your email address", "Read your user data", "read:resources"} {
		if !strings.Contains(consentText, want) {
			t.Errorf("consent page lacks %q:\n%s", want, consentText)
		}
	}
	select {
	case got := <-callbacks:
		if got.Get("code") == "" || got.Get("state") != "state-0123456789" || got.Get("iss") != e.URL {
			t.Errorf("callback query %v, want code, state and iss", got)
		}
	default:
		t.Errorf("the browser never reached the client's callback (last at %q)", finalURL)
	}
	if errorText != "invalid_client" {
		t.Errorf("error page code %q, want invalid_client", errorText)
	}
	for _, name := range []string{"login.png", "consent.png", "error.png", "logout.png"} {
		if fi, err := os.Stat(filepath.Join(artifacts, name)); err != nil || fi.Size() < 1000 {
			t.Errorf("screenshot %s missing or empty", name)
		}
	}
}

// waitForLocation polls the page's URL until it starts with prefix.
func waitForLocation(prefix string, within time.Duration) chromedp.Action[chromedp.Void] {
	location := chromedp.Location()
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(within)
		for {
			loc, err := location(ctx, tg)
			if err == nil && strings.HasPrefix(loc, prefix) {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("browser did not reach %s within %s (at %q)", prefix, within, loc)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
