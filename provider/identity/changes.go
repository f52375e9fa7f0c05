package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Reauthenticator checks the password of a user who is signed in already
// (SignIn.Reauthenticate: the sign-in throttle, failures recorded).
type Reauthenticator interface {
	Reauthenticate(ctx context.Context, email, pw string) (*storage.User, error)
}

// ChangeStore is what changing a password writes.
type ChangeStore interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	UpdateUserPassword(ctx context.Context, id, passwordHash string) error
}

// Changes are the signed-in user's own changes of password and email
// address, confirmed with the current password: a borrowed token or an
// unlocked browser is not enough.
type Changes struct {
	Store     ChangeStore
	Passwords Reauthenticator
	Hasher    *password.Hasher
	Grants    GrantEnder
	// Emails mails the link that confirms a new address.
	Emails *Emails
	// ChangeLimit bounds the links email changes mail; nil: unbounded.
	ChangeLimit ChangeLimit
	Audit       audit.Recorder
}

// ChangeLimit takes one email-change link from the user's and the new
// address's budgets, or returns the Throttled problem, so that nobody makes
// Puguh mail strangers in bulk.
type ChangeLimit interface {
	Allow(ctx context.Context, userID, normalizedEmail string) error
}

// Answers the surfaces show.
const (
	// WrongCurrentPassword refuses a change confirmed with a wrong password.
	WrongCurrentPassword = "The current password is not correct"
	// SameEmail refuses a change to the address the account has.
	SameEmail = "this is already the account's email address"
)

// reauthenticate checks pw for u: a wrong one is Forbidden (the caller is
// signed in; 401 would tell a client its token is bad), the throttle's 429
// passes through.
func (c *Changes) reauthenticate(ctx context.Context, u *storage.User, pw string) error {
	if _, err := c.Passwords.Reauthenticate(ctx, u.Email, pw); err != nil {
		if problem.Is(err, problem.Unauthenticated) {
			return problem.Forbid(WrongCurrentPassword)
		}
		return err
	}
	return nil
}

func (c *Changes) user(ctx context.Context, userID string) (*storage.User, error) {
	u, err := c.Store.UserByID(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, problem.NotFoundf("User not found")
	}
	if err != nil {
		return nil, fmt.Errorf("identity: user: %w", err)
	}
	return u, nil
}

// ChangePassword replaces the user's password after checking the current
// one; the new one must pass the policy. Then every session of the user but
// keepSession ("" for none) ends, and every token grant of the user is
// revoked, access tokens included: whoever holds the old password, or a
// token made with it, is out. method names the surface for the audit event.
func (c *Changes) ChangePassword(ctx context.Context, userID, keepSession, method string, current, next *string) error {
	var v problem.Validator
	if current == nil {
		v.Required("current_password")
	}
	if next == nil {
		v.Required("new_password")
	}
	if err := v.Err(); err != nil {
		return err
	}
	u, err := c.user(ctx, userID)
	if err != nil {
		return err
	}
	if err := c.reauthenticate(ctx, u, *current); err != nil {
		return err
	}
	if msg := password.Problem(*next, u.Email); msg != "" {
		return problem.Invalidf(problem.Issue{Loc: []any{"new_password"}, Msg: msg, Type: passwordIssueType(msg)})
	}
	hash, err := c.Hasher.Hash(ctx, *next)
	if err != nil {
		return fmt.Errorf("identity: change password: %w", err)
	}
	if err := c.Store.UpdateUserPassword(ctx, u.ID, hash); err != nil {
		return fmt.Errorf("identity: change password: %w", err)
	}
	if err := c.Grants.EndGrants(ctx, u.ID, keepSession); err != nil {
		return err
	}
	e := audit.Event{Type: audit.UserPasswordChanged, Actor: audit.User(u.ID), Subject: audit.User(u.ID)}
	if method != "" {
		e.Details = map[string]string{"method": method}
	}
	audit.Or(c.Audit).Record(ctx, e)
	return nil
}

