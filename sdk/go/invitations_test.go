package puguh_test

import (
	"errors"
	"strings"
	"testing"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

// TestInvitationsAndAccountChanges: inviting, listing, revoking and
// accepting through the SDK with the link from the server's outbox, then the
// invitee's own password and address changes; the client keeps the fresh
// pair a password change answers.
func TestInvitationsAndAccountChanges(t *testing.T) {
	owner, _ := newClient(t, puguh.WithOnResponse(onResponse))
	ownerEmail := puguhtest.UniqueEmail("inviter")
	const pw = "inviter password 123"
	if _, err := owner.Auth.Register(ctx, puguh.RegisterRequest{Email: ownerEmail, Password: pw, FullName: "Ines Inviter"}); err != nil {
		t.Fatal(err)
	}
	must[*puguh.TokenPair](t)(owner.Auth.Login(ctx, puguh.LoginRequest{Email: ownerEmail, Password: pw}))
	org := must[*puguh.Organization](t)(owner.Organizations.Create(ctx, puguh.CreateOrganizationRequest{Name: "Invited Co"}))

	inviteeEmail := puguhtest.UniqueEmail("invitee")
	inv := must[*puguh.Invitation](t)(owner.Organizations.Invitations.Create(ctx, org.ID, puguh.CreateInvitationRequest{Email: inviteeEmail, Role: puguh.RoleMember}))
	if inv.Email != inviteeEmail || inv.Role != puguh.RoleMember || inv.Status != "pending" || inv.ExpiresAt.Sub(inv.CreatedAt).Hours() != 168 {
		t.Fatalf("invitation %+v", inv)
	}
	other := must[*puguh.Invitation](t)(owner.Organizations.Invitations.Create(ctx, org.ID, puguh.CreateInvitationRequest{Email: puguhtest.UniqueEmail("other"), Role: puguh.RoleViewer}))
	page := must[*puguh.Page[puguh.Invitation]](t)(owner.Organizations.Invitations.List(ctx, org.ID, puguh.PageParams{Limit: 1}))
	if len(page.Items) != 1 || page.Items[0].ID != inv.ID || !page.HasNextPage() {
		t.Fatalf("first page %+v", page)
	}
	var ids []string
	for i, err := range owner.Organizations.Invitations.ListAutoPaging(ctx, org.ID, puguh.PageParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, i.ID)
	}
	if strings.Join(ids, " ") != inv.ID+" "+other.ID {
		t.Fatalf("pending %v", ids)
	}
	if err := owner.Organizations.Invitations.Revoke(ctx, org.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if err := owner.Organizations.Invitations.Revoke(ctx, org.ID, other.ID); !puguh.IsNotFound(err) {
		t.Fatalf("revoked twice: %v", err)
	}
	var conflict *puguh.ConflictError
	if _, err := owner.Organizations.Invitations.Create(ctx, org.ID, puguh.CreateInvitationRequest{Email: inviteeEmail, Role: puguh.RoleMember}); !errors.As(err, &conflict) {
		t.Fatalf("a second pending invitation: %v", err)
	}

	link := server.MailLink(t, inviteeEmail, "/invitations/accept?token=", 0)
	token := link[strings.Index(link, "token=")+len("token="):]
	invitee, _ := newClient(t, puguh.WithOnResponse(onResponse))
	const ipw = "invitee password 123"
	if _, err := invitee.Auth.Register(ctx, puguh.RegisterRequest{Email: inviteeEmail, Password: ipw, FullName: "Ivo Invitee"}); err != nil {
		t.Fatal(err)
	}
	must[*puguh.TokenPair](t)(invitee.Auth.Login(ctx, puguh.LoginRequest{Email: inviteeEmail, Password: ipw}))
	var bad *puguh.BadRequestError
	if _, err := invitee.Invitations.Accept(ctx, puguh.AcceptInvitationRequest{Token: "nope"}); !errors.As(err, &bad) || bad.Detail != "Invalid invitation link" {
		t.Fatalf("a bad token: %v", err)
	}
	joined := must[*puguh.Organization](t)(invitee.Invitations.Accept(ctx, puguh.AcceptInvitationRequest{Token: token}))
	if joined.ID != org.ID || joined.Role != puguh.RoleMember {
		t.Fatalf("joined %+v", joined)
	}
	if _, err := invitee.Invitations.Accept(ctx, puguh.AcceptInvitationRequest{Token: token}); !errors.As(err, &bad) || bad.Detail != "This invitation was already accepted" {
		t.Fatalf("a used token: %v", err)
	}

	newEmail := puguhtest.UniqueEmail("moved")
	change := must[*puguh.EmailChange](t)(invitee.IAM.Users.ChangeEmail(ctx, puguh.ChangeEmailRequest{Password: ipw, NewEmail: newEmail}))
	if change.NewEmail != newEmail || !strings.HasPrefix(change.Detail, "A confirmation link is on its way") {
		t.Fatalf("change email %+v", change)
	}
	var denied *puguh.PermissionDeniedError
	if _, err := invitee.IAM.Users.ChangePassword(ctx, puguh.ChangePasswordRequest{CurrentPassword: "wrong one", NewPassword: "a fresh password 1"}); !errors.As(err, &denied) {
		t.Fatalf("a wrong current password: %v", err)
	}
	before := invitee.AccessToken()
	pair := must[*puguh.TokenPair](t)(invitee.IAM.Users.ChangePassword(ctx, puguh.ChangePasswordRequest{CurrentPassword: ipw, NewPassword: "a fresh password 1"}))
	if invitee.AccessToken() != pair.AccessToken || pair.AccessToken == before {
		t.Fatal("the client did not keep the fresh pair")
	}
	if me := must[*puguh.Me](t)(invitee.IAM.Users.Me(ctx)); me.Email != inviteeEmail || me.EmailVerified == nil || !*me.EmailVerified {
		t.Fatalf("me %+v", me)
	}
}
