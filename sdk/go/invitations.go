package puguh

import (
	"context"
	"iter"
	"time"
)

// Invitation asks an email address to join an organization with a role
// (docs/invitations.md). Its link goes by mail only: never in an answer.
type Invitation struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id"`
	Email          string    `json:"email"`
	Role           Role      `json:"role"`
	Status         string    `json:"status"`
	InvitedByType  string    `json:"invited_by_type"`
	InvitedByID    string    `json:"invited_by_id"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// CreateInvitationRequest is the body of createInvitation.
type CreateInvitationRequest struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// AcceptInvitationRequest is the body of acceptInvitation: the token of the
// link mailed to the invited address.
type AcceptInvitationRequest struct {
	Token string `json:"token"`
}

// ChangePasswordRequest is the body of changePassword.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// ChangeEmailRequest is the body of changeEmail.
type ChangeEmailRequest struct {
	Password string `json:"password"`
	NewEmail string `json:"new_email"`
}

// EmailChange is the answer to changeEmail: the link is on its way to NewEmail.
type EmailChange struct {
	Detail   string `json:"detail"`
	NewEmail string `json:"new_email"`
}

// OrgInvitationsService is /api/v1/organizations/{id}/invitations.
type OrgInvitationsService struct{ c *Client }

// List (listInvitations): a page of the organization's pending invitations, oldest first.
func (s *OrgInvitationsService) List(ctx context.Context, organizationID string, params PageParams, opts ...RequestOption) (*Page[Invitation], error) {
	return list[Invitation](ctx, s.c, call{op: "listInvitations", path: []string{organizationID}, opts: opts}, params)
}

// ListAutoPaging walks every pending invitation, fetching pages as it goes.
func (s *OrgInvitationsService) ListAutoPaging(ctx context.Context, organizationID string, params PageParams, opts ...RequestOption) iter.Seq2[Invitation, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Invitation], error) {
		return s.List(ctx, organizationID, params, opts...)
	})
}

// Create (createInvitation) invites an address, with or without an account,
// with a role no higher than the caller's; the link is mailed.
func (s *OrgInvitationsService) Create(ctx context.Context, organizationID string, body CreateInvitationRequest, opts ...RequestOption) (*Invitation, error) {
	return one[Invitation](ctx, s.c, call{op: "createInvitation", path: []string{organizationID}, body: body, opts: opts})
}

// Revoke (revokeInvitation): the link stops working.
func (s *OrgInvitationsService) Revoke(ctx context.Context, organizationID, invitationID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "revokeInvitation", path: []string{organizationID, invitationID}, opts: opts})
	return err
}

// InvitationsService is /api/v1/invitations.
type InvitationsService struct{ c *Client }

// Accept (acceptInvitation) joins the organization as the signed-in user
// the invitation's address belongs to; the organization comes back with
// the caller's role in it.
func (s *InvitationsService) Accept(ctx context.Context, body AcceptInvitationRequest, opts ...RequestOption) (*Organization, error) {
	return one[Organization](ctx, s.c, call{op: "acceptInvitation", body: body, opts: opts})
}

// ChangePassword (changePassword) changes the signed-in user's password.
// Every token of the user ends, this client's too: the client stores the
// fresh pair the server answers.
func (s *UsersService) ChangePassword(ctx context.Context, body ChangePasswordRequest, opts ...RequestOption) (*TokenPair, error) {
	var out TokenPair
	if _, err := s.c.do(ctx, call{op: "changePassword", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	if err := s.c.tokens.store(ctx, out); err != nil {
		return &out, err
	}
	return &out, nil
}

// ChangeEmail (changeEmail) mails a link to the new address; the address
// changes when it is opened.
func (s *UsersService) ChangeEmail(ctx context.Context, body ChangeEmailRequest, opts ...RequestOption) (*EmailChange, error) {
	return one[EmailChange](ctx, s.c, call{op: "changeEmail", body: body, opts: opts})
}
