package rest_test

import (
	"net/http"
	"testing"

	"github.com/arsaka/puguh/app/apptest"
)

// An API key acts with at most its owner's rank: an owner's key that holds
// organization.members.create may add a member (it used to get 403 "Cannot
// manage the member role" because keys have no role of their own).
func TestAPIKeyManagesRolesWithItsOwnersRank(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner, invitee := e.NewUser(), e.NewUser()
	r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]any{"name": "ops", "permissions": []string{"organization.members.create", "organization.read"}}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k struct {
		Key string `json:"key"`
	}
	r.JSON(t, &k)
	h := []string{"X-API-Key", k.Key, "X-Organization-ID", owner.OrganizationID}
	r = e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members", map[string]string{"email": invitee.Email, "role": "member"}, h...)
	if r.Status != http.StatusCreated {
		t.Fatalf("owner's key adding a member: %d %s", r.Status, r.Body)
	}
}
