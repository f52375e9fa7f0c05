package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// touchEvery throttles last-seen updates to one write a minute per session.
const touchEvery = time.Minute

// CurrentSession returns the browser's SSO session, or nil when it has none
// (no cookie, unknown, expired or idle too long).
func (p *Pages) CurrentSession(r *http.Request) (*storage.BrowserSession, error) {
	v := p.cookie(r, sessionCookie)
	if len(v) != 43 {
		return nil, nil
	}
	ctx := r.Context()
	now := p.now()
	s, err := p.store.SessionByID(ctx, digest(v), now)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(s.LastSeenAt) > SessionIdleTimeout {
		return nil, nil
	}
	if now.Sub(s.LastSeenAt) > touchEvery {
		if err := p.store.TouchSession(ctx, s.ID, now); err != nil {
			httpapi.Logger(ctx).Warn("web: touch session", "error", err)
		}
	}
	return s, nil
}

// startSession signs the browser in as user, replacing any session it had.
// A fresh id every time defeats session fixation. The families of a previous
// session of the same user move to the new one (still the same person);
// those of another user's session are revoked with it.
func (p *Pages) startSession(w http.ResponseWriter, r *http.Request, user *storage.User, previous *storage.BrowserSession) (*storage.BrowserSession, error) {
	return p.startSessionAMR(w, r, user, previous, []string{mfa.AMRPassword})
}

// startSessionAMR is startSession recording how the user authenticated
// (RFC 8176 amr values), which the ID tokens of the session carry.
func (p *Pages) startSessionAMR(w http.ResponseWriter, r *http.Request, user *storage.User, previous *storage.BrowserSession, amr []string) (*storage.BrowserSession, error) {
	now := p.now().UTC()
	token := randomToken()
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	s := &storage.BrowserSession{
		ID: digest(token), UserID: user.ID, AuthTime: now, CreatedAt: now,
		ExpiresAt: now.Add(SessionLifetime), LastSeenAt: now, UserAgent: ua, AMR: mfa.JoinAMR(amr),
	}
	ctx := r.Context()
	if err := p.store.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	if previous != nil {
		if previous.UserID == user.ID {
			if err := p.store.MoveSessionFamilies(ctx, previous.ID, s.ID); err != nil {
				return nil, err
			}
		}
		if err := p.endSessionByID(ctx, previous.ID); err != nil {
			return nil, err
		}
	}
	// Opportunistic, bounded clean-up of expired browser state.
	if _, err := p.store.DeleteExpiredSessions(ctx, now, 100); err != nil {
		httpapi.Logger(ctx).Warn("web: delete expired sessions", "error", err)
	}
	p.setCookie(w, sessionCookie, token, int(SessionLifetime.Seconds()))
	return s, nil
}

// endSessionByID deletes a session and revokes every token family it issued
// (docs/security.md, "Accounts and sessions": logout ends the session's refresh tokens and access tokens).
func (p *Pages) endSessionByID(ctx context.Context, id string) error {
	families, err := p.store.DeleteSession(ctx, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range families {
		errs = append(errs, p.provider.RevokeFamily(ctx, f))
	}
	return errors.Join(errs...)
}

// clearSession removes the session cookie.
func (p *Pages) clearSession(w http.ResponseWriter) {
	p.setCookie(w, sessionCookie, "", -1)
}
