package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/password"
)

// TestBrowserAccountGuidePath walks the API guide's path in headless Chromium:
// sign up, sign out and in again, profile settings, "API Keys", "Create New
// Key", read the key from the page; then uses the key with plain net/http
// against GET /api/v1/health, revokes it in the page and sees 401. On the way
// it asserts the form errors (weak password, duplicate email, wrong current
// password, a form without its CSRF token) and saves every page at desktop
// (1280×800) and phone (375×812) width under test-artifacts/.
func TestBrowserAccountGuidePath(t *testing.T) {
	artifacts, err := filepath.Abs("../test-artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	e := apptest.Start(t, apptest.Options{})
	existing := e.NewUser()

	ctx := headless(t, 1280, 800, 90*time.Second)

	var shots []string
	// shot saves the current page at desktop and at phone width.
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
				png, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG, not JPEG
				if err != nil {
					return err
				}
				file := name + "-" + v.suffix + ".png"
				shots = append(shots, file)
				if err := os.WriteFile(filepath.Join(artifacts, file), png, 0o644); err != nil {
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
	// fill replaces a field's value, then types it, as a user would.
	fill := func(id, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			clear := `document.getElementById(` + strconv.Quote(id) + `).value = ""`
			if _, err := chromedp.Evaluate[chromedp.Void](clear)(ctx, tg); err != nil {
				return err
			}
			_, err := chromedp.SendKeys(chromedp.ID(id), value)(ctx, tg)
			return err
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser, %s: %v", step, err)
		}
	}

	email := "ada-" + strings.ToLower(existing.ID[:8]) + "@example.com"
	const pw = "correct horse battery staple"
	var weakErr, dupErr, curErr, csrfTitle, tabText, buttonText, key, keyOrg, loc, notice, copyStatus string

	run("sign-up errors",
		chromedp.Navigate(e.URL+"/signup"),
		chromedp.WaitVisible(chromedp.ID("sign-up")),
		shot("signup"),
		fill("full_name", "Ada Lovelace"), fill("email", email), fill("password", "password"),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		into(&weakErr, chromedp.Text(chromedp.ID("password-error"))),
		shot("signup-errors"),
		fill("email", existing.Email), fill("password", pw),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("email-error")),
		into(&dupErr, chromedp.Text(chromedp.ID("email-error"))),
	)
	if want := password.Problem("password", email); weakErr != want || want == "" {
		t.Errorf("weak password error %q, want the REST API's %q", weakErr, want)
	}
	if dupErr != "Email already registered" {
		t.Errorf("duplicate email error %q, want the REST API's %q", dupErr, "Email already registered")
	}

	run("sign up, sign out, sign in",
		fill("email", email), fill("password", pw),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
		chromedp.Navigate(e.URL+"/logout"),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		shot("login"),
		fill("email", email), fill("password", pw),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
		shot("account"),
	)

	run("profile settings",
		fill("full_name", "Ada King"),
		chromedp.Click(chromedp.ID("save-profile")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		into(&notice, chromedp.Text(chromedp.ID("notice"))),
		fill("current_password", "not my password"), fill("new_password", "another long passphrase"), fill("confirm_password", "another long passphrase"),
		chromedp.Click(chromedp.ID("change-password")),
		chromedp.WaitVisible(chromedp.ID("current_password-error")),
		into(&curErr, chromedp.Text(chromedp.ID("current_password-error"))),
		shot("account-errors"),
	)
	if notice != "Your profile was saved." {
		t.Errorf("profile notice %q", notice)
	}
	if curErr != "The current password is not correct." {
		t.Errorf("wrong current password error %q", curErr)
	}

	// A form whose CSRF token was removed is refused with the 403 page.
	run("CSRF missing",
		chromedp.Navigate(e.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=csrf_token]').forEach(function (i) { i.remove(); })`),
		chromedp.Click(chromedp.ID("save-profile")),
		chromedp.WaitVisible(chromedp.CSS("p.alert")),
		into(&csrfTitle, chromedp.Title()),
		shot("csrf-refused"),
	)
	if csrfTitle != "Request refused · Puguh" {
		t.Errorf("post without CSRF token: page %q, want the Request refused page", csrfTitle)
	}

	run("API Keys, Create New Key",
		chromedp.Navigate(e.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("tab-api-keys")),
		into(&tabText, chromedp.Text(chromedp.ID("tab-api-keys"))),
		chromedp.Click(chromedp.ID("tab-api-keys")),
		chromedp.WaitVisible(chromedp.ID("create-key")),
		into(&buttonText, chromedp.Text(chromedp.ID("create-key"))),
		shot("api-keys"),
		fill("key-name", "CI deploys"),
		chromedp.Click(chromedp.ID("create-key")),
		chromedp.WaitVisible(chromedp.ID("new-key")),
		chromedp.WaitVisible(chromedp.ID("copy-key")), // shown by copy.js
		into(&key, chromedp.Value(chromedp.ID("new-key"))),
		into(&keyOrg, chromedp.Text(chromedp.ID("key-org"))),
		into(&loc, chromedp.Location()),
		shot("api-key-created"),
		chromedp.Click(chromedp.ID("copy-key")),
		chromedp.Poll[chromedp.Void](`document.getElementById("copy-status").textContent !== "Select the key and copy it."`, chromedp.WithPollingTimeout(5*time.Second)),
		into(&copyStatus, chromedp.Text(chromedp.ID("copy-status"))),
	)
	if tabText != "API Keys" || buttonText != "Create New Key" {
		t.Errorf("tab %q and button %q, want the guide's words", tabText, buttonText)
	}
	if !strings.HasPrefix(key, "pgh_") || len(key) < 40 {
		t.Fatalf("key read from the page: %q", key)
	}
	if strings.Contains(loc, key) || strings.Contains(e.Logs(), key) {
		t.Errorf("the key leaked into the URL (%s) or the logs", loc)
	}
	if copyStatus == "" {
		t.Error("copy button did nothing")
	}

	health := func() (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/health", nil)
		req.Header.Set("X-API-Key", key)
		req.Header.Set("X-Organization-ID", keyOrg)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	status, body := health()
	principal, _ := body["principal"].(map[string]any)
	if status != http.StatusOK || principal == nil || principal["organization_id"] != keyOrg || principal["type"] != "api_key" {
		t.Fatalf("GET /api/v1/health with the new key: %d %v, want 200 with the key's principal", status, body)
	}

	var revokedNotice, listAfter string
	run("revoke",
		chromedp.Navigate(e.URL+"/account/api-keys"),
		chromedp.WaitVisible(chromedp.CSS(`#keys a[href$="/revoke"]`)),
		chromedp.Click(chromedp.CSS(`#keys a[href$="/revoke"]`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		shot("api-key-revoke"),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		into(&revokedNotice, chromedp.Text(chromedp.ID("notice"))),
		into(&listAfter, chromedp.Text(chromedp.CSS("main"))),
	)
	if !strings.Contains(revokedNotice, "revoked") || strings.Contains(listAfter, "CI deploys") {
		t.Errorf("after revoking: notice %q, page still lists the key: %v", revokedNotice, strings.Contains(listAfter, "CI deploys"))
	}
	if status, body := health(); status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/health with the revoked key: %d %v, want 401", status, body)
	}

	var clientID, secret string
	run("admin pages",
		chromedp.Navigate(e.URL+"/account/members"),
		chromedp.WaitVisible(chromedp.ID("add-member")),
		fill("member-email", existing.Email),
		chromedp.Click(chromedp.ID("add-member")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		shot("members"),
		chromedp.Click(chromedp.ID("tab-applications")),
		chromedp.WaitVisible(chromedp.ID("register-app")),
		fill("app-name", "Acme Dashboard"), fill("app-redirects", "https://app.example.com/callback"),
		chromedp.Click(chromedp.ID("register-app")),
		chromedp.WaitVisible(chromedp.ID("new-secret")),
		into(&clientID, chromedp.Text(chromedp.ID("created-client-id"))),
		into(&secret, chromedp.Value(chromedp.ID("new-secret"))),
		shot("applications"),
	)
	if clientID == "" || !strings.HasPrefix(secret, "pghs_") {
		t.Errorf("application created: client id %q, secret %.5q…", clientID, secret)
	}
	if strings.Contains(e.Logs(), secret) {
		t.Error("the client secret leaked into the logs")
	}
	for _, name := range shots {
		if fi, err := os.Stat(filepath.Join(artifacts, name)); err != nil || fi.Size() < 1000 {
			t.Errorf("screenshot %s missing or empty", name)
		}
	}
}
