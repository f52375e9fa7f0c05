package rest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

const orgHeader = "X-Organization-ID"

// newOrg creates an organization owned by u and moves it to a roomy plan.
func newOrg(t *testing.T, e *apptest.Env, u *apptest.User, name string) string {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/organizations", map[string]string{"name": name}, u.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", r.Status, r.Body)
	}
	m := object(t, r, "id", "name", "plan", "personal", "role", "created_at")
	if m["name"] != name || m["plan"] != "free" || m["personal"] != false || m["role"] != "owner" {
		t.Fatalf("created organization: %s", r.Body)
	}
	id := wantUUID(t, "id", m["id"])
	roomy(t, e, id)
	return id
}

// addMemberAs adds who to org with role, as actor.
func addMemberAs(t *testing.T, e *apptest.Env, actor *apptest.User, org string, who *apptest.User, role string) {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/organizations/"+org+"/members", map[string]string{"email": who.Email, "role": role}, actor.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("add %s as %s: %d %s", who.Email, role, r.Status, r.Body)
	}
	m := object(t, r, "user_id", "email", "full_name", "role", "created_at")
	if m["user_id"] != who.ID || m["email"] != who.Email || m["role"] != role || m["full_name"] != "Test User" {
		t.Fatalf("added member: %s", r.Body)
	}
}

