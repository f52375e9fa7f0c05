package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/orgs"
)

// TestBrowserInvitation walks an invitation in Chromium: the owner invites an
// address with no account from the members page (a weak input refused on
// the form first), signs out; the invitee opens the mailed link, creates
// the account on the way (the email fixed to the invited one) and lands on
// the account page acting in the organization joined, as the invited role.
// The owner's page lists the pending invitation until then; the used link
// says so. Every page at desktop and phone width, no horizontal overflow.
func TestBrowserInvitation(t *testing.T) {
	b := newMailBrowser(t)
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	invitee := "newbie-" + owner.ID[:8] + "@example.com"
	var bad, pending, notice, joining string
	b.run("owner invites",
		chromedp.Navigate(e.URL+"/login?return_to=/account/members"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		fillField("email", owner.Email), fillField("password", owner.Password),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("send-invitation")),
		fillField("invite-email", "not an address"),
		chromedp.Click(chromedp.ID("send-invitation")),
		chromedp.WaitVisible(chromedp.ID("invite-email-error")),
		textOf(&bad, "invite-email-error"),
		fillField("invite-email", invitee),
		chromedp.SetValue(chromedp.ID("invite-role"), "admin"),
		chromedp.Click(chromedp.ID("send-invitation")),
		chromedp.WaitVisible(chromedp.ID("invitations")),
		textOf(&pending, "invitations"),
		textOf(&notice, "notice"),
		b.shot("invitation-members"),
		chromedp.Navigate(e.URL+"/logout"),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
	)
	if bad != "value is not a valid email address" || !strings.Contains(pending, invitee) || !strings.Contains(pending, "admin") ||
		notice != "The invitation was sent." {
		t.Fatalf("form error %q, pending %q, notice %q", bad, pending, notice)
	}
	link := e.LinkIn(e.WaitMail(invitee, "invited you to", 0), orgs.AcceptPath)
	b.run("invitee signs up on the way",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("sign-up-to-accept")),
		b.shot("invitation-open"),
		chromedp.Click(chromedp.ID("sign-up-to-accept")),
		chromedp.WaitVisible(chromedp.ID("joining")),
		textOf(&joining, "joining"),
		b.shot("invitation-signup"),
		fillField("full_name", "Nina Newbie"), fillField("password", "short"),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		fillField("password", "a perfectly fine passphrase"),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("notice")),
		textOf(&notice, "notice"),
		b.shot("invitation-joined"),
	)
	if !strings.Contains(joining, "Test User") || notice != "You joined the organization." {
		t.Fatalf("joining %q, notice %q", joining, notice)
	}
	// The account acts in the owner's organization, as admin: the members tab is there.
	b.run("the members tab of the organization joined",
		chromedp.Navigate(e.URL+"/account/members"),
		chromedp.WaitVisible(chromedp.ID("members")),
	)
	r := e.Do("GET", "/api/v1/organizations/"+owner.OrganizationID+"/members", nil, owner.Bearer()...)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"email":"`+invitee+`","full_name":"Nina Newbie","role":"admin"`) {
		t.Fatalf("members: %d %s", r.Status, r.Body)
	}
	b.run("the used link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("error")),
		textOf(&bad, "error"),
		b.shot("invitation-used"),
	)
	if bad != orgs.AcceptedInvitation {
		t.Fatalf("used link says %q", bad)
	}
}
