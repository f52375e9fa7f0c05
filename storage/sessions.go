package storage

import (
	"context"
	"time"
)

// BrowserSession is a signed-in browser: the SSO session behind the sign-in
// page and /oauth/authorize. ID is the SHA-256 hex digest of the cookie value;
// the cookie value itself is never stored. UserAgent comes from a request
// header and is only ever shown: it is kept as text, each run of bytes that
// are not UTF-8 and each NUL read back as U+FFFD.
type BrowserSession struct {
	ID         string    `db:"id"`
	UserID     string    `db:"user_id"`
	AuthTime   time.Time `db:"auth_time"` // when the user last entered a password
	CreatedAt  time.Time `db:"created_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	UserAgent  string    `db:"user_agent"`
	// AMR is how the user authenticated (space-separated RFC 8176 values,
	// "pwd otp mfa"); empty means a password, as before MFA existed.
	AMR string `db:"amr"`
}

// LoginChallenge is an authorization request waiting for the user to sign in
// or consent. ID and Browser are SHA-256 hex digests of secrets held by the
// browser (the challenge id in the URL and the pre-session cookie).
type LoginChallenge struct {
	ID          string     `db:"id"`
	Browser     string     `db:"browser"`
	ClientID    string     `db:"client_id"`
	Query       string     `db:"query"` // the authorization request's parameters, URL-encoded
	RequestedAt time.Time  `db:"requested_at"`
	ExpiresAt   time.Time  `db:"expires_at"`
	UserID      string     `db:"user_id"` // who consented; empty until then
	ConsentedAt *time.Time `db:"consented_at"`
}

// ConsentGrant is a user's remembered consent to an application's scopes.
type ConsentGrant struct {
	UserID        string    `db:"user_id" json:"user_id"`
	ApplicationID string    `db:"application_id" json:"application_id"`
	Scopes        []string  `db:"-" json:"scopes"`    // never nil when read
	Email         string    `db:"email" json:"email"` // the user's, filled when read
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time `db:"updated_at" json:"updated_at"`
}

// SessionFamily records a token family (fosite's request id) issued through the
// browser flow, so that sign-out and grant revocation find its tokens.
type SessionFamily struct {
	FamilyID      string    `db:"family_id"`
	SessionID     string    `db:"session_id"`
	UserID        string    `db:"user_id"`
	ApplicationID string    `db:"application_id"`
	CreatedAt     time.Time `db:"created_at"`
	ExpiresAt     time.Time `db:"expires_at"`
}

// SessionStore keeps SSO sessions and the families they issued. A session has
// expired once now is not before its ExpiresAt.
type SessionStore interface {
	// CreateSession stores s. ErrConflict if the id is taken, ErrNotFound if
	// the user does not exist.
	CreateSession(ctx context.Context, s *BrowserSession) error
	// SessionByID returns the session if it has not expired at now;
	// ErrNotFound otherwise.
	SessionByID(ctx context.Context, id string, now time.Time) (*BrowserSession, error)
	// TouchSession sets the session's LastSeenAt to at. An unknown session is
	// not an error (it may have been signed out meanwhile).
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession deletes the session and the family records filed under
	// it, and returns those families so the caller can revoke their tokens:
	// each family is handed back once. An unknown session is not an error; it
	// has no families.
	DeleteSession(ctx context.Context, id string) ([]string, error)
	// AddSessionFamily files a family under its session. ErrConflict if the
	// family is recorded already.
	AddSessionFamily(ctx context.Context, f *SessionFamily) error
	// FamiliesOfUser returns the families of the user's browser grants, in
	// every session and for every application, recorded strictly after since,
	// in no particular order.
	FamiliesOfUser(ctx context.Context, userID string, since time.Time) ([]string, error)
	// MoveSessionFamilies files the families of session from under session to
	// (a user signing in again replaces their session). Nothing to move is not
	// an error.
	MoveSessionFamilies(ctx context.Context, from, to string) error
	// DeleteExpiredSessions removes expired sessions, login challenges,
	// family records and MFA challenges, at most limit (> 0) of each kind, and returns how many
	// rows it removed in all: a call that returns less than limit left no
	// expired row behind.
	DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) (int, error)
}

// LoginChallengeStore keeps pending authorization requests. A challenge has
// expired once now is not before its ExpiresAt.
type LoginChallengeStore interface {
	// CreateLoginChallenge stores c. ErrConflict if the id is taken (the same
	// request of the same browser is stored already).
	CreateLoginChallenge(ctx context.Context, c *LoginChallenge) error
	// LoginChallengeByID returns the challenge if it has not expired at now;
	// ErrNotFound otherwise.
	LoginChallengeByID(ctx context.Context, id string, now time.Time) (*LoginChallenge, error)
	// ConsentLoginChallenge records that userID consented at at (UserID,
	// ConsentedAt). ErrNotFound if there is no such challenge.
	ConsentLoginChallenge(ctx context.Context, id, userID string, at time.Time) error
	// DeleteLoginChallenge deletes the challenge; an unknown one is not an error.
	DeleteLoginChallenge(ctx context.Context, id string) error
	// TrimLoginChallenges deletes the challenges of browser, expired or not,
	// beyond its keep (>= 0) most recently requested ones.
	TrimLoginChallenges(ctx context.Context, browser string, keep int) error
}

// ConsentGrantStore keeps remembered consent.
type ConsentGrantStore interface {
	// ConsentGrant returns the user's grant to the application; ErrNotFound if
	// there is none.
	ConsentGrant(ctx context.Context, applicationID, userID string) (*ConsentGrant, error)
	// SaveConsentGrant creates the grant, or replaces the scopes and UpdatedAt
	// of the stored one (its CreatedAt stays). Zero CreatedAt and UpdatedAt
	// are taken as the time of the save. ErrNotFound if the user or the
	// application does not exist.
	SaveConsentGrant(ctx context.Context, g *ConsentGrant) error
	// ListConsentGrants lists an application's grants, oldest first.
	ListConsentGrants(ctx context.Context, applicationID string) ([]ConsentGrant, error)
	// DeleteConsentGrant deletes the grant and the family records of the user
	// for the application, and returns those families so the caller can revoke
	// their tokens. A user of a trusted application has families but no
	// remembered grant: ErrNotFound only when there is neither.
	DeleteConsentGrant(ctx context.Context, applicationID, userID string) ([]string, error)
	// ScopeDescriptions returns the organization's own scope descriptions by
	// name; none for an organization that has none.
	ScopeDescriptions(ctx context.Context, orgID string) (map[string]string, error)
}
