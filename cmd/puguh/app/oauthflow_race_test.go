package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// docs/security.md, "Token endpoint": concurrent redemption of one code gives exactly one
// success; every other request is invalid_grant — never a 5xx, which is what
// fosite reports when the storage's conditional update loses the race.
func TestConcurrentCodeRedemption(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		for round := 0; round < 3; round++ {
			code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid"), user))
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
				"client_secret": {app.Secret}, "redirect_uri": {app.RedirectURI}}.Encode()
			const n = 8
			statuses := make([]int, n)
			bodies := make([]string, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r := e.Do(http.MethodPost, "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded")
					statuses[i], bodies[i] = r.Status, string(r.Body)
				}(i)
			}
			wg.Wait()
			ok := 0
			for i, s := range statuses {
				switch {
				case s == http.StatusOK:
					ok++
				case s == http.StatusBadRequest && strings.Contains(bodies[i], `"error":"invalid_grant"`):
				default:
					t.Errorf("round %d request %d: %d %s", round, i, s, bodies[i])
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d successful redemptions of one code, want exactly 1 (%v)", round, ok, statuses)
			}
		}
	})
}
