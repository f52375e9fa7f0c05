package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// signInBrowser signs u in on the sign-in page and waits for the profile.
func signInBrowser(e *apptest.Env, u *apptest.User) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(e.URL + "/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", u.Email), fillField("password", u.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
	}
}

// TestBrowserConnectedAppsAndDeleteAccount: in Chromium, at desktop and
// phone width, a user sees the application they consented to under
// Connected apps, removes its access after a confirmation, then deletes
// their account from the profile's danger zone (a wrong password first).
func TestBrowserConnectedAppsAndDeleteAccount(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	user := e.NewUser()
	app := registerApp(t, e, owner, appOptions{})
	access, _ := exchangeCode(t, e, app, user, "openid profile offline_access")
	var table, notice, wrong, done string
	b.run("connected apps", append(signInBrowser(e, user),
		chromedp.Click(chromedp.ID("tab-connected-apps")),
		chromedp.WaitVisible(chromedp.ID("consents")),
		textOf(&table, "consents"),
		b.shot("connected-apps"),
		chromedp.Click(chromedp.CSS(`a[href="/account/connected-apps/`+app.ID+`/revoke"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		b.shot("connected-apps-confirm"),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("no-consents")),
		textOf(&notice, "notice"),
		b.shot("connected-apps-revoked"),
	)...)
	if !strings.Contains(table, "Acme Dashboard") || !strings.Contains(table, "offline_access") || strings.Contains(table, "last used never") {
		t.Errorf("connected apps table: %q", table)
	}
	if !strings.Contains(notice, "Access removed") {
		t.Errorf("notice %q", notice)
	}
	if s := userinfoStatus(e, access); s != 401 {
		t.Errorf("the application's token after removing its access: %d, want 401", s)
	}
	b.run("delete account",
		chromedp.Navigate(e.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("delete-account")),
		chromedp.Click(chromedp.ID("delete-account")),
		chromedp.WaitVisible(chromedp.ID("confirm-delete")),
		b.shot("delete-account"),
		fillField("password", "not the password"),
		chromedp.Click(chromedp.ID("confirm-delete")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		textOf(&wrong, "password-error"),
		b.shot("delete-account-wrong-password"),
		fillField("password", user.Password),
		chromedp.Click(chromedp.ID("confirm-delete")),
		// The form's page goes first, so the heading read is the answer's.
		chromedp.WaitNotPresent(chromedp.ID("confirm-delete")),
		chromedp.WaitVisible(chromedp.CSS("h1")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			done, err = chromedp.Text(chromedp.CSS("h1"))(ctx, tg)
			return err
		}),
		b.shot("delete-account-done"),
	)
	if wrong != "The password is not correct" || done != "Account deleted" {
		t.Errorf("wrong password %q, done %q", wrong, done)
	}
	if n := count(t, e, `SELECT COUNT(*) FROM users WHERE id = ?`, user.ID); n != 0 {
		t.Error("the user still exists")
	}
	b.run("signed out", chromedp.Navigate(e.URL+"/account"), chromedp.WaitVisible(chromedp.ID("sign-in")))
}

// TestBrowserOperatorPage: a platform operator finds a user by email,
// disables and enables them, and deletes them after a confirmation, at
// desktop and phone width; the tab is not shown to anyone else.
func TestBrowserOperatorPage(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_PLATFORM_OPERATORS": operatorEmail}})
	operator := e.RegisterAndLogin(operatorEmail, "operator passphrase", "Operator")
	target := e.NewUser()
	var state, notice string
	b.run("find and disable", append(signInBrowser(e, operator),
		chromedp.Click(chromedp.ID("tab-operator")),
		chromedp.WaitVisible(chromedp.ID("find-user")),
		fillField("q", target.Email),
		chromedp.Click(chromedp.ID("find-user")),
		chromedp.WaitVisible(chromedp.ID("found-user")),
		b.shot("operator-user"),
		chromedp.Click(chromedp.ID("toggle-user")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		textOf(&state, "user-state"),
		b.shot("operator-user-disabled"),
	)...)
	if state != "disabled" {
		t.Fatalf("state after disable: %q", state)
	}
	if r := e.Do("POST", "/api/v1/auth/login", map[string]string{"email": target.Email, "password": target.Password}); r.Status != 401 {
		t.Errorf("the disabled user signs in: %d", r.Status)
	}
	b.run("enable and delete",
		chromedp.Click(chromedp.ID("toggle-user")),
		// The page before has a notice too: wait for the answer's.
		waitTrue(`document.getElementById("notice")?.textContent.includes("enabled")`),
		textOf(&state, "user-state"),
		chromedp.Click(chromedp.ID("delete-user")),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		b.shot("operator-delete-confirm"),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		textOf(&notice, "notice"),
	)
	if state != "active" || !strings.Contains(notice, "deleted") {
		t.Errorf("state after enable %q, notice %q", state, notice)
	}
	if n := count(t, e, `SELECT COUNT(*) FROM users WHERE id = ?`, target.ID); n != 0 {
		t.Error("the user still exists")
	}
	// Not an operator: no tab, and the page refuses.
	other := e.NewUser()
	var tabShown bool
	b.run("not an operator", chromedp.Navigate(e.URL+"/logout"), chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)))
	b.run("not an operator, signed in", append(signInBrowser(e, other),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			tabShown, err = chromedp.Evaluate[bool](`document.getElementById("tab-operator") !== null`)(ctx, tg)
			return err
		}))...)
	if tabShown {
		t.Error("the operator tab is shown to a user who is not an operator")
	}
}

// waitTrue waits until the JavaScript expression is true on the page.
func waitTrue(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			// Evaluating while the page navigates fails; that is "not yet".
			if ok, err := chromedp.Evaluate[bool](expression)(ctx, tg); err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
