package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestBrowserActivityPage: the Activity tab shows a user's own events (a
// failed sign-in with its address and browser) and, to an owner, the
// organization's audit log (a key created through REST), at desktop and
// phone width with no horizontal overflow; a member without audit.read sees
// only their own events.
func TestBrowserActivityPage(t *testing.T) {
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	member := e.NewUser()
	addMember(t, e, owner, member, "member")
	if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": "wrong password here"}); r.Status != 401 {
		t.Fatalf("failed sign-in: %d", r.Status)
	}
	if r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "deploy key with a rather long name for the table"}, owner.Bearer()...); r.Status != http.StatusCreated {
		t.Fatalf("key: %d %s", r.Status, r.Body)
	}

	ctx := headless(t, 1280, 800, 90*time.Second)

	// check saves the page at desktop and phone width and fails on
	// horizontal overflow at either.
	check := func(name string) chromedp.Action[chromedp.Void] {
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
				over, err := chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`)(ctx, tg)
				if err != nil {
					return err
				}
				if over {
					t.Errorf("%s at %s width overflows horizontally", name, v.suffix)
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
	var mine, org, tab string
	var orgShown bool
	into := func(dst *string, a chromedp.Action[string]) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			*dst, err = a(ctx, tg)
			return err
		})
	}
	signInAs := func(u *apptest.User) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(e.URL + "/login"),
			chromedp.WaitVisible(chromedp.ID("sign-in")),
			chromedp.SendKeys(chromedp.ID("email"), u.Email), chromedp.SendKeys(chromedp.ID("password"), u.Password),
			chromedp.Click(chromedp.ID("sign-in")),
			chromedp.WaitVisible(chromedp.ID("save-profile")),
		}
	}
	steps := append(signInAs(owner),
		into(&tab, chromedp.Text(chromedp.ID("tab-audit"))),
		chromedp.Click(chromedp.ID("tab-audit")),
		chromedp.WaitVisible(chromedp.ID("org-audit")),
		into(&mine, chromedp.Text(chromedp.ID("my-activity"))),
		into(&org, chromedp.Text(chromedp.ID("org-audit"))),
		check("activity"),
	)
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser, owner: %v", err)
	}
	if tab != "Activity" {
		t.Errorf("tab %q", tab)
	}
	for _, want := range []string{"sign_in.failed", "reason: wrong_password", "127.0.0.1", "Go-http-client", "sign_in.succeeded", "api_key.created"} {
		if !strings.Contains(mine, want) {
			t.Errorf("own activity lacks %q:\n%s", want, mine)
		}
	}
	for _, want := range []string{"api_key.created", "name: deploy key", "member.added", "role: member"} {
		if !strings.Contains(org, want) {
			t.Errorf("organization log lacks %q:\n%s", want, org)
		}
	}
	if strings.Contains(org, "sign_in.") {
		t.Errorf("the organization log shows account sign-ins:\n%s", org)
	}

	// A member without audit.read in the owner's organization: their own activity only.
	steps = append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(e.URL + "/logout"), chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`))}, signInAs(member)...)
	steps = append(steps, chromedp.Navigate(e.URL+"/account/audit"), chromedp.WaitVisible(chromedp.ID("switch-org")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("organization_id").value = "`+owner.OrganizationID+`"`),
		chromedp.Click(chromedp.ID("switch-org")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		chromedp.Navigate(e.URL+"/account/audit"), chromedp.WaitVisible(chromedp.ID("my-activity")),
		check("activity-member"),
		into(&mine, chromedp.Text(chromedp.ID("my-activity"))),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			orgShown, err = chromedp.Evaluate[bool](`document.getElementById("org-audit") !== null`)(ctx, tg)
			return err
		}))
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser, member: %v", err)
	}
	if !strings.Contains(mine, "member.added") || orgShown {
		t.Errorf("member: own activity %q, organization log shown %v", mine, orgShown)
	}
}
