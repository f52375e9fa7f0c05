package app

import (
	"context"
	"fmt"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/mail"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/templates"
)

// buildMail makes the outgoing mail: SMTP when PUGUH_SMTP_URL is set, the
// outbox directory otherwise, behind one bounded queue whose workers run in
// the background and drain it when the app closes.
func (a *App) buildMail(now func() time.Time) (*mail.Mailer, error) {
	tpl, err := mail.ParseTemplates(templates.FS)
	if err != nil {
		return nil, err
	}
	var sender mail.Sender
	if a.cfg.SMTPURL != "" {
		smtp, err := mail.NewSMTP(a.cfg.SMTPURL, a.cfg.MailFrom, mail.SMTPOptions{Now: now})
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		a.log.Debug("mail: sending through SMTP", "server", smtp.Server(), "from", a.cfg.MailFrom)
		sender = smtp
	} else {
		ob, err := mail.NewOutbox(a.cfg.OutboxDir(), a.cfg.MailFrom, a.log, now)
		if err != nil {
			return nil, err
		}
		a.log.Debug("mail: no PUGUH_SMTP_URL; messages are written to the outbox", "dir", ob.Dir())
		sender = ob
	}
	q := mail.NewQueue(sender, mail.QueueConfig{}, a.log, mail.NewMetrics(a.registry))
	a.background = append(a.background, q.Run)
	return mail.NewMailer(tpl, q, a.log), nil
}

// The budgets of the flows that mail a link: per address (over it, nothing
// is sent and the answer is the same) and per client IP (over it, 429).
var (
	mailPerEmail = ratelimit.Limit{Rate: 5, Burst: 5, Period: time.Hour}
	mailPerIP    = ratelimit.Limit{Rate: 30, Burst: 30, Period: time.Hour}
)

// buildEmails makes the email-link flows, hooks them into sign-up and
// sign-in, and schedules the removal of expired links.
func (a *App) buildEmails(limits ratelimit.Store, hasher *password.Hasher, now func() time.Time) {
	s := &a.s
	s.emails = &identity.Emails{Store: s.store, Mailer: s.mailer, Audit: s.audit, BaseURL: a.cfg.Issuer,
		ResendLimit: ratelimit.NewEmails(limits, "verify", mailPerEmail, mailPerIP), Now: now}
	s.signIn.Emails = s.emails
	s.resets = &identity.PasswordReset{Emails: s.emails, Store: s.store, Hasher: hasher, Grants: s.accounts,
		Limit: ratelimit.NewEmails(limits, "reset", mailPerEmail, mailPerIP)}
	s.signIn.RequireVerifiedEmail = a.cfg.RequireVerifiedEmail
	a.background = append(a.background, func(ctx context.Context) {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := a.s.store.DeleteExpiredEmailTokens(ctx, now()); err != nil {
					a.log.Warn("janitor: delete expired email links", "error", err)
				} else if n > 0 {
					a.log.Debug("janitor: deleted expired email links", "count", n)
				}
			}
		}
	})
}

// addMailIPRoutes puts the routes of the email-link flows under the
// anonymous per-IP budget, which also gives their handlers the client IP
// that the flows' own per-IP budgets are keyed by.
func (a *App) addMailIPRoutes(cfg *httpapi.IPLimitsConfig) {
	for _, route := range []string{
		"POST /api/v1/auth/verify-email", "POST /api/v1/auth/verify-email/resend",
		"POST /verify-email", "POST /verify-email/resend",
		"POST /api/v1/auth/password-reset", "POST /api/v1/auth/password-reset/confirm",
		"POST /password-reset", "POST /password-reset/confirm",
	} {
		cfg.Routes[route] = cfg.Anonymous
	}
}
