package puguh

import (
	"context"
	"iter"
	"time"
)

// DeleteMeRequest is the body of DELETE /api/v1/users/me: the password, and
// a TOTP or recovery code when the user has an authenticator app.
type DeleteMeRequest struct {
	Password string `json:"password"`
	Code     string `json:"code,omitempty"`
}

// Consent is one application the signed-in user consented to.
type Consent struct {
	ApplicationID   string     `json:"application_id"`
	ApplicationName string     `json:"application_name"`
	Scopes          []string   `json:"scopes"`
	GrantedAt       time.Time  `json:"granted_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	LastUsedAt      *time.Time `json:"last_used_at"`
}

// Delete (deleteUser): a platform operator deletes a user and erases their
// personal data; refused (409) while the user is the last owner of an
// organization that has other members.
func (s *UsersService) Delete(ctx context.Context, userID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "deleteUser", path: []string{userID}, opts: opts})
	return err
}

// DeleteMe (deleteMe): the signed-in user deletes their own account,
// confirming with their password (and code). The client's tokens stop
// working; forget them.
func (s *UsersService) DeleteMe(ctx context.Context, body DeleteMeRequest, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "deleteMe", body: body, opts: opts})
	return err
}

// ConsentsService is /api/v1/users/me/consents: the signed-in user's
// connected applications.
type ConsentsService struct{ c *Client }

// List (listMyConsents): the applications the user consented to, with
// scopes and last use.
func (s *ConsentsService) List(ctx context.Context, opts ...RequestOption) (*Page[Consent], error) {
	return list[Consent](ctx, s.c, call{op: "listMyConsents", opts: opts}, PageParams{})
}

// ListAutoPaging walks every consent.
func (s *ConsentsService) ListAutoPaging(ctx context.Context, opts ...RequestOption) iter.Seq2[Consent, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Consent], error) { return s.List(ctx, opts...) })
}

// Revoke (revokeMyConsent): the application's tokens stop working and its
// next authorization asks for consent again.
func (s *ConsentsService) Revoke(ctx context.Context, applicationID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "revokeMyConsent", path: []string{applicationID}, opts: opts})
	return err
}
