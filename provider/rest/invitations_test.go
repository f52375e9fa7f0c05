package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/orgs"
)

const (
	bodyInvalidInvitation  = `{"detail":"Invalid invitation link"}`
	bodyAcceptedInvitation = `{"detail":"This invitation was already accepted"}`
	bodyRevokedInvitation  = `{"detail":"This invitation was revoked"}`
	bodyExpiredInvitation  = `{"detail":"This invitation has expired: ask for a new one"}`
	bodyOtherAddress       = `{"detail":"This invitation is for another email address"}`
	bodyAlreadyMember      = `{"detail":"You are already a member of this organization"}`
	bodyPendingInvitation  = `{"detail":"An invitation to this email address is already pending"}`
	bodyNoInvitation       = `{"detail":"Invitation not found"}`
	bodyUserIsMember       = `{"detail":"User is already a member"}`
)

var invitationFields = []string{"id", "organization_id", "email", "role", "status", "invited_by_type", "invited_by_id", "created_at", "expires_at"}

// invite has u invite email to orgID with role and checks the 201.
func invite(t *testing.T, e *apptest.Env, u *apptest.User, orgID, email, role string) map[string]any {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/organizations/"+orgID+"/invitations", map[string]any{"email": email, "role": role}, u.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("invite %s: %d %s", email, r.Status, r.Body)
	}
	return object(t, r, invitationFields...)
}

// invitationToken reads the token of the (n+1)th invitation mailed to email.
func invitationToken(t *testing.T, e *apptest.Env, email string, n int) string {
	t.Helper()
	m := e.WaitMail(email, "invited you to", n)
	return strings.TrimPrefix(e.LinkIn(m, orgs.AcceptPath+"?token="), e.URL+orgs.AcceptPath+"?token=")
}

func accept(e *apptest.Env, u *apptest.User, token string) *apptest.Response {
	return e.Do(http.MethodPost, "/api/v1/invitations/accept", map[string]any{"token": token}, u.Bearer()...)
}

