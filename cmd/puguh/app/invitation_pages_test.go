package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/orgs"
)

// The invitation pages over HTTP, on SQLite and PostgreSQL: the members
// page invites (CSRF required, roles capped) and revokes; the link's page
// offers what fits the browser (sign in, sign up, join, or "another
// account"), joining needs the form's POST and the invited account, and a
// dead link says why.
func TestInvitationPages(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		owner, admin, existing := e.NewUser(), e.NewUser(), e.NewUser()
		addMember(t, e, owner, admin, "admin")
		ob := newBrowser(t, e)
		signIn(t, ob, owner.Email, owner.Password)

		// Inviting from the members page.
		if p := ob.post("/account/invitations", url.Values{"email": {existing.Email}, "role": {"member"}}); p.Status != http.StatusForbidden ||
			!strings.Contains(p.Body, "Request refused") {
			t.Fatalf("invite without CSRF: %d", p.Status)
		}
		p := postForm(t, ob, "/account/members", "/account/invitations", url.Values{"email": {"nope"}, "role": {"member"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="invite-email-error">value is not a valid email address<`) {
			t.Fatalf("bad address: %d\n%.2000s", p.Status, p.Body)
		}
		p = postForm(t, ob, "/account/members", "/account/invitations", url.Values{"email": {owner.Email}, "role": {"member"}})
		if p.Status != http.StatusConflict || !strings.Contains(p.Body, "User is already a member") {
			t.Fatalf("a member: %d", p.Status)
		}
		p = postForm(t, ob, "/account/members", "/account/invitations", url.Values{"email": {existing.Email}, "role": {"member"}})
		if p.Status != http.StatusSeeOther || p.Location.RequestURI() != "/account/members?done=invitation-sent" {
			t.Fatalf("invite: %d %v\n%.1000s", p.Status, p.Location, p.Body)
		}
		newcomer := "newcomer-" + owner.ID[:8] + "@example.com"
		postForm(t, ob, "/account/members", "/account/invitations", url.Values{"email": {newcomer}, "role": {"owner"}})
		if p := ob.get("/account/members"); !strings.Contains(p.Body, existing.Email) || !strings.Contains(p.Body, newcomer) ||
			strings.Count(p.Body, `aria-label="Revoke the invitation of`) != 2 {
			t.Fatalf("pending invitations:\n%.4000s", p.Body)
		}

		// An admin cannot invite an owner, nor revoke an owner's invitation.
		ab := newBrowser(t, e)
		signIn(t, ab, admin.Email, admin.Password)
		postForm(t, ab, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}})
		p = postForm(t, ab, "/account/members", "/account/invitations", url.Values{"email": {"boss@example.com"}, "role": {"owner"}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, `id="invite-role-error">Cannot manage the owner role<`) {
			t.Fatalf("admin invites an owner: %d", p.Status)
		}
		if strings.Count(ab.get("/account/members").Body, `aria-label="Revoke the invitation of`) != 1 {
			t.Fatal("the admin is offered to revoke the owner invitation")
		}

		// The link, signed out: an existing account signs in first, a new address signs up.
		existingToken := tokenOf(t, e, existing.Email)
		vb := newBrowser(t, e)
		p = vb.get(orgs.AcceptPath + "?token=" + existingToken)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="sign-in-to-accept"`) {
			t.Fatalf("signed out, existing account: %d\n%.2000s", p.Status, p.Body)
		}
		newToken := tokenOf(t, e, newcomer)
		if p := vb.get(orgs.AcceptPath + "?token=" + newToken); !strings.Contains(p.Body, `href="/signup?invitation=`+url.QueryEscape(newToken)+`"`) {
			t.Fatalf("signed out, new address:\n%.2000s", p.Body)
		}
		for _, bad := range []string{"", "nope", strings.Repeat("x", 300)} {
			if p := vb.get(orgs.AcceptPath + "?token=" + bad); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, orgs.InvalidInvitation) {
				t.Fatalf("token %q: %d", bad, p.Status)
			}
		}
		// Signed in as someone else: no join button.
		if p := ab.get(orgs.AcceptPath + "?token=" + existingToken); !strings.Contains(p.Body, `id="other-account"`) ||
			strings.Contains(p.Body, `id="accept-invitation"`) {
			t.Fatalf("another account:\n%.2000s", p.Body)
		}
		p = postForm(t, ab, "/account", orgs.AcceptPath, url.Values{"token": {existingToken}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, orgs.OtherAddress) {
			t.Fatalf("join as another account: %d", p.Status)
		}
		// Sign in on the way, then join.
		login := vb.get("/login?return_to=" + url.QueryEscape(orgs.AcceptPath+"?token="+existingToken))
		p = vb.post("/login", url.Values{"csrf_token": {csrfOf(t, login.Body)}, "email": {existing.Email}, "password": {existing.Password},
			"return_to": {orgs.AcceptPath + "?token=" + existingToken}})
		if p.Status != http.StatusSeeOther || p.Location.Path != orgs.AcceptPath {
			t.Fatalf("sign in on the way: %d %v", p.Status, p.Location)
		}
		p = vb.get(p.Location.String())
		if !strings.Contains(p.Body, `id="accept-invitation"`) {
			t.Fatalf("join page:\n%.2000s", p.Body)
		}
		if p := vb.post(orgs.AcceptPath, url.Values{"token": {existingToken}}); p.Status != http.StatusForbidden {
			t.Fatalf("join without CSRF: %d", p.Status)
		}
		p = postForm(t, vb, orgs.AcceptPath+"?token="+existingToken, orgs.AcceptPath, url.Values{"token": {existingToken}})
		if p.Status != http.StatusSeeOther || p.Location.RequestURI() != "/account?done=joined" {
			t.Fatalf("join: %d %v\n%.1000s", p.Status, p.Location, p.Body)
		}
		if p := vb.get("/account?done=joined"); !strings.Contains(p.Body, "You joined the organization.") {
			t.Fatalf("after joining:\n%.2000s", p.Body)
		}
		if p := vb.get(orgs.AcceptPath + "?token=" + existingToken); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, orgs.AcceptedInvitation) {
			t.Fatalf("used link: %d", p.Status)
		}

		// Revoking from the page; the link then says so.
		id := between(t, ob.get("/account/members").Body, `action="/account/invitations/`, `/revoke"`)
		p = postForm(t, ob, "/account/members", "/account/invitations/"+id+"/revoke", url.Values{})
		if p.Status != http.StatusSeeOther || p.Location.RequestURI() != "/account/members?done=invitation-revoked" {
			t.Fatalf("revoke: %d %v", p.Status, p.Location)
		}
		if p := postForm(t, ob, "/account/members", "/account/invitations/"+id+"/revoke", url.Values{}); p.Status != http.StatusNotFound {
			t.Fatalf("revoke twice: %d", p.Status)
		}
		if p := vb.get("/signup?invitation=" + url.QueryEscape(newToken)); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, orgs.RevokedInvitation) {
			t.Fatalf("sign-up with a revoked invitation: %d\n%.1000s", p.Status, p.Body)
		}
	})
}

// tokenOf reads the token of the first invitation mailed to email.
func tokenOf(t *testing.T, e *apptest.Env, email string) string {
	t.Helper()
	link := e.LinkIn(e.WaitMail(email, "invited you to", 0), orgs.AcceptPath+"?token=")
	return strings.TrimPrefix(link, e.URL+orgs.AcceptPath+"?token=")
}

// between returns the text of s between the first before and the next after.
func between(t *testing.T, s, before, after string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, before)
	v, _, ok2 := strings.Cut(rest, after)
	if !ok || !ok2 {
		t.Fatalf("no %q…%q in:\n%.2000s", before, after, s)
	}
	return v
}

// Signing up through an invitation into an organization whose members must
// use a second factor stops at the enrolment, as a sign-in does: no session
// starts before the new member has set one up.
func TestInvitationSignUpMeetsTheMFAPolicy(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	putPolicy(t, e, owner, owner.OrganizationID, map[string]any{"required": true, "grace_period": "0s"})
	newcomer := "enrol-" + owner.ID[:8] + "@example.com"
	if r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/invitations",
		map[string]any{"email": newcomer, "role": "member"}, owner.Bearer()...); r.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	token := tokenOf(t, e, newcomer)
	b := newBrowser(t, e)
	p := postForm(t, b, "/signup?invitation="+url.QueryEscape(token), "/signup",
		url.Values{"invitation": {token}, "email": {newcomer}, "password": {"a newcomer's passphrase"}, "full_name": {"Nina Newcomer"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Set up two-step verification") {
		t.Fatalf("sign-up into a policy organization: %d %v\n%.2000s", p.Status, p.Location, p.Body)
	}
	if a := b.get("/account"); a.Status != http.StatusSeeOther || a.Location.Path != "/login" {
		t.Fatalf("a session started before the second factor: %d %v", a.Status, a.Location)
	}
}