// RequestEmailChange mails a confirmation link to newEmail after checking
// the password. Nothing changes until the link is opened (ConfirmEmail):
// then newEmail becomes the account's address, confirmed, and the address
// it had stops signing in. A mistyped address therefore locks nobody out.
// A newer request replaces the links of older ones. An address another
// account has is a Conflict, now and again when the link is opened.
func (c *Changes) RequestEmailChange(ctx context.Context, userID string, pw, newEmail *string) (string, error) {
	var v problem.Validator
	var addr string
	if pw == nil {
		v.Required("password")
	}
	v.Email(newEmail, &addr, "new_email")
	if err := v.Err(); err != nil {
		return "", err
	}
	u, err := c.user(ctx, userID)
	if err != nil {
		return "", err
	}
	if err := c.reauthenticate(ctx, u, *pw); err != nil {
		return "", err
	}
	if addr == u.Email {
		return "", problem.Invalidf(problem.Issue{Loc: []any{"new_email"}, Msg: SameEmail, Type: "value_error"})
	}
	e := c.Emails
	if _, err := e.Store.UserByEmail(ctx, addr); err == nil {
		return "", problem.Conflictf("Email already registered")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("identity: change email: %w", err)
	}
	if c.ChangeLimit != nil {
		if err := c.ChangeLimit.Allow(ctx, u.ID, addr); err != nil {
			return "", err
		}
	}
	// The link is stored before the answer (only the message is sent in the
	// background), so a newer request always replaces the older links.
	if err := e.Store.DeleteEmailTokens(ctx, u.ID, storage.EmailTokenChange); err != nil {
		return "", fmt.Errorf("identity: change email: %w", err)
	}
	token, hash, err := newLinkToken()
	if err != nil {
		return "", fmt.Errorf("identity: change email: %w", err)
	}
	now := e.now()
	if err := e.Store.CreateEmailToken(ctx, &storage.EmailToken{Hash: hash, Purpose: storage.EmailTokenChange, UserID: u.ID,
		Email: addr, CreatedAt: now, ExpiresAt: now.Add(e.verifyTTL())}); err != nil {
		return "", fmt.Errorf("identity: change email: %w", err)
	}
	data := map[string]any{"Name": u.FullName, "Email": addr, "Link": e.BaseURL + VerifyPath + "?token=" + token,
		"Expires": humanDuration(e.verifyTTL())}
	e.Mailer.SendComposed(ctx, func(context.Context) (string, string, any, error) { return addr, "verify_email", data, nil })
	return addr, nil
}

// confirmChange uses a change link: its address becomes the user's,
// confirmed. ErrNotFound when token is no change link.
func (e *Emails) confirmChange(ctx context.Context, hash []byte, now time.Time) (*storage.User, error) {
	t, err := e.Store.ConsumeEmailToken(ctx, storage.EmailTokenChange, hash, now)
	if err != nil {
		return nil, err
	}
	before, err := e.Store.UserByID(ctx, t.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, problem.Bad(InvalidVerifyLink)
	} else if err != nil {
		return nil, fmt.Errorf("identity: change email: %w", err)
	}
	if err := e.Store.ChangeUserEmail(ctx, t.UserID, t.Email, now); errors.Is(err, storage.ErrConflict) {
		return nil, problem.Conflictf("Email already registered")
	} else if errors.Is(err, storage.ErrNotFound) {
		return nil, problem.Bad(InvalidVerifyLink)
	} else if err != nil {
		return nil, fmt.Errorf("identity: change email: %w", err)
	}
	// A reset link mailed to the old address must not reset the account
	// that now signs in with the new one.
	if err := e.Store.DeleteEmailTokens(ctx, t.UserID, storage.EmailTokenReset); err != nil {
		return nil, fmt.Errorf("identity: change email: %w", err)
	}
	u, err := e.Store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("identity: change email: %w", err)
	}
	e.record(ctx, audit.Event{Type: audit.UserEmailChanged, Actor: audit.User(u.ID), Subject: audit.User(u.ID)})
	if before.Email != "" && before.Email != u.Email {
		e.sendChangedNotice(ctx, before, u.Email, now)
	}
	return u, nil
}

// sendChangedNotice tells the address an account had that it no longer
// signs in, so that the owner notices a change they did not make. The new
// address is masked (the old mailbox may be read by someone else by now)
// and the message carries no token: only a link to "Forgot password?".
func (e *Emails) sendChangedNotice(ctx context.Context, before *storage.User, newEmail string, at time.Time) {
	data := map[string]any{"Name": before.FullName, "NewEmail": MaskEmail(newEmail),
		"Time": at.UTC().Format("2006-01-02 15:04 UTC"), "Link": e.BaseURL + "/password-reset"}
	to := before.Email
	e.Mailer.SendComposed(ctx, func(context.Context) (string, string, any, error) { return to, "email_changed", data, nil })
}

// MaskEmail shows the first character of an address's local part and its
// domain: "n***@example.com".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	_, size := utf8.DecodeRuneInString(addr)
	return addr[:size] + "***" + addr[at:]
}