// TestInvitations: an owner invites addresses with and without accounts;
// the mailed link joins the invited account with the invited role, once;
// roles are capped by the inviter's; pending invitations are listed and
// revoked; every bad input has its exact answer; everything is audited.
func TestInvitations(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := e.NewUser()
		roomy(t, e, owner.OrganizationID)
		r := e.Do(http.MethodPost, "/api/v1/organizations", map[string]any{"name": "Acme"}, owner.Bearer()...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create organization: %d %s", r.Status, r.Body)
		}
		acme := wantUUID(t, "id", object(t, r, "id", "name", "plan", "personal", "role", "created_at")["id"])
		base := "/api/v1/organizations/" + acme + "/invitations"

		// Bad input.
		want(t, e.Do(http.MethodPost, base, map[string]any{}, owner.Bearer()...), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","email"],"msg":"field required","type":"value_error.missing"},{"loc":["body","role"],"msg":"field required","type":"value_error.missing"}]}`)
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": "nope", "role": "admin"}, owner.Bearer()...), http.StatusUnprocessableEntity,
			invalid("value is not a valid email address", "value_error.email", "body", "email"))
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": "x@example.com", "role": "god"}, owner.Bearer()...), http.StatusUnprocessableEntity,
			invalid("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", "body", "role"))
		want(t, e.Do(http.MethodPost, base, `{"email":"x@example.com","role":"admin"}`, append(owner.Bearer(), "Content-Type", "text/plain")...),
			http.StatusUnsupportedMediaType, body415)
		want(t, e.Do(http.MethodPost, base, `{"email":`, owner.Bearer()...), http.StatusUnprocessableEntity, bodyJSONDecode)
		want(t, e.Do(http.MethodPost, "/api/v1/organizations/not-a-uuid/invitations", map[string]any{"email": "x@example.com", "role": "admin"}, owner.Bearer()...),
			http.StatusUnprocessableEntity, invalid("value is not a valid uuid", "type_error.uuid", "path", "id"))
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": strings.ToUpper(owner.Email), "role": "admin"}, owner.Bearer()...),
			http.StatusConflict, bodyUserIsMember)
		stranger := e.NewUser()
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": "x@example.com", "role": "admin"}, stranger.Bearer()...),
			http.StatusForbidden, bodyNotMember)
		want(t, e.Do(http.MethodGet, base, nil, stranger.Bearer()...), http.StatusForbidden, bodyNotMember)

		// A new address, invited as admin, signs up and accepts.
		adminEmail := "Admin-" + owner.ID[:8] + "@Example.com"
		created := invite(t, e, owner, acme, adminEmail, "admin")
		if created["email"] != strings.ToLower(adminEmail) || created["role"] != "admin" || created["status"] != "pending" ||
			created["invited_by_type"] != "user" || created["invited_by_id"] != owner.ID || created["organization_id"] != acme {
			t.Fatalf("created %v", created)
		}
		exp, _ := time.Parse(time.RFC3339Nano, created["expires_at"].(string))
		at, _ := time.Parse(time.RFC3339Nano, created["created_at"].(string))
		if exp.Sub(at) != orgs.DefaultInvitationTTL {
			t.Fatalf("expires %v after creation, want 7 days", exp.Sub(at))
		}
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": adminEmail, "role": "member"}, owner.Bearer()...),
			http.StatusConflict, bodyPendingInvitation)
		mail := e.WaitMail(strings.ToLower(adminEmail), "invited you to Acme", 0)
		if !strings.Contains(mail.Text, "Test User invited you to join the organization Acme as") || !strings.Contains(mail.Text, "7 days") {
			t.Fatalf("mail:\n%s", mail.Text)
		}
		adminToken := invitationToken(t, e, strings.ToLower(adminEmail), 0)
		if strings.Contains(string(e.Do(http.MethodGet, base, nil, owner.Bearer()...).Body), adminToken) {
			t.Fatal("the token is in the listing")
		}

		admin := e.RegisterAndLogin(strings.ToLower(adminEmail), "admin password 123", "Ada Admin")
		want(t, e.Do(http.MethodPost, "/api/v1/invitations/accept", map[string]any{}, admin.Bearer()...), http.StatusUnprocessableEntity,
			invalid("field required", "value_error.missing", "body", "token"))
		want(t, e.Do(http.MethodPost, "/api/v1/invitations/accept", map[string]any{"token": 5}, admin.Bearer()...), http.StatusUnprocessableEntity,
			invalid("str type expected", "type_error.str", "body", "token"))
		want(t, accept(e, admin, "nope"), http.StatusBadRequest, bodyInvalidInvitation)
		want(t, accept(e, admin, strings.Repeat("x", 200)), http.StatusBadRequest, bodyInvalidInvitation)
		want401(t, e.Do(http.MethodPost, "/api/v1/invitations/accept", map[string]any{"token": adminToken}, "Authorization", "Bearer nope"))
		want(t, accept(e, stranger, adminToken), http.StatusForbidden, bodyOtherAddress)
		r = accept(e, admin, adminToken)
		if r.Status != http.StatusOK {
			t.Fatalf("accept: %d %s", r.Status, r.Body)
		}
		joined := object(t, r, "id", "name", "plan", "personal", "role", "created_at")
		if joined["id"] != acme || joined["role"] != "admin" || joined["name"] != "Acme" {
			t.Fatalf("joined %v", joined)
		}
		want(t, accept(e, admin, adminToken), http.StatusBadRequest, bodyAcceptedInvitation)
		if m := object(t, me(e, admin.AccessToken), "id", "type", "email", "full_name", "email_verified", "organization_id", "role",
			"permissions", "created_at"); m["email_verified"] != true {
			t.Fatalf("accepting did not confirm the address: %v", m)
		}
		var members struct {
			Items []struct{ UserID, Role string } `json:"items"`
		}
		e.Do(http.MethodGet, "/api/v1/organizations/"+acme+"/members", nil, owner.Bearer()...).JSON(t, &members)
		if len(members.Items) != 2 {
			t.Fatalf("members %+v", members.Items)
		}

		// The admin invites, capped by rank; an API key cannot accept.
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": "boss@example.com", "role": "owner"}, admin.Bearer()...),
			http.StatusForbidden, `{"detail":"Cannot manage the owner role"}`)
		viewerEmail := "viewer-" + owner.ID[:8] + "@example.com"
		invite(t, e, admin, acme, viewerEmail, "viewer")
		ownerInv := invite(t, e, owner, acme, "co-owner-"+owner.ID[:8]+"@example.com", "owner")
		want(t, e.Do(http.MethodDelete, base+"/"+ownerInv["id"].(string), nil, admin.Bearer()...), http.StatusForbidden,
			`{"detail":"Cannot manage the owner role"}`)
		key := newAPIKey(t, e, owner, map[string]any{"name": "k", "role": "admin"})
		want(t, e.Do(http.MethodPost, "/api/v1/invitations/accept", map[string]any{"token": "x"}, key.headers()...), http.StatusForbidden,
			`{"detail":"Only users can accept invitations"}`)

		// Listing pages through the pending ones, oldest first.
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		r = e.Do(http.MethodGet, base+"?limit=1", nil, owner.Bearer()...)
		r.JSON(t, &page)
		if r.Status != http.StatusOK || len(page.Items) != 1 || page.Items[0]["email"] != viewerEmail || page.NextCursor == "" {
			t.Fatalf("first page: %d %s", r.Status, r.Body)
		}
		second := page.NextCursor
		page.NextCursor = ""
		e.Do(http.MethodGet, base+"?limit=1&cursor="+second, nil, owner.Bearer()...).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0]["id"] != ownerInv["id"] || page.NextCursor != "" {
			t.Fatalf("second page: %+v", page)
		}
		want(t, e.Do(http.MethodGet, base+"?limit=0", nil, owner.Bearer()...), http.StatusUnprocessableEntity,
			invalid("ensure this value is greater than or equal to 1", "value_error.number.not_ge", "query", "limit"))
		want(t, e.Do(http.MethodGet, base+"?cursor=forged.x", nil, owner.Bearer()...), http.StatusBadRequest, bodyInvalidCursor)
		membersCursor := e.Do(http.MethodGet, "/api/v1/organizations/"+acme+"/members?limit=1", nil, owner.Bearer()...)
		var mp struct {
			NextCursor string `json:"next_cursor"`
		}
		membersCursor.JSON(t, &mp)
		want(t, e.Do(http.MethodGet, base+"?cursor="+mp.NextCursor, nil, owner.Bearer()...), http.StatusBadRequest, bodyInvalidCursor)

		// Revoking: the link stops working; unknown ids are 404.
		viewerToken := invitationToken(t, e, viewerEmail, 0)
		viewerID := page0ID(t, e, owner, base)
		want(t, e.Do(http.MethodDelete, base+"/not-a-uuid", nil, owner.Bearer()...), http.StatusUnprocessableEntity,
			invalid("value is not a valid uuid", "type_error.uuid", "path", "invitation_id"))
		want(t, e.Do(http.MethodDelete, base+"/"+owner.ID, nil, owner.Bearer()...), http.StatusNotFound, bodyNoInvitation)
		want(t, e.Do(http.MethodDelete, base+"/"+viewerID, nil, owner.Bearer()...), http.StatusNoContent, "")
		want(t, e.Do(http.MethodDelete, base+"/"+viewerID, nil, owner.Bearer()...), http.StatusNotFound, bodyNoInvitation)
		viewer := e.RegisterAndLogin(viewerEmail, "viewer password 123", "Vic Viewer")
		want(t, accept(e, viewer, viewerToken), http.StatusBadRequest, bodyRevokedInvitation)
		want(t, e.Do(http.MethodGet, base, nil, viewer.Bearer()...), http.StatusForbidden, bodyNotMember)

		// Expired, and already a member by the time the link is used.
		invite(t, e, owner, acme, viewerEmail, "member")
		exec(t, e, "UPDATE invitations SET expires_at = ? WHERE email = ? AND status = 'pending'", time.Now().Add(-time.Minute).UTC(), viewerEmail)
		want(t, accept(e, viewer, invitationToken(t, e, viewerEmail, 1)), http.StatusBadRequest, bodyExpiredInvitation)
		invite(t, e, owner, acme, viewerEmail, "member") // the expired one makes way
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+acme+"/members", map[string]any{"email": viewerEmail, "role": "viewer"},
			owner.Bearer()...); r.Status != http.StatusCreated {
			t.Fatalf("add member: %d %s", r.Status, r.Body)
		}
		want(t, accept(e, viewer, invitationToken(t, e, viewerEmail, 2)), http.StatusConflict, bodyAlreadyMember)
		want(t, e.Do(http.MethodPost, base, map[string]any{"email": viewerEmail, "role": "member"}, owner.Bearer()...),
			http.StatusConflict, bodyUserIsMember)

		// The audit log has the invitations' lives, with no token.
		var events struct {
			Items []struct {
				Type      string            `json:"type"`
				ActorID   string            `json:"actor_id"`
				SubjectID string            `json:"subject_id"`
				Details   map[string]string `json:"details"`
			} `json:"items"`
		}
		r = e.Do(http.MethodGet, "/api/v1/audit-events?type=invitation.created&type=invitation.accepted&type=invitation.revoked&type=member.added",
			nil, append(owner.Bearer(), "X-Organization-ID", acme)...)
		r.JSON(t, &events)
		count := map[string]int{}
		for _, ev := range events.Items {
			count[ev.Type]++
			if ev.Type == "invitation.accepted" && (ev.ActorID != admin.ID || ev.SubjectID != created["id"] || ev.Details["role"] != "admin") {
				t.Fatalf("accepted event %+v", ev)
			}
		}
		if count["invitation.created"] != 5 || count["invitation.accepted"] != 1 || count["invitation.revoked"] != 1 || count["member.added"] != 2 {
			t.Fatalf("events %v: %s", count, r.Body)
		}
		for _, tok := range []string{adminToken, viewerToken} {
			if strings.Contains(string(r.Body), tok) {
				t.Fatal("a token is in the audit log")
			}
		}
	})
}

