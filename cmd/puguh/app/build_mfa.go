package app

import (
	"fmt"
	"net/url"
	"time"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/provider/ratelimit"
)

// buildMFA makes the second-factor service: TOTP secrets sealed with a key
// derived from PUGUH_SECRET (keys.Box, the signing keys' construction),
// second-factor guesses on the sign-in throttle's budgets (keyed apart from
// passwords), and audit events in the log.
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
		Audit:    audit.NewLog(a.log, now), Issuer: issuer, Now: now,
	}, nil
}
