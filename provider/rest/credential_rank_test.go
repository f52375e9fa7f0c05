package rest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// credential is one way of calling the REST API, with what the rules say it
// may do: a principal's rank and permissions are those of the credential
// itself (a user's role, a key's role or permissions, a service account's
// role), never those of whoever created it.
type credential struct {
	name    string
	headers []string
	user    bool // a person signed in with a Bearer token
	// grants are the roles it may hand out: the roles of members it adds or
	// changes, and of the service accounts and keys it creates.
	grants []string
	// perms are the permissions among those the table exercises that it holds.
	perms []string
}

func (c credential) holds(perm string) bool    { return slices.Contains(c.perms, perm) }
func (c credential) mayGrant(role string) bool { return slices.Contains(c.grants, role) }

var (
	allRoles   = []string{"owner", "admin", "member", "viewer"}
	belowOwner = []string{"admin", "member", "viewer"}
	tablePerms = []string{"organization.members.create", "organization.members.update", "service_accounts.create", "api_keys.create"}
	adminPerms = tablePerms
)

// TestCredentialsGrantNoMoreThanTheyHold tries every path that creates a
// member, a credential or a role change with every kind of credential and
// every role, and checks each answer against the rule: a credential may
// hand out a role only if its own rank outranks it and it holds every
// permission of that role itself; only people create credentials.
func TestCredentialsGrantNoMoreThanTheyHold(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		admin := joinAs(t, e, owner, "admin")
		member := joinAs(t, e, owner, "member")
		viewer := joinAs(t, e, owner, "viewer")
		key := func(u *apptest.User, body map[string]any) []string {
			return newAPIKey(t, e, u, body).headers()
		}
		adminSA := newServiceAccount(t, e, owner, "admin robot", "admin")
		memberSA := newServiceAccount(t, e, owner, "member robot", "member")
		adminSAKey := e.Do(http.MethodPost, "/api/v1/service-accounts/"+adminSA.ID+"/api-keys", map[string]string{"name": "robot key"}, actingIn(owner)...)
		if adminSAKey.Status != http.StatusCreated {
			t.Fatalf("service account key: %d %s", adminSAKey.Status, adminSAKey.Body)
		}
		var saKey struct {
			Key string `json:"key"`
		}
		adminSAKey.JSON(t, &saKey)
		memberPerms := []string{"api_keys.create"}
		creds := []credential{
			{"owner user", actingIn(owner), true, allRoles, adminPerms},
			{"admin user", actingIn(admin), true, belowOwner, adminPerms},
			{"member user", actingIn(member), true, []string{"member", "viewer"}, memberPerms},
			{"viewer user", actingIn(viewer), true, nil, nil},
			{"owner's key with role admin", key(owner, map[string]any{"name": "k", "role": "admin"}), false, belowOwner, adminPerms},
			{"owner's key with role member", key(owner, map[string]any{"name": "k", "role": "member"}), false, []string{"member", "viewer"}, memberPerms},
			{"owner's key without role or permissions", key(owner, map[string]any{"name": "k"}), false, allRoles, adminPerms},
			{"admin's key without role or permissions", key(admin, map[string]any{"name": "k"}), false, belowOwner, adminPerms},
			{"owner's key holding only service_accounts.create", key(owner, map[string]any{"name": "k",
				"permissions": []string{"service_accounts.create"}}), false, nil, []string{"service_accounts.create"}},
			{"owner's key holding members.create and a viewer's permissions", key(owner, map[string]any{"name": "k",
				"permissions": []string{"organization.members.create", "organization.read", "organization.members.read",
					"iam.users.read", "applications.read", "service_accounts.read"}}), false, []string{"viewer"},
				[]string{"organization.members.create"}},
			{"admin service account", bearer(clientCredentialsToken(t, e, adminSA)), false, belowOwner, adminPerms},
			{"member service account", bearer(clientCredentialsToken(t, e, memberSA)), false, []string{"member", "viewer"}, memberPerms},
			{"admin service account's key", []string{"X-API-Key", saKey.Key, "X-Organization-ID", owner.OrganizationID},
				false, belowOwner, adminPerms},
		}
		org := owner.OrganizationID
		cannot := func(role string) string { return `{"detail":"Cannot manage the ` + role + ` role"}` }
		for _, c := range creds {
			for _, role := range allRoles {
				t.Run(c.name+"/adds a member as "+role, func(t *testing.T) {
					newcomer := e.NewUser()
					r := at(t, e).Do(http.MethodPost, "/api/v1/organizations/"+org+"/members",
						map[string]string{"email": newcomer.Email, "role": role}, c.headers...)
					switch {
					case !c.holds("organization.members.create"):
						want(t, r, 403, missingPermission("organization.members.create"))
					case !c.mayGrant(role):
						want(t, r, 403, cannot(role))
					default:
						wantStatus(t, r, 201)
					}
				})
				t.Run(c.name+"/makes a member "+role, func(t *testing.T) {
					target := joinAs(t, e, owner, "viewer")
					r := at(t, e).Do(http.MethodPatch, "/api/v1/organizations/"+org+"/members/"+target.ID,
						map[string]string{"role": role}, c.headers...)
					switch {
					case !c.holds("organization.members.update"):
						want(t, r, 403, missingPermission("organization.members.update"))
					case !c.mayGrant("viewer"):
						want(t, r, 403, cannot("viewer"))
					case !c.mayGrant(role):
						want(t, r, 403, cannot(role))
					default:
						wantStatus(t, r, 200)
					}
				})
				t.Run(c.name+"/creates a service account as "+role, func(t *testing.T) {
					r := at(t, e).Do(http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": "made", "role": role}, c.headers...)
					switch {
					case !c.holds("service_accounts.create"):
						want(t, r, 403, missingPermission("service_accounts.create"))
					case !c.user:
						want(t, r, 403, `{"detail":"Only users can create service accounts"}`)
					case !c.mayGrant(role):
						want(t, r, 403, cannot(role))
					default:
						wantStatus(t, r, 201)
					}
				})
				t.Run(c.name+"/creates an API key as "+role, func(t *testing.T) {
					r := at(t, e).Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "made", "role": role}, c.headers...)
					switch {
					case !c.user:
						want(t, r, 403, `{"detail":"Only users can create API keys"}`)
					case !c.holds("api_keys.create"):
						want(t, r, 403, missingPermission("api_keys.create"))
					case !c.mayGrant(role):
						// The key would hold a permission its creator lacks:
						// the first one, in sorted order, is named.
						// An admin lacks only an owner's iam.users.disable; a
						// member lacks applications.create first.
						if c.holds("service_accounts.create") {
							want(t, r, 403, missingPermission("iam.users.disable"))
						} else {
							want(t, r, 403, missingPermission("applications.create"))
						}
					default:
						wantStatus(t, r, 201)
					}
				})
			}
		}
	})
}

