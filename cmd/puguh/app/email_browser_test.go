package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/identity"
)

// mailBrowser starts headless Chromium for a test, or skips it.
type mailBrowser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
}

// newMailBrowser starts it; extra options (flags) follow the defaults.
func newMailBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *mailBrowser {
	t.Helper()
	ctx := headless(t, 1280, 800, 90*time.Second, extra...)
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return &mailBrowser{t: t, ctx: ctx, artifacts: artifacts}
}

func (b *mailBrowser) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser, %s: %v", step, err)
	}
}

// shot saves the page at desktop (1280×800) and phone (375×812) width and
// fails when the page is wider than either viewport (horizontal overflow).
func (b *mailBrowser) shot(name string) chromedp.Action[chromedp.Void] {
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
			wide, err := chromedp.Evaluate[int64](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)(ctx, tg)
			if err != nil {
				return err
			}
			if wide > 0 {
				return fmt.Errorf("%s at %s width: %dpx of horizontal overflow", name, v.suffix, wide)
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(b.artifacts, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
				return err
			}
		}
		_, err := chromedp.EmulateViewport(1280, 800)(ctx, tg)
		return err
	})
}

func fillField(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		clear := `document.getElementById(` + strconv.Quote(id) + `).value = ""`
		if _, err := chromedp.Evaluate[chromedp.Void](clear)(ctx, tg); err != nil {
			return err
		}
		_, err := chromedp.SendKeys(chromedp.ID(id), value)(ctx, tg)
		return err
	})
}

func textOf(dst *string, id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		*dst, err = chromedp.Text(chromedp.ID(id))(ctx, tg)
		return err
	})
}

// TestBrowserVerifyEmail walks confirmation in Chromium under
// PUGUH_REQUIRE_VERIFIED_EMAIL: sign-up asks to check the mail; sign-in is
// refused with a button for a new link; the link's page confirms with one
// click; then sign-in reaches the account. Every page at both widths.
func TestBrowserVerifyEmail(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_REQUIRE_VERIFIED_EMAIL": "true"}})
	const email, pw = "grace@example.com", "correct horse battery staple"
	var refused, verified string
	b.run("sign up",
		chromedp.Navigate(e.URL+"/signup"),
		chromedp.WaitVisible(chromedp.ID("sign-up")),
		fillField("full_name", "Grace Hopper"), fillField("email", email), fillField("password", pw),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("sent")),
		b.shot("verify-email-sent"),
	)
	e.WaitMail(email, "Confirm your email address", 0)
	b.run("sign-in refused, new link",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", email), fillField("password", pw),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("resend")),
		textOf(&refused, "error"),
		b.shot("verify-email-login-refused"),
		chromedp.Click(chromedp.ID("resend")),
		chromedp.WaitVisible(chromedp.ID("sent")),
	)
	if refused != identity.EmailNotVerified {
		t.Fatalf("sign-in error %q, want %q", refused, identity.EmailNotVerified)
	}
	link := e.LinkIn(e.WaitMail(email, "Confirm your email address", 1), identity.VerifyPath)
	b.run("confirm",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("confirm-email")),
		b.shot("verify-email-confirm"),
		chromedp.Click(chromedp.ID("confirm-email")),
		chromedp.WaitVisible(chromedp.ID("verified")),
		textOf(&verified, "verified"),
		b.shot("verify-email-done"),
		// The same link again.
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("confirm-email")),
		chromedp.Click(chromedp.ID("confirm-email")),
		chromedp.WaitVisible(chromedp.ID("error")),
		b.shot("verify-email-invalid"),
	)
	if verified != "Thank you: "+email+" is confirmed." {
		t.Fatalf("confirmation page says %q", verified)
	}
	b.run("sign in",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", email), fillField("password", pw),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
	)
}

// TestBrowserPasswordReset walks "Forgot password?" in Chromium: the request
// page, the mailed link, a weak password refused by the policy on the same
// form, the new password set, the old session ended, sign-in with the new
// one. Every page at both widths.
func TestBrowserPasswordReset(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{})
	u := e.NewUser()
	const newPw = "a brand new passphrase"
	var weak, done string
	b.run("request",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("forgot-password")),
		chromedp.Click(chromedp.ID("forgot-password")),
		chromedp.WaitVisible(chromedp.ID("send-reset")),
		b.shot("password-reset-request"),
		fillField("email", u.Email),
		chromedp.Click(chromedp.ID("send-reset")),
		chromedp.WaitVisible(chromedp.ID("sent")),
		b.shot("password-reset-sent"),
	)
	link := e.LinkIn(e.WaitMail(u.Email, "Reset your password", 0), identity.ResetPath)
	b.run("set a new password",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("set-password")),
		b.shot("password-reset-confirm"),
		fillField("password", "short"),
		chromedp.Click(chromedp.ID("set-password")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		textOf(&weak, "password-error"),
		b.shot("password-reset-weak"),
		fillField("password", newPw),
		chromedp.Click(chromedp.ID("set-password")),
		chromedp.WaitVisible(chromedp.ID("reset-done")),
		textOf(&done, "reset-done"),
		b.shot("password-reset-done"),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("error")),
		b.shot("password-reset-invalid"),
	)
	if weak != "ensure this value has at least 8 characters" || !strings.Contains(done, "signed out") {
		t.Fatalf("weak %q, done %q", weak, done)
	}
	b.run("sign in with the new password",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", u.Email), fillField("password", newPw),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
	)
}

// TestBrowserChangeEmail changes the sign-in address from the profile page
// in Chromium: a wrong password is refused on the form, a good request says
// where the link went, following it confirms, and the profile shows the new
// address. Every page at both widths.
func TestBrowserChangeEmail(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{})
	u := e.NewUser()
	newAddr := "moved-" + u.Email
	var wrong, sent, verified string
	b.run("request", append(signInBrowser(e, u),
		chromedp.WaitVisible(chromedp.ID("change-email")),
		fillField("new_email", newAddr), fillField("email_password", "not my password"),
		chromedp.Click(chromedp.ID("change-email")),
		chromedp.WaitVisible(chromedp.ID("email_password-error")),
		textOf(&wrong, "email_password-error"),
		b.shot("email-change-wrong-password"),
		fillField("email_password", u.Password),
		chromedp.Click(chromedp.ID("change-email")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		textOf(&sent, "notice"),
		b.shot("email-change-sent"),
	)...)
	if wrong != identity.WrongCurrentPassword || sent != "We sent a link to "+newAddr+"; your address changes when you follow it." {
		t.Fatalf("wrong password %q, sent %q", wrong, sent)
	}
	link := e.LinkIn(e.WaitMail(newAddr, "Confirm your email address", 0), identity.VerifyPath)
	b.run("follow the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("confirm-email")),
		chromedp.Click(chromedp.ID("confirm-email")),
		chromedp.WaitVisible(chromedp.ID("verified")),
		textOf(&verified, "verified"),
	)
	if verified != "Thank you: "+newAddr+" is confirmed." {
		t.Fatalf("confirmation page says %q", verified)
	}
	var shown string
	b.run("profile",
		chromedp.Navigate(e.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			shown, err = chromedp.Evaluate[string](`document.getElementById("email").value`)(ctx, tg)
			return err
		}),
		b.shot("email-change-done"),
	)
	if shown != newAddr {
		t.Fatalf("profile shows %q, want %q", shown, newAddr)
	}
}
