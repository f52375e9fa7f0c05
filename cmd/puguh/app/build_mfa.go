package app

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/provider/web"
)

// buildMFA makes the second-factor service: TOTP secrets sealed with a key
// derived from PUGUH_SECRET (keys.Box, the signing keys' construction),
// second-factor guesses on the sign-in throttle's budgets (keyed apart from
// passwords), and audit events in the audit log.
func (a *App) buildMFA(now func() time.Time, limits ratelimit.Store) (*mfa.Service, error) {
	box, err := keys.NewBox(a.cfg.Secret, "totp")
	if err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	issuer := "Puguh"
	if u, err := url.Parse(a.cfg.Issuer); err == nil && u.Host != "" {
		issuer = u.Host
	}
	return &mfa.Service{
		Store: a.s.store, Box: box, Passwords: a.s.signIn,
		Throttle: ratelimit.NewAccounts(limits, ratelimit.AccountLimit),
		Audit:    a.s.audit, Issuer: issuer, Now: now,
	}, nil
}

// buildPasskeys makes the passkey service: the WebAuthn relying party is
// PUGUH_ISSUER's host and origin. An issuer on an IP address cannot be a
// relying party (WebAuthn needs a host name): passkeys are then off, with a
// warning, and everything else works.
func (a *App) buildPasskeys(m *mfa.Service) (*mfa.Passkeys, error) {
	rp, err := mfa.NewRelyingParty(a.cfg.Issuer)
	if errors.Is(err, mfa.ErrNoRelyingParty) {
		a.log.Warn("passkeys are off: PUGUH_ISSUER names an IP address, and WebAuthn needs a host name", "issuer", a.cfg.Issuer)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &mfa.Passkeys{MFA: m, Store: a.s.store, RP: rp}, nil
}

// accountPasskeys is the passkeys of the Security tab, or none (a nil
// interface, not a nil pointer in one).
func (s *services) accountPasskeys() web.AccountPasskeys {
	if s.passkeys == nil {
		return nil
	}
	return s.passkeys
}

// addPasskeyIPRoutes puts the passkey sign-in on the per-IP sign-in budget
// like the password and the code, and the ceremonies it begins (each a
// stored challenge) on the anonymous one.
func addPasskeyIPRoutes(cfg *httpapi.IPLimitsConfig) {
	signIn := cfg.Routes["POST /login"]
	cfg.Routes["POST /login/passkey"] = signIn
	cfg.Routes["POST /login/mfa/passkey"] = signIn
	cfg.Routes["POST /login/passkey/options"] = cfg.Anonymous
	cfg.Routes["POST /login/mfa/passkey/options"] = cfg.Anonymous
}
