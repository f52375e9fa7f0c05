package rest_test

import (
	"net/http"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// A trusted application skips consent for every user, so only a platform
// operator may mark one trusted; a tenant owner gets 403, on create and PATCH.
func TestOnlyOperatorsMarkApplicationsTrusted(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_PLATFORM_OPERATORS": "operator@example.com"}})
	owner := e.NewUser()
	operator := e.RegisterAndLogin("operator@example.com", "operator password 1", "Operator")
	body := map[string]any{"name": "Dashboard", "redirect_uris": []string{"https://app.example.com/cb"}, "trusted": true}
	const refused = `{"detail":"Only platform operators can mark an application trusted"}`

	r := e.Do(http.MethodPost, "/api/v1/applications", body, owner.Bearer()...)
	if r.Status != http.StatusForbidden || string(r.Body) != refused {
		t.Fatalf("owner creating a trusted app: %d %s", r.Status, r.Body)
	}
	r = e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Dashboard", "redirect_uris": []string{"https://app.example.com/cb"}}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("owner creating an untrusted app: %d %s", r.Status, r.Body)
	}
	var app struct {
		ID      string `json:"id"`
		Trusted bool   `json:"trusted"`
	}
	r.JSON(t, &app)
	r = e.Do(http.MethodPatch, "/api/v1/applications/"+app.ID, map[string]any{"trusted": true}, owner.Bearer()...)
	if r.Status != http.StatusForbidden || string(r.Body) != refused {
		t.Fatalf("owner patching trusted: %d %s", r.Status, r.Body)
	}
	r = e.Do(http.MethodPost, "/api/v1/applications", body, operator.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("operator creating a trusted app: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &app)
	if !app.Trusted {
		t.Fatalf("operator's app not trusted: %s", r.Body)
	}
}
