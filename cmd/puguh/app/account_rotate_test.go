package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// The API Keys page rotates a key with the REST rules: the new key is shown
// once in the POST's answer, the old one works until the chosen overlap ends
// and is listed as replaced meanwhile (no second Rotate); "stops now" ends it
// at once; the list shows each key's age and flags keys 90 days old; the
// form needs its CSRF token.
func TestAccountAPIKeyRotate(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	u := e.NewUser()
	b := newBrowser(t, e)
	signIn(t, b, u.Email, u.Password)
	p := postForm(t, b, "/account/api-keys", "/account/api-keys", url.Values{"name": {"deploys"}, "expiry": {"90"}, "role": {"member"}})
	oldKey := newKeyInput.FindStringSubmatch(p.Body)[1]
	rotate := regexp.MustCompile(`action="/account/api-keys/([^/"]+)/rotate"`)
	list := b.get("/account/api-keys")
	id := rotate.FindStringSubmatch(list.Body)
	if id == nil || !strings.Contains(list.Body, "0 days") || strings.Contains(list.Body, `class="badge warning"`) {
		t.Fatalf("the list has no Rotate form, no age, or flags a new key:\n%.4000s", list.Body)
	}

	p = postForm(t, b, "/account/api-keys", "/account/api-keys/"+id[1]+"/rotate", url.Values{"overlap": {"1h"}})
	if p.Status != http.StatusCreated || p.Location != nil {
		t.Fatalf("rotate: %d %v", p.Status, p.Location)
	}
	m := newKeyInput.FindStringSubmatch(p.Body)
	if m == nil || m[1] == oldKey || !strings.Contains(p.Body, "the old key keeps working until") {
		t.Fatalf("no new key or no overlap note:\n%.4000s", p.Body)
	}
	newKey := m[1]
	for _, k := range []string{oldKey, newKey} {
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "X-API-Key", k, "X-Organization-ID", u.OrganizationID); r.Status != http.StatusOK {
			t.Fatalf("during the overlap: %d %s", r.Status, r.Body)
		}
	}
	list = b.get("/account/api-keys")
	if strings.Contains(list.Body, oldKey) || strings.Contains(list.Body, newKey) || !strings.Contains(list.Body, "replaced; works until") ||
		len(rotate.FindAllString(list.Body, -1)) != 1 {
		t.Fatalf("the list after rotating:\n%.4000s", list.Body)
	}
	if p := postForm(t, b, "/account/api-keys", "/account/api-keys/"+id[1]+"/rotate", url.Values{"overlap": {"1h"}}); p.Status != http.StatusConflict ||
		!strings.Contains(p.Body, "API key has already been rotated: rotate its replacement") {
		t.Fatalf("second rotation: %d %.2000s", p.Status, p.Body)
	}
	if p := postForm(t, b, "/account/api-keys", "/account/api-keys/"+id[1]+"/rotate", url.Values{"overlap": {"9d"}}); p.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.Body, "invalid duration: use a number with a unit, e.g. 24h, 90m or 0s") {
		t.Fatalf("a bad overlap: %d %.2000s", p.Status, p.Body)
	}

	// Compromised: the new key is rotated with "stops now".
	newID := rotate.FindStringSubmatch(list.Body)[1]
	p = postForm(t, b, "/account/api-keys", "/account/api-keys/"+newID+"/rotate", url.Values{"overlap": {"0s"}})
	if p.Status != http.StatusCreated || !strings.Contains(p.Body, "the old key has stopped working") {
		t.Fatalf("rotate now: %d\n%.3000s", p.Status, p.Body)
	}
	if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "X-API-Key", newKey, "X-Organization-ID", u.OrganizationID); r.Status != http.StatusUnauthorized {
		t.Fatalf("the compromised key: %d, want 401", r.Status)
	}

	// Old keys are flagged.
	db := e.App.Store().DB()
	if _, err := db.Exec(db.Rebind("UPDATE api_keys SET created_at = ? WHERE organization_id = ?"), time.Now().UTC().Add(-100*24*time.Hour), u.OrganizationID); err != nil {
		t.Fatal(err)
	}
	if list := b.get("/account/api-keys"); !strings.Contains(list.Body, `class="badge warning"`) || !strings.Contains(list.Body, "100 days") {
		t.Fatalf("no flag on a 100-day-old key:\n%.4000s", list.Body)
	}

	// No CSRF token, no rotation.
	r := b.post("/account/api-keys/"+newID+"/rotate", url.Values{"overlap": {"1h"}})
	if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "Request refused") {
		t.Fatalf("rotation without CSRF: %d %.1000s", r.Status, r.Body)
	}
}