type page struct {
	Items []struct {
		UserID string `json:"user_id"`
		Email  string `json:"email"`
		Role   string `json:"role"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestOrganizations(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		t.Run("create, list, get", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			owner, stranger := e.NewUser(), e.NewUser()
			acme := newOrg(t, e, owner, "Acme")

			r := e.Do(http.MethodGet, "/api/v1/organizations", nil, owner.Bearer()...)
			var list struct {
				Items []map[string]any `json:"items"`
			}
			object(t, r, "items")
			r.JSON(t, &list)
			if len(list.Items) != 2 || list.Items[0]["id"] == list.Items[1]["id"] {
				t.Fatalf("owner's organizations: %s", r.Body)
			}
			for _, o := range list.Items {
				if (o["id"] != acme && o["id"] != owner.OrganizationID) || o["role"] != "owner" || o["personal"] != (o["id"] == owner.OrganizationID) {
					t.Fatalf("owner's organizations: %s", r.Body)
				}
			}
			r = e.Do(http.MethodGet, "/api/v1/organizations/"+acme, nil, owner.Bearer()...)
			if m := object(t, r, "id", "name", "plan", "personal", "role", "created_at"); r.Status != http.StatusOK || m["id"] != acme || m["role"] != "owner" {
				t.Fatalf("get: %d %s", r.Status, r.Body)
			}
			r = e.Do(http.MethodGet, "/api/v1/organizations/"+strings.ToUpper(acme), nil, owner.Bearer()...)
			if r.Status != http.StatusOK {
				t.Fatalf("upper-case id: %d %s", r.Status, r.Body)
			}

			want(t, e.Do(http.MethodGet, "/api/v1/organizations/"+acme, nil, stranger.Bearer()...), http.StatusForbidden, bodyNotMember)
			want(t, e.Do(http.MethodGet, "/api/v1/organizations/"+uuid.NewString(), nil, owner.Bearer()...), http.StatusNotFound, bodyOrgNotFound)
			want(t, e.Do(http.MethodGet, "/api/v1/organizations/not-a-uuid", nil, owner.Bearer()...), http.StatusUnprocessableEntity,
				invalid("value is not a valid uuid", "type_error.uuid", "path", "id"))
			r = e.Do(http.MethodGet, "/api/v1/organizations", nil, stranger.Bearer()...)
			if strings.Contains(string(r.Body), acme) {
				t.Fatalf("a stranger sees the organization: %s", r.Body)
			}

			for _, tc := range []struct{ name, body, ct, want string }{
				{"name missing", `{}`, "application/json", invalid("field required", "value_error.missing", "body", "name")},
				{"name empty", `{"name":""}`, "application/json", invalid("ensure this value has at least 1 characters", "value_error.any_str.min_length", "body", "name")},
				{"name too long", `{"name":"` + strings.Repeat("n", 201) + `"}`, "application/json", invalid("ensure this value has at most 200 characters", "value_error.any_str.max_length", "body", "name")},
				{"malformed JSON", `{"name":`, "application/json", bodyJSONDecode},
				{"wrong content type", `{"name":"x"}`, "text/plain", body415},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := at(t, e).Do(http.MethodPost, "/api/v1/organizations", tc.body, append(owner.Bearer(), "Content-Type", tc.ct)...)
					status := http.StatusUnprocessableEntity
					if tc.want == body415 {
						status = http.StatusUnsupportedMediaType
					}
					want(t, r, status, tc.want)
				})
			}
		})

		t.Run("members and permissions", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			owner, admin, member, viewer, outsider := e.NewUser(), e.NewUser(), e.NewUser(), e.NewUser(), e.NewUser()
			org := newOrg(t, e, owner, "Members Inc")
			members := "/api/v1/organizations/" + org + "/members"
			addMemberAs(t, e, owner, org, admin, "admin")
			addMemberAs(t, e, owner, org, member, "member")
			addMemberAs(t, e, owner, org, viewer, "viewer")

			add := func(actor *apptest.User, body string) *apptest.Response {
				return e.Do(http.MethodPost, members, body, actor.Bearer()...)
			}
			want(t, add(owner, `{"email":"`+member.Email+`","role":"viewer"}`), http.StatusConflict, `{"detail":"User is already a member"}`)
			want(t, add(owner, `{"email":"nobody-`+org[:8]+`@example.com","role":"viewer"}`), http.StatusNotFound, `{"detail":"No user with this email address"}`)
			want(t, add(owner, `{"email":"nobody","role":"viewer"}`), http.StatusUnprocessableEntity,
				invalid("value is not a valid email address", "value_error.email", "body", "email"))
			want(t, add(owner, `{"email":"`+outsider.Email+`","role":"superuser"}`), http.StatusUnprocessableEntity,
				invalid("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", "body", "role"))
			want(t, add(owner, `{"email":"`+outsider.Email+`"}`), http.StatusUnprocessableEntity,
				invalid("field required", "value_error.missing", "body", "role"))

			r := e.Do(http.MethodGet, members, nil, viewer.Bearer()...)
			var p page
			r.JSON(t, &p)
			if r.Status != http.StatusOK || len(p.Items) != 4 {
				t.Fatalf("viewer lists members: %d %s", r.Status, r.Body)
			}

			// Viewers and members lack the write permissions; outsiders are not members.
			for _, tc := range []struct {
				who  *apptest.User
				want func(perm string) string
			}{
				{viewer, missingPermission},
				{member, missingPermission},
				{outsider, func(string) string { return bodyNotMember }},
			} {
				want(t, add(tc.who, `{"email":"`+outsider.Email+`","role":"viewer"}`), http.StatusForbidden, tc.want("organization.members.create"))
				want(t, e.Do(http.MethodPatch, members+"/"+viewer.ID, `{"role":"member"}`, tc.who.Bearer()...), http.StatusForbidden, tc.want("organization.members.update"))
				want(t, e.Do(http.MethodDelete, members+"/"+viewer.ID, nil, tc.who.Bearer()...), http.StatusForbidden, tc.want("organization.members.delete"))
			}
			want(t, e.Do(http.MethodGet, members, nil, outsider.Bearer()...), http.StatusForbidden, bodyNotMember)

			// Admins manage members, but not owners.
			ownerRole := `{"detail":"Cannot manage the owner role"}`
			want(t, add(admin, `{"email":"`+outsider.Email+`","role":"owner"}`), http.StatusForbidden, ownerRole)
			want(t, e.Do(http.MethodPatch, members+"/"+owner.ID, `{"role":"member"}`, admin.Bearer()...), http.StatusForbidden, ownerRole)
			want(t, e.Do(http.MethodDelete, members+"/"+owner.ID, nil, admin.Bearer()...), http.StatusForbidden, ownerRole)
			r = e.Do(http.MethodPatch, members+"/"+member.ID, `{"role":"viewer"}`, admin.Bearer()...)
			if m := object(t, r, "user_id", "email", "full_name", "role", "created_at"); r.Status != http.StatusOK || m["role"] != "viewer" {
				t.Fatalf("admin demotes member: %d %s", r.Status, r.Body)
			}
			// The change applies at once on this replica.
			r = e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, append(member.Bearer(), orgHeader, org)...)
			if m := object(t, r, "id", "type", "email", "full_name", "email_verified", "organization_id", "role", "permissions", "created_at"); m["role"] != "viewer" {
				t.Fatalf("demoted member: %s", r.Body)
			}
			want(t, e.Do(http.MethodPatch, members+"/"+uuid.NewString(), `{"role":"viewer"}`, owner.Bearer()...), http.StatusNotFound, `{"detail":"Member not found"}`)
			want(t, e.Do(http.MethodDelete, members+"/"+outsider.ID, nil, owner.Bearer()...), http.StatusNotFound, `{"detail":"Member not found"}`)
			want(t, e.Do(http.MethodPatch, members+"/nope", `{"role":"viewer"}`, owner.Bearer()...), http.StatusUnprocessableEntity,
				invalid("value is not a valid uuid", "type_error.uuid", "path", "user_id"))

			// The last owner cannot leave or step down.
			want(t, e.Do(http.MethodDelete, members+"/"+owner.ID, nil, owner.Bearer()...), http.StatusConflict, bodyLastOwner)
			want(t, e.Do(http.MethodPatch, members+"/"+owner.ID, `{"role":"admin"}`, owner.Bearer()...), http.StatusConflict, bodyLastOwner)
			// With a second owner, the first may go.
			r = e.Do(http.MethodPatch, members+"/"+admin.ID, `{"role":"owner"}`, owner.Bearer()...)
			if r.Status != http.StatusOK {
				t.Fatalf("promote to owner: %d %s", r.Status, r.Body)
			}
			want(t, e.Do(http.MethodDelete, members+"/"+owner.ID, nil, owner.Bearer()...), http.StatusNoContent, "")
			want(t, e.Do(http.MethodGet, "/api/v1/organizations/"+org, nil, owner.Bearer()...), http.StatusForbidden, bodyNotMember)
			want(t, e.Do(http.MethodDelete, members+"/"+admin.ID, nil, admin.Bearer()...), http.StatusConflict, bodyLastOwner)
			// A removed member loses access at once.
			want(t, e.Do(http.MethodDelete, members+"/"+member.ID, nil, admin.Bearer()...), http.StatusNoContent, "")
			want(t, e.Do(http.MethodGet, "/api/v1/iam/users", nil, append(member.Bearer(), orgHeader, org)...), http.StatusForbidden, bodyNotMember)
		})

		t.Run("X-Organization-ID", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			owner, u, stranger := e.NewUser(), e.NewUser(), e.NewUser()
			org := newOrg(t, e, owner, "Header Ltd")
			addMemberAs(t, e, owner, org, u, "member")
			for _, tc := range []struct {
				name, header string
				status       int
				want         string
			}{
				{"selects an organization", org, http.StatusOK, org},
				{"upper case", strings.ToUpper(org), http.StatusOK, org},
				{"absent: the token's (personal) organization", "", http.StatusOK, u.OrganizationID},
				{"non-member", stranger.OrganizationID, http.StatusForbidden, bodyNotMember},
				{"unknown", uuid.NewString(), http.StatusNotFound, bodyOrgNotFound},
				{"malformed", "acme", http.StatusUnprocessableEntity,
					`{"detail":[{"loc":["header","X-Organization-ID"],"msg":"value is not a valid uuid","type":"type_error.uuid"}]}`},
				{"braced", "{" + org + "}", http.StatusUnprocessableEntity,
					invalid("value is not a valid uuid", "type_error.uuid", "header", "X-Organization-ID")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e := at(t, e)
					headers := u.Bearer()
					if tc.header != "" {
						headers = append(headers, orgHeader, tc.header)
					}
					r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, headers...)
					if tc.status != http.StatusOK {
						want(t, r, tc.status, tc.want)
						return
					}
					m := object(t, r, "id", "type", "email", "full_name", "email_verified", "organization_id", "role", "permissions", "created_at")
					wantRole := map[bool]string{true: "member", false: "owner"}[tc.want == org]
					if r.Status != http.StatusOK || m["organization_id"] != tc.want || m["role"] != wantRole || m["id"] != u.ID || m["type"] != "user" {
						t.Fatalf("%d %s", r.Status, r.Body)
					}
				})
			}
		})

		t.Run("the organization a login acts in", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			a, b := e.NewUser(), e.NewUser()
			roomy(t, e, a.OrganizationID)
			login := func(u *apptest.User) map[string]any {
				t.Helper()
				e.Login(u)
				return object(t, me(e, u.AccessToken), "id", "type", "email", "full_name", "email_verified", "organization_id", "role", "permissions", "created_at")
			}
			// B joins A's personal organization, which is older than B's own:
			// B still signs in to B's own.
			addMemberAs(t, e, a, a.OrganizationID, b, "owner")
			if m := login(b); m["organization_id"] != b.OrganizationID || m["role"] != "owner" {
				t.Fatalf("B signs in to %v as %v, want B's personal organization %s", m["organization_id"], m["role"], b.OrganizationID)
			}
			// A leaves A's only organization; signing in gives A a new personal one.
			want(t, e.Do(http.MethodDelete, "/api/v1/organizations/"+a.OrganizationID+"/members/"+a.ID, nil, a.Bearer()...), http.StatusNoContent, "")
			m := login(a)
			if m["organization_id"] == a.OrganizationID || m["role"] != "owner" {
				t.Fatalf("A after leaving every organization: %v", m)
			}
			r := e.Do(http.MethodGet, "/api/v1/organizations", nil, a.Bearer()...)
			var list struct {
				Items []map[string]any `json:"items"`
			}
			r.JSON(t, &list)
			if len(list.Items) != 1 || list.Items[0]["id"] != m["organization_id"] || list.Items[0]["personal"] != true {
				t.Fatalf("A's organizations: %s", r.Body)
			}
		})

		// docs/security.md, "Tenant isolation": A's token naming B's organization is 403 on
		// every endpoint, whether in X-Organization-ID or in the path.
		t.Run("tenant isolation", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			a, b := e.NewUser(), e.NewUser()
			roomy(t, e, b.OrganizationID)
			bOrg := "/api/v1/organizations/" + b.OrganizationID
			endpoints := []struct{ method, path, body string }{
				{http.MethodGet, "/api/v1/organizations", ""},
				{http.MethodPost, "/api/v1/organizations", `{"name":"Mine now"}`},
				{http.MethodGet, bOrg, ""},
				{http.MethodGet, "/api/v1/organizations/" + a.OrganizationID, ""},
				{http.MethodGet, bOrg + "/members", ""},
				{http.MethodPost, bOrg + "/members", `{"email":"` + a.Email + `","role":"owner"}`},
				{http.MethodPatch, bOrg + "/members/" + b.ID, `{"role":"viewer"}`},
				{http.MethodDelete, bOrg + "/members/" + b.ID, ""},
				{http.MethodGet, "/api/v1/iam/users", ""},
				{http.MethodGet, "/api/v1/iam/users?limit=1", ""},
				{http.MethodGet, "/api/v1/iam/users/me", ""},
				{http.MethodPost, "/api/v1/auth/logout", ""},
			}
			for _, ep := range endpoints {
				var body any
				if ep.body != "" {
					body = ep.body
				}
				r := e.Do(ep.method, ep.path, body, append(a.Bearer(), orgHeader, b.OrganizationID)...)
				if r.Status != http.StatusForbidden || string(r.Body) != bodyNotMember {
					t.Errorf("%s %s with X-Organization-ID of B: %d %s", ep.method, ep.path, r.Status, r.Body)
				}
				if strings.HasPrefix(ep.path, bOrg) { // and with B only in the path
					r = e.Do(ep.method, ep.path, body, a.Bearer()...)
					if r.Status != http.StatusForbidden || string(r.Body) != bodyNotMember {
						t.Errorf("%s %s: %d %s", ep.method, ep.path, r.Status, r.Body)
					}
				}
			}
			// Nothing changed in B, and A's session was not logged out.
			r := e.Do(http.MethodGet, bOrg+"/members", nil, b.Bearer()...)
			var p page
			r.JSON(t, &p)
			if len(p.Items) != 1 || p.Items[0].UserID != b.ID || p.Items[0].Role != "owner" {
				t.Fatalf("B's members: %s", r.Body)
			}
			if r := me(e, a.AccessToken); r.Status != http.StatusOK {
				t.Fatalf("A's token: %d %s", r.Status, r.Body)
			}
		})

		t.Run("paging", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			owner := e.NewUser()
			roomy(t, e, owner.OrganizationID)
			org := newOrg(t, e, owner, "Pages")
			memberIDs := map[string]bool{owner.ID: true}
			for range 5 {
				u := e.NewUser()
				addMemberAs(t, e, owner, org, u, "viewer")
				memberIDs[u.ID] = true
			}
			inOrg := append(owner.Bearer(), orgHeader, org)
			for _, base := range []string{"/api/v1/iam/users", "/api/v1/organizations/" + org + "/members"} {
				seen := map[string]bool{}
				var sizes []int
				var cursor string
				for i := 0; i < 10; i++ { // bounded: 3 pages expected
					q := url.Values{"limit": {"2"}}
					if cursor != "" {
						q.Set("cursor", cursor)
					}
					r := e.Do(http.MethodGet, base+"?"+q.Encode(), nil, inOrg...)
					var p page
					r.JSON(t, &p)
					if r.Status != http.StatusOK {
						t.Fatalf("%s: %d %s", base, r.Status, r.Body)
					}
					sizes = append(sizes, len(p.Items))
					for _, it := range p.Items {
						if seen[it.UserID] || !memberIDs[it.UserID] {
							t.Fatalf("%s: user %s repeated or foreign", base, it.UserID)
						}
						seen[it.UserID] = true
					}
					if p.NextCursor == nil {
						object(t, r, "items") // no next_cursor key on the last page
						break
					}
					cursor = *p.NextCursor
				}
				if len(seen) != 6 || len(sizes) != 3 || sizes[0] != 2 || sizes[1] != 2 || sizes[2] != 2 {
					t.Fatalf("%s: pages %v, %d users", base, sizes, len(seen))
				}
			}
			r := e.Do(http.MethodGet, "/api/v1/iam/users", nil, inOrg...)
			var all page
			r.JSON(t, &all)
			if len(all.Items) != 6 || all.NextCursor != nil {
				t.Fatalf("default limit: %s", r.Body)
			}

			r = e.Do(http.MethodGet, "/api/v1/iam/users?limit=1", nil, inOrg...)
			var first page
			r.JSON(t, &first)
			if first.NextCursor == nil {
				t.Fatalf("no cursor: %s", r.Body)
			}
			valid := *first.NextCursor
			body, sig, _ := strings.Cut(valid, ".")
			flipped := []byte(sig)
			flipped[0] ^= 1
			if flipped[0] == '.' {
				flipped[0] = 'A'
			}
			for _, tc := range []struct{ name, cursor string }{
				{"garbage", "abc"},
				{"unsigned position", base64.RawURLEncoding.EncodeToString([]byte(owner.ID))},
				{"signature altered", body + "." + string(flipped)},
				{"position altered", base64.RawURLEncoding.EncodeToString([]byte(uuid.NewString())) + "." + sig},
				{"SQL in the position", base64.RawURLEncoding.EncodeToString([]byte("' OR '1'='1")) + "." + sig},
				{"too long", strings.Repeat("A", 600) + "." + sig},
			} {
				r := e.Do(http.MethodGet, "/api/v1/iam/users?cursor="+url.QueryEscape(tc.cursor), nil, inOrg...)
				t.Run("cursor "+tc.name, func(t *testing.T) { want(t, r, http.StatusBadRequest, bodyInvalidCursor) })
			}
			// A genuine cursor of one organization is forged in another.
			r = e.Do(http.MethodGet, "/api/v1/iam/users?cursor="+url.QueryEscape(valid), nil, owner.Bearer()...)
			t.Run("cursor of another organization", func(t *testing.T) { want(t, r, http.StatusBadRequest, bodyInvalidCursor) })

			for _, tc := range []struct{ limit, msg, typ string }{
				{"0", "ensure this value is greater than or equal to 1", "value_error.number.not_ge"},
				{"-1", "ensure this value is greater than or equal to 1", "value_error.number.not_ge"},
				{"101", "ensure this value is less than or equal to 100", "value_error.number.not_le"},
				{"abc", "value is not a valid integer", "type_error.integer"},
				{"1.5", "value is not a valid integer", "type_error.integer"},
			} {
				r := e.Do(http.MethodGet, "/api/v1/iam/users?limit="+tc.limit, nil, inOrg...)
				t.Run("limit "+tc.limit, func(t *testing.T) {
					want(t, r, http.StatusUnprocessableEntity, invalid(tc.msg, tc.typ, "query", "limit"))
				})
			}
		})
	})
}
