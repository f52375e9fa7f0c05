package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestBrowserTOTPEnrolAndSignIn walks the authenticator-app path in headless
// Chromium: sign in, Security, set up (the QR code is drawn), a wrong code,
// the right one, the recovery codes shown once; sign out, sign in again with
// the password and a code. At desktop (1280×800) and phone (375×812) width
// every page fits without sideways scrolling, and is saved under
// test-artifacts/.
func TestBrowserTOTPEnrolAndSignIn(t *testing.T) {
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.Start(t, apptest.Options{})
	user := e.NewUser()

	ctx := headless(t, 1280, 800, 90*time.Second)

	// shot checks the page fits at desktop and phone width and saves it.
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
				over, err := chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)(ctx, tg)
				if err != nil {
					return err
				}
				if over {
					t.Errorf("%s at %s width scrolls sideways", name, v.suffix)
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
	fill := func(id, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Evaluate[chromedp.Void](`document.getElementById(`+strconv.Quote(id)+`).value = ""`)(ctx, tg); err != nil {
				return err
			}
			_, err := chromedp.SendKeys(chromedp.ID(id), value)(ctx, tg)
			return err
		})
	}
	// fillCode types the code of step d from now into #id.
	var secret string
	fillCode := func(id string, d int) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := fill(id, totpCode(t, secret, d))(ctx, tg)
			return err
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser, %s: %v", step, err)
		}
	}

	var codeErr, codes, status, loc, mfaErr string
	run("enrol",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fill("email", user.Email), fill("password", user.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("tab-security")),
		chromedp.Click(chromedp.ID("tab-security")),
		chromedp.WaitVisible(chromedp.ID("begin-totp")),
		shot("security"),
		chromedp.Click(chromedp.ID("begin-totp")),
		chromedp.WaitVisible(chromedp.ID("totp-qr")),
		into(&secret, chromedp.Value(chromedp.ID("totp-secret"))),
		shot("security-enrol"),
		fill("code", "000000"),
		chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.ID("code-error")),
		into(&codeErr, chromedp.Text(chromedp.ID("code-error"))),
	)
	if !strings.Contains(codeErr, "the code is not correct") || len(secret) != 32 {
		t.Fatalf("wrong confirmation code: %q (secret %q)", codeErr, secret)
	}
	run("confirm",
		fillCode("code", 0),
		chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes-box")),
		into(&codes, chromedp.Value(chromedp.ID("recovery-codes"))),
		shot("security-recovery-codes"),
		chromedp.Navigate(e.URL+"/account/security"),
		chromedp.WaitVisible(chromedp.ID("totp-status")),
		into(&status, chromedp.Text(chromedp.ID("totp-status"))),
		shot("security-on"),
	)
	if len(strings.Fields(codes)) != 10 || !strings.Contains(status, "10 recovery codes left") {
		t.Fatalf("recovery codes %q, status %q", codes, status)
	}

	run("sign in with a code",
		chromedp.Navigate(e.URL+"/logout"),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fill("email", user.Email), fill("password", user.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("verify")),
		shot("login-mfa"),
		fill("code", "000000"),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("error")),
		into(&mfaErr, chromedp.Text(chromedp.ID("error"))),
		shot("login-mfa-error"),
		fillCode("code", 1),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("tab-security")),
		into(&loc, chromedp.Location()),
	)
	if mfaErr != "Invalid authentication code" || !strings.HasSuffix(loc, "/account") {
		t.Fatalf("second step: error %q, landed on %q", mfaErr, loc)
	}
}
