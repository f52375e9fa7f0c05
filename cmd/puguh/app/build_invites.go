package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/ratelimit"
)

// invitationKeep is how long an invitation that ended (accepted, revoked,
// expired) is kept, so its link still says why it no longer works.
const invitationKeep = 30 * 24 * time.Hour

// The budgets of email-change links: per user, and per new address.
var (
	changesPerUser    = ratelimit.Limit{Rate: 10, Burst: 10, Period: time.Hour}
	changesPerAddress = ratelimit.Limit{Rate: 5, Burst: 5, Period: time.Hour}
)

// changeBudget is identity.ChangeLimit on the rate limiter.
type changeBudget struct{ limits ratelimit.Store }

func (b changeBudget) Allow(ctx context.Context, userID, email string) error {
	sum := sha256.Sum256([]byte(email))
	for _, k := range []struct {
		key   string
		limit ratelimit.Limit
	}{
		{"mail:change:user:" + userID, changesPerUser},
		{"mail:change:email:" + hex.EncodeToString(sum[:16]), changesPerAddress},
	} {
		res, err := b.limits.Allow(ctx, k.key, k.limit)
		if err != nil {
			return err
		}
		if !res.Allowed {
			return ratelimit.Refusal(res)
		}
	}
	return nil
}

// buildInvitations makes invitations and the signed-in user's own changes
// of password and address, and schedules the removal of old invitations.
func (a *App) buildInvitations(limits ratelimit.Store, hasher *password.Hasher, now func() time.Time) {
	s := &a.s
	s.invitations = &orgs.Invitations{Orgs: s.orgs, Store: s.store, Mailer: s.mailer, Audit: s.audit,
		BaseURL: a.cfg.Issuer, Limits: limits, Now: now}
	s.changes = &identity.Changes{Store: s.store, Passwords: s.signIn, Hasher: hasher, Grants: s.accounts,
		Emails: s.emails, ChangeLimit: changeBudget{limits}, Audit: s.audit}
	a.background = append(a.background, func(ctx context.Context) {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := a.sql.DeleteEndedInvitations(ctx, now().Add(-invitationKeep)); err != nil {
					a.log.Warn("janitor: delete ended invitations", "error", err)
				} else if n > 0 {
					a.log.Debug("janitor: deleted ended invitations", "count", n)
				}
			}
		}
	})
}
