package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Mailer queues mail (mail.Mailer): compose runs off the request's path,
// stores what the message carries and names the recipient, template and data.
type Mailer interface {
	SendComposed(ctx context.Context, compose func(ctx context.Context) (to, template string, data any, err error))
}

// MailThrottle bounds a flow's messages (ratelimit.Emails): a Throttled
// problem when the client IP's budget is spent, send false when the
// address's is.
type MailThrottle interface {
	Take(ctx context.Context, normalizedEmail string) (send bool, err error)
}

// EmailStore is what the email flows read and write (the cached store, so
// writes to users evict).
type EmailStore interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	CreateEmailToken(ctx context.Context, t *storage.EmailToken) error
	ConsumeEmailToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*storage.EmailToken, error)
	DeleteEmailTokens(ctx context.Context, userID, purpose string) error
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
	ChangeUserEmail(ctx context.Context, userID, email string, at time.Time) error
}

// Emails are the flows that mail a one-time link: confirming an address.
// A link carries 256 random bits; only their SHA-256 is stored, and using a
// link deletes it.
type Emails struct {
	Store  EmailStore
	Mailer Mailer
	Audit  audit.Recorder
	// ResendLimit bounds resending confirmations (nil: unbounded).
	ResendLimit MailThrottle
	// BaseURL is the issuer: links are BaseURL + "/verify-email?token=…".
	BaseURL string
	// VerifyTTL is how long a confirmation link works (default 24h).
	VerifyTTL time.Duration
	Now       func() time.Time
}

// Answers the surfaces show.
const (
	// EmailNotVerified refuses a sign-in under PUGUH_REQUIRE_VERIFIED_EMAIL.
	EmailNotVerified = "Email address not verified: open the link we sent you, or ask for a new one"
	// InvalidVerifyLink answers a confirmation link that is unknown, used or expired.
	InvalidVerifyLink = "Invalid or expired verification link"
)

// VerifyPath is the page a confirmation link opens.
const VerifyPath = "/verify-email"

func (e *Emails) now() time.Time {
	if e.Now == nil {
		return time.Now().UTC()
	}
	return e.Now().UTC()
}

func (e *Emails) verifyTTL() time.Duration {
	if e.VerifyTTL <= 0 {
		return 24 * time.Hour
	}
	return e.VerifyTTL
}

func (e *Emails) record(ctx context.Context, ev audit.Event) {
	if e.Audit != nil {
		e.Audit.Record(ctx, ev)
	}
}

// newLinkToken returns a random token for a link and the hash stored for it.
func newLinkToken() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashLinkToken(token), nil
}

func hashLinkToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// SendVerification mails u a link confirming u's current address. It
// returns at once; the token is stored and the message sent in the
// background.
func (e *Emails) SendVerification(ctx context.Context, u *storage.User) {
	userID, email, name := u.ID, u.Email, u.FullName
	e.Mailer.SendComposed(ctx, func(ctx context.Context) (string, string, any, error) {
		token, hash, err := newLinkToken()
		if err != nil {
			return "", "", nil, err
		}
		now := e.now()
		if err := e.Store.CreateEmailToken(ctx, &storage.EmailToken{Hash: hash, Purpose: storage.EmailTokenVerify, UserID: userID,
			Email: email, CreatedAt: now, ExpiresAt: now.Add(e.verifyTTL())}); err != nil {
			return "", "", nil, fmt.Errorf("identity: verification token: %w", err)
		}
		return email, "verify_email", map[string]any{"Name": name, "Email": email,
			"Link": e.BaseURL + VerifyPath + "?token=" + token, "Expires": humanDuration(e.verifyTTL())}, nil
	})
}

// ResendVerification mails a new confirmation link to the account with
// email, if there is one, enabled and not yet verified. The answer is the
// same either way (nil), so it tells nothing about which addresses have
// accounts; only the client IP's budget answers 429.
func (e *Emails) ResendVerification(ctx context.Context, email *string) error {
	var v problem.Validator
	var addr string
	v.Email(email, &addr, "email")
	if err := v.Err(); err != nil {
		return err
	}
	if e.ResendLimit != nil {
		send, err := e.ResendLimit.Take(ctx, addr)
		if err != nil || !send {
			return err
		}
	}
	u, err := e.Store.UserByEmail(ctx, addr)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("identity: resend verification: %w", err)
	}
	if u.Disabled || u.EmailVerifiedAt != nil {
		return nil
	}
	e.SendVerification(ctx, u)
	return nil
}

// ConfirmEmail uses a confirmation link's token: the address it was sent to
// is verified if the account still has it; the link of an email change
// (Changes.RequestEmailChange) makes its address the account's. The link
// works once.
func (e *Emails) ConfirmEmail(ctx context.Context, token string) (*storage.User, error) {
	bad := problem.Bad(InvalidVerifyLink)
	if token == "" || len(token) > 128 {
		return nil, bad
	}
	now := e.now()
	t, err := e.Store.ConsumeEmailToken(ctx, storage.EmailTokenVerify, hashLinkToken(token), now)
	if errors.Is(err, storage.ErrNotFound) {
		// The link of an email change opens the same page.
		u, err := e.confirmChange(ctx, hashLinkToken(token), now)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, bad
		}
		return u, err
	}
	if err != nil {
		return nil, fmt.Errorf("identity: confirm email: %w", err)
	}
	if err := e.Store.SetEmailVerified(ctx, t.UserID, t.Email, now); errors.Is(err, storage.ErrNotFound) {
		return nil, bad // the address changed since the link was sent
	} else if err != nil {
		return nil, fmt.Errorf("identity: confirm email: %w", err)
	}
	u, err := e.Store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("identity: confirm email: %w", err)
	}
	e.record(ctx, audit.Event{Type: audit.UserEmailVerified, Actor: audit.User(u.ID), Subject: audit.User(u.ID)})
	return u, nil
}

// humanDuration says d in words for a message: "24 hours", "30 minutes".
func humanDuration(d time.Duration) string {
	unit := func(n int, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return strconv.Itoa(n) + " " + word + "s"
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int(d/time.Hour), "hour")
	default:
		return unit(int(d.Round(time.Minute)/time.Minute), "minute")
	}
}