// TestKeyCreatedServiceAccountCannotOutliveItsKey is the attack of the
// security review, step by step: an owner's API key holding only
// service_accounts.create tried to mint an owner service account whose token
// then added an outsider as owner, and kept that power after the key was
// revoked. Credentials are made by people only, so the first step fails.
func TestKeyCreatedServiceAccountCannotOutliveItsKey(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		k := newAPIKey(t, e, owner, map[string]any{"name": "automation", "permissions": []string{"service_accounts.create"}})
		r := e.Do(http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": "x", "role": "owner"}, k.headers()...)
		want(t, r, 403, `{"detail":"Only users can create service accounts"}`)
		r = e.Do(http.MethodGet, "/api/v1/service-accounts", nil, actingIn(owner)...)
		want(t, r, 200, `{"items":[]}`)

		// A key given the admin role acts as an admin, whoever made it.
		admin := newAPIKey(t, e, owner, map[string]any{"name": "admin key", "role": "admin"})
		outsider := e.NewUser()
		r = e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
			map[string]string{"email": outsider.Email, "role": "owner"}, admin.headers()...)
		want(t, r, 403, `{"detail":"Cannot manage the owner role"}`)
		r = e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, admin.headers()...)
		if m := object(t, r, "id", "type", "organization_id", "role", "permissions"); m["role"] != "admin" {
			t.Fatalf("the key's rank = %v, want admin: %s", m["role"], r.Body)
		}
	})
}

// TestKeysRevokeOnlyWhatTheirRankAllows: a key is not its creator. It may
// revoke itself, but its creator's other keys only with
// organization.members.delete, and never a key of a higher role.
func TestKeysRevokeOnlyWhatTheirRankAllows(t *testing.T) {
	t.Parallel()
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		admin := joinAs(t, e, owner, "admin")
		ownersKey := newAPIKey(t, e, owner, map[string]any{"name": "owner's"})
		sibling := newAPIKey(t, e, owner, map[string]any{"name": "sibling", "role": "member"})
		narrow := newAPIKey(t, e, owner, map[string]any{"name": "narrow", "permissions": []string{"api_keys.delete"}})
		adminsKey := newAPIKey(t, e, admin, map[string]any{"name": "admin's", "role": "admin"})

		r := e.Do(http.MethodDelete, "/api/v1/api-keys/"+sibling.ID, nil, narrow.headers()...)
		want(t, r, 403, missingPermission("organization.members.delete"))
		r = e.Do(http.MethodDelete, "/api/v1/api-keys/"+ownersKey.ID, nil, adminsKey.headers()...)
		want(t, r, 403, `{"detail":"Cannot manage the owner role"}`)
		r = e.Do(http.MethodDelete, "/api/v1/api-keys/"+ownersKey.ID, nil, actingIn(admin)...)
		want(t, r, 403, `{"detail":"Cannot manage the owner role"}`)
		r = e.Do(http.MethodDelete, "/api/v1/api-keys/"+sibling.ID, nil, adminsKey.headers()...)
		want(t, r, 204, "")
		r = e.Do(http.MethodDelete, "/api/v1/api-keys/"+narrow.ID, nil, narrow.headers()...)
		want(t, r, 204, "")
		want401Key(t, e.Do(http.MethodGet, "/api/v1/health", nil, narrow.headers()...))
	})
}

// wantStatus checks the status only, for answers whose body another test pins.
func wantStatus(t *testing.T, r *apptest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, strings.TrimSpace(string(r.Body)))
	}
}
