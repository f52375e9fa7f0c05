package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// ResetStore is what a password reset writes besides the email tokens.
type ResetStore interface {
	EmailToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*storage.EmailToken, error)
	UpdateUserPassword(ctx context.Context, id, passwordHash string) error
}

// GrantEnder ends every session and token grant of a user (Service.EndGrants).
type GrantEnder interface {
	EndGrants(ctx context.Context, userID, keepSession string) error
}

// PasswordReset mails a link that sets a new password. It shares the email
// tokens (purpose password_reset), the mailer and the token format of
// Emails.
type PasswordReset struct {
	Emails *Emails
	Store  ResetStore
	Hasher *password.Hasher
	Grants GrantEnder
	// Limit bounds reset requests (nil: unbounded).
	Limit MailThrottle
	// TTL is how long a reset link works (default 30 minutes).
	TTL time.Duration
}

// Answers the surfaces show.
const (
	InvalidResetLink = "Invalid or expired password reset link"
)

// ResetPath is the page a reset link opens.
const ResetPath = "/password-reset/confirm"

func (r *PasswordReset) ttl() time.Duration {
	if r.TTL <= 0 {
		return 30 * time.Minute
	}
	return r.TTL
}

// Request mails a reset link to the account with email, if there is one
// and it is enabled. The answer is nil either way, and the request costs the
// same: the lookup is made for every address, and the token is made and the
// message sent by the mail worker. Only the client IP's budget answers 429.
func (r *PasswordReset) Request(ctx context.Context, email *string) error {
	var v problem.Validator
	var addr string
	v.Email(email, &addr, "email")
	if err := v.Err(); err != nil {
		return err
	}
	send := true
	if r.Limit != nil {
		var err error
		if send, err = r.Limit.Take(ctx, addr); err != nil {
			return err
		}
	}
	u, err := r.Emails.Store.UserByEmail(ctx, addr)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (u.Disabled || !send)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity: password reset: %w", err)
	}
	e := r.Emails
	userID, to, name := u.ID, u.Email, u.FullName
	e.Mailer.SendComposed(ctx, func(ctx context.Context) (string, string, any, error) {
		token, hash, err := newLinkToken()
		if err != nil {
			return "", "", nil, err
		}
		now := e.now()
		if err := e.Store.CreateEmailToken(ctx, &storage.EmailToken{Hash: hash, Purpose: storage.EmailTokenReset, UserID: userID,
			Email: to, CreatedAt: now, ExpiresAt: now.Add(r.ttl())}); err != nil {
			return "", "", nil, fmt.Errorf("identity: reset token: %w", err)
		}
		return to, "password_reset", map[string]any{"Name": name, "Email": to,
			"Link": e.BaseURL + ResetPath + "?token=" + token, "Expires": humanDuration(r.ttl())}, nil
	})
	return nil
}

// Check reports whether token is a reset link that still works, without
// using it (the page checks before showing the form).
func (r *PasswordReset) Check(ctx context.Context, token string) error {
	if token == "" || len(token) > 128 {
		return problem.Bad(InvalidResetLink)
	}
	_, err := r.Store.EmailToken(ctx, storage.EmailTokenReset, hashLinkToken(token), r.Emails.now())
	if errors.Is(err, storage.ErrNotFound) {
		return problem.Bad(InvalidResetLink)
	}
	return err
}

// Confirm uses a reset link: the new password must pass the policy (checked
// before the link is used up, so a weak password can be corrected); then the
// password is replaced, every other reset link of the user dies, and every
// session and refresh family of the user ends. The link proves the mailbox,
// so the address counts as confirmed.
func (r *PasswordReset) Confirm(ctx context.Context, token *string, newPassword *string) error {
	var v problem.Validator
	if token == nil {
		v.Required("token")
	}
	if newPassword == nil {
		v.Required("password")
	}
	if err := v.Err(); err != nil {
		return err
	}
	e := r.Emails
	bad := problem.Bad(InvalidResetLink)
	if *token == "" || len(*token) > 128 {
		return bad
	}
	hash := hashLinkToken(*token)
	t, err := r.Store.EmailToken(ctx, storage.EmailTokenReset, hash, e.now())
	if errors.Is(err, storage.ErrNotFound) {
		return bad
	}
	if err != nil {
		return fmt.Errorf("identity: reset password: %w", err)
	}
	if msg := password.Problem(*newPassword, t.Email); msg != "" {
		return problem.Invalidf(problem.Issue{Loc: []any{"password"}, Msg: msg, Type: passwordIssueType(msg)})
	}
	pwHash, err := r.Hasher.Hash(ctx, *newPassword)
	if err != nil {
		return fmt.Errorf("identity: reset password: %w", err)
	}
	now := e.now()
	if t, err = e.Store.ConsumeEmailToken(ctx, storage.EmailTokenReset, hash, now); errors.Is(err, storage.ErrNotFound) {
		return bad // used meanwhile
	} else if err != nil {
		return fmt.Errorf("identity: reset password: %w", err)
	}
	u, err := e.Store.UserByID(ctx, t.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		return bad
	}
	if err != nil {
		return fmt.Errorf("identity: reset password: %w", err)
	}
	if err := r.Store.UpdateUserPassword(ctx, u.ID, pwHash); err != nil {
		return fmt.Errorf("identity: reset password: %w", err)
	}
	if err := e.Store.DeleteEmailTokens(ctx, u.ID, storage.EmailTokenReset); err != nil {
		return fmt.Errorf("identity: reset password: %w", err)
	}
	if err := r.Grants.EndGrants(ctx, u.ID, ""); err != nil {
		return err
	}
	if u.EmailVerifiedAt == nil {
		_ = e.Store.SetEmailVerified(ctx, u.ID, t.Email, now) // best effort: the reset is done
	}
	e.record(ctx, audit.Event{Type: audit.UserPasswordReset, Actor: audit.User(u.ID), Subject: audit.User(u.ID)})
	return nil
}
