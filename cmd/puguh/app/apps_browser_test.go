package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// signIn signs the browser in through /login as u.
func (b *mailBrowser) signIn(e *apptest.Env, u *apptest.User) {
	b.t.Helper()
	b.run("sign in",
		chromedp.Navigate(e.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", u.Email), fillField("password", u.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("save-profile")),
	)
}

// TestBrowserApplicationSettingsAndServiceAccounts edits an application in
// Chromium (the guide's scopes, a refused redirect URI with the REST
// message, then a save), and walks the Service accounts tab (create with
// the secret shown once and its Copy button, a rotation, the delete
// confirmation), every page at desktop and phone width without horizontal
// overflow.
func TestBrowserApplicationSettingsAndServiceAccounts(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	r := e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Acme Dashboard with a rather long name",
		"redirect_uris": []string{"https://dashboard.acme.example/oauth/callback/with/a/long/path"}}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	var app struct{ ID string }
	r.JSON(t, &app)
	b.signIn(e, owner)

	var redirectErr, notice string
	b.run("application settings",
		chromedp.Navigate(e.URL+"/account/applications/"+app.ID),
		chromedp.WaitVisible(chromedp.ID("save-app")),
		b.shot("app-settings"),
		fillField("app-scopes", "openid offline_access read:user read:resources"),
		fillField("app-redirects", "http://dashboard.acme.example/cb"),
		chromedp.Click(chromedp.ID("save-app")),
		chromedp.WaitVisible(chromedp.ID("app-redirects-error")),
		textOf(&redirectErr, "app-redirects-error"),
		b.shot("app-settings-error"),
		fillField("app-redirects", "https://dashboard.acme.example/cb"),
		chromedp.Click(chromedp.ID("grant-client_credentials")),
		chromedp.Click(chromedp.ID("save-app")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		textOf(&notice, "notice"),
	)
	if want := "URL scheme must be https (http only for 127.0.0.1, [::1] or localhost)"; redirectErr != want {
		t.Errorf("redirect URI error %q, want the REST API's %q", redirectErr, want)
	}
	if notice != "The application was saved." {
		t.Errorf("notice %q", notice)
	}
	saved := getApplication(t, e, owner, app.ID)
	if !slices.Equal(saved.Scopes, []string{"openid", "offline_access", "read:user", "read:resources"}) ||
		!slices.Equal(saved.GrantTypes, []string{"authorization_code", "refresh_token", "client_credentials"}) {
		t.Fatalf("saved: %+v", saved)
	}

	var secret, copyStatus, rotatedNote, confirmText string
	b.run("service accounts",
		chromedp.Navigate(e.URL+"/account"),
		chromedp.WaitVisible(chromedp.ID("tab-service-accounts")),
		chromedp.Click(chromedp.ID("tab-service-accounts")),
		chromedp.WaitVisible(chromedp.ID("create-service-account")),
		b.shot("service-accounts-empty"),
		fillField("sa-name", "nightly billing export to the data warehouse"),
		chromedp.Click(chromedp.ID("create-service-account")),
		chromedp.WaitVisible(chromedp.ID("copy-secret")), // shown by copy.js
		storeInto(&secret, chromedp.Value(chromedp.ID("new-secret"))),
		b.shot("service-account-created"),
		chromedp.Click(chromedp.ID("copy-secret")),
		chromedp.Poll[chromedp.Void](`document.getElementById("copy-status").textContent !== "Select the secret and copy it."`),
		textOf(&copyStatus, "copy-status"),
		chromedp.Navigate(e.URL+"/account/service-accounts"),
		chromedp.WaitVisible(chromedp.ID("service-accounts")),
		b.shot("service-accounts"),
		chromedp.Click(chromedp.CSS(`#service-accounts button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("rotated-note")),
		textOf(&rotatedNote, "rotated-note"),
		b.shot("service-account-rotated"),
		chromedp.Navigate(e.URL+"/account/service-accounts"),
		chromedp.WaitVisible(chromedp.ID("service-accounts")),
		chromedp.Click(chromedp.CSS(`#service-accounts a.danger`)),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		b.shot("service-account-delete"),
		chromedp.Click(chromedp.ID("confirm")),
		chromedp.WaitVisible(chromedp.ID("no-service-accounts")),
		textOf(&confirmText, "notice"),
	)
	if len(secret) < 32 {
		t.Errorf("secret shown: %d characters", len(secret))
	}
	if copyStatus == "" || !strings.Contains(rotatedNote, "The previous secret keeps working until") ||
		confirmText != "The service account was deleted. Its secret, API keys and tokens no longer work." {
		t.Errorf("copy %q, rotated %q, deleted %q", copyStatus, rotatedNote, confirmText)
	}
}

// TestBrowserAPIDocs loads /docs/api in Chromium with no network but
// loopback (a dead proxy for everything else, no name resolution): every
// operation of the served OpenAPI document is rendered, with its summary;
// the page makes no request off this server and trips no
// Content-Security-Policy violation; "Try it out" calls this server; the page
// fits desktop and phone widths.
func TestBrowserAPIDocs(t *testing.T) {
	b := newMailBrowser(t, chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"))
	e := apptest.Start(t, apptest.Options{})

	// The operations the document names.
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	e.Do(http.MethodGet, "/api/v1/openapi.json", nil).JSON(t, &doc)
	ops, summaries := 0, []string{}
	for _, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains([]string{"get", "post", "put", "patch", "delete"}, method) {
				continue // the path's parameters
			}
			var op struct{ Summary string }
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			ops++
			if op.Summary != "" {
				summaries = append(summaries, op.Summary)
			}
		}
	}
	if ops < 40 {
		t.Fatalf("the document has %d operations", ops)
	}

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if req, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, req.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	var rendered int64
	var texts, violations []string
	var health string
	b.run("reference page",
		recordCSPViolations(),
		chromedp.Navigate(e.URL+"/docs/api"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#swagger-ui .opblock").length > 0`),
		storeInto(&rendered, chromedp.Evaluate[int64](`document.querySelectorAll("#swagger-ui .opblock").length`)),
		storeInto(&texts, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#swagger-ui .opblock-summary-description")).map(function (e) { return e.textContent; })`)),
		b.shot("api-docs"),
		// Try it out: GET /api/v1/health against this server.
		chromedp.Click(chromedp.CSS(`#operations-health-getHealth .opblock-summary-control`)),
		chromedp.WaitVisible(chromedp.CSS(`#operations-health-getHealth .try-out__btn`)),
		chromedp.Click(chromedp.CSS(`#operations-health-getHealth .try-out__btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#operations-health-getHealth .execute`)),
		chromedp.Click(chromedp.CSS(`#operations-health-getHealth .execute`)),
		chromedp.WaitVisible(chromedp.CSS(`#operations-health-getHealth .live-responses-table tbody .response-col_status`)),
		storeInto(&health, chromedp.Text(chromedp.CSS(`#operations-health-getHealth .live-responses-table tbody .response-col_status`))),
		b.shot("api-docs-try-it-out"),
		storeInto(&violations, chromedp.Evaluate[[]string](`window.__cspViolations`)),
	)
	if int(rendered) != ops {
		t.Errorf("rendered %d operations, the document has %d", rendered, ops)
	}
	for _, s := range summaries {
		if !slices.Contains(texts, s) {
			t.Errorf("summary %q is not on the page", s)
		}
	}
	if !strings.Contains(health, "200") {
		t.Errorf("Try it out on GET /api/v1/health: status cell %q", health)
	}
	if len(violations) > 0 {
		t.Errorf("Content-Security-Policy violations: %v", violations)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if !strings.HasPrefix(u, e.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, off this server", u)
		}
	}
	if !slices.Contains(requests, e.URL+"/docs/api/assets/swagger-ui-bundle.js") {
		t.Errorf("the bundle was not loaded from this server: %v", requests)
	}
}

// recordCSPViolations makes every page of the browser keep the
// Content-Security-Policy violations it trips in window.__cspViolations.
func recordCSPViolations() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});`})
		return err
	})
}

// storeInto runs a and keeps its result in dst.
func storeInto[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		*dst, err = a(ctx, tg)
		return err
	})
}
