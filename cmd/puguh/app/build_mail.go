package app

import (
	"fmt"
	"time"

	"github.com/arsaka/puguh/provider/mail"
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
		a.log.Info("mail: sending through SMTP", "server", smtp.Server(), "from", a.cfg.MailFrom)
		sender = smtp
	} else {
		ob, err := mail.NewOutbox(a.cfg.OutboxDir(), a.cfg.MailFrom, a.log, now)
		if err != nil {
			return nil, err
		}
		a.log.Info("mail: no PUGUH_SMTP_URL; messages are written to the outbox", "dir", ob.Dir())
		sender = ob
	}
	q := mail.NewQueue(sender, mail.QueueConfig{}, a.log, mail.NewMetrics(a.registry))
	a.background = append(a.background, q.Run)
	return mail.NewMailer(tpl, q, a.log), nil
}
