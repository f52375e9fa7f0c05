package storage

import (
	"context"
	"time"
)

// BrowserSession is a signed-in browser: the SSO session behind the sign-in
// page and /oauth/authorize. ID is the SHA-256 hex digest of the cookie value;
// the cookie value itself is never stored.
type BrowserSession struct {
	ID         string    `db:"id"`
	UserID     string    `db:"user_id"`
	AuthTime   time.Time `db:"auth_time"` // when the user last entered a password
	CreatedAt  time.Time `db:"created_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	UserAgent  string    `db:"user_agent"`
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
	Scopes        []string  `db:"-" json:"scopes"`
	Email         string    `db:"email" json:"email"` // the user's, filled by listings
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

// SessionStore keeps SSO sessions and the families they issued.
type SessionStore interface {
	CreateSession(ctx context.Context, s *BrowserSession) error
	// SessionByID returns an unexpired session; ErrNotFound otherwise.
	SessionByID(ctx context.Context, id string, now time.Time) (*BrowserSession, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession deletes the session and returns the families it issued.
	DeleteSession(ctx context.Context, id string) ([]string, error)
	AddSessionFamily(ctx context.Context, f *SessionFamily) error
	// FamiliesOfUser returns the families of the user's browser grants made
	// after since.
	FamiliesOfUser(ctx context.Context, userID string, since time.Time) ([]string, error)
	// MoveSessionFamilies hands the families of one session to another (a
	// user signing in again replaces their session).
	MoveSessionFamilies(ctx context.Context, from, to string) error
	// DeleteExpiredSessions removes at most limit expired sessions, challenges
	// and family records of each kind, and returns how many rows it removed.
	DeleteExpiredSessions(ctx context.Context, now time.Time, limit int) (int, error)
}

// LoginChallengeStore keeps pending authorization requests.
type LoginChallengeStore interface {
	CreateLoginChallenge(ctx context.Context, c *LoginChallenge) error
	// LoginChallengeByID returns an unexpired challenge; ErrNotFound otherwise.
	LoginChallengeByID(ctx context.Context, id string, now time.Time) (*LoginChallenge, error)
	// ConsentLoginChallenge records that userID consented at at.
	ConsentLoginChallenge(ctx context.Context, id, userID string, at time.Time) error
	DeleteLoginChallenge(ctx context.Context, id string) error
	// TrimLoginChallenges deletes the challenges of browser beyond its keep
	// most recently requested ones.
	TrimLoginChallenges(ctx context.Context, browser string, keep int) error
}

// ConsentGrantStore keeps remembered consent.
type ConsentGrantStore interface {
	ConsentGrant(ctx context.Context, applicationID, userID string) (*ConsentGrant, error)
	// SaveConsentGrant creates or replaces the grant.
	SaveConsentGrant(ctx context.Context, g *ConsentGrant) error
	// ListConsentGrants lists an application's grants, oldest first.
	ListConsentGrants(ctx context.Context, applicationID string) ([]ConsentGrant, error)
	// DeleteConsentGrant deletes the grant (ErrNotFound if none) and returns
	// the token families the user holds for the application.
	DeleteConsentGrant(ctx context.Context, applicationID, userID string) ([]string, error)
	// ScopeDescriptions returns the organization's own scope descriptions by name.
	ScopeDescriptions(ctx context.Context, orgID string) (map[string]string, error)
}