// TestInvitationBudget: one address is invited at most 5 times an hour,
// whichever organization invites it, so nobody makes Puguh mail a stranger
// over and over.
func TestInvitationBudget(t *testing.T) {
	e := start(t, apptest.Options{})
	owner := e.NewUser()
	base := "/api/v1/organizations/" + owner.OrganizationID + "/invitations"
	target := "target-" + owner.ID[:8] + "@example.com"
	for range 5 {
		inv := invite(t, e, owner, owner.OrganizationID, target, "viewer")
		want(t, e.Do(http.MethodDelete, base+"/"+inv["id"].(string), nil, owner.Bearer()...), http.StatusNoContent, "")
	}
	r := e.Do(http.MethodPost, base, map[string]any{"email": target, "role": "viewer"}, owner.Bearer()...)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(string(r.Body), `{"detail":"Rate limit exceeded. Retry after `) {
		t.Fatalf("the sixth invitation: %d %v %s", r.Status, r.Header, r.Body)
	}
	other := e.NewUser()
	if r := e.Do(http.MethodPost, "/api/v1/organizations/"+other.OrganizationID+"/invitations", map[string]any{"email": target, "role": "viewer"},
		other.Bearer()...); r.Status != http.StatusTooManyRequests {
		t.Fatalf("another organization, the same address: %d %s", r.Status, r.Body)
	}
	invite(t, e, other, other.OrganizationID, "someone-else-"+owner.ID[:8]+"@example.com", "viewer")
}

// page0ID returns the id of the oldest pending invitation listed at base.
func page0ID(t *testing.T, e *apptest.Env, u *apptest.User, base string) string {
	t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.Do(http.MethodGet, base, nil, u.Bearer()...).JSON(t, &page)
	if len(page.Items) == 0 {
		t.Fatal("no pending invitation")
	}
	return page.Items[0].ID
}
