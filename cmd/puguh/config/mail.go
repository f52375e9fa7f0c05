package config

import (
	"net/mail"
	"net/url"
	"strings"
)

// validateMail checks PUGUH_SMTP_URL's form (package provider/mail checks
// the rest when it builds the sender) and PUGUH_MAIL_FROM, filling in the
// default sender from the issuer's host.
func (c *Config) validateMail() error {
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			return &Error{"PUGUH_SMTP_URL", "must be an smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (implicit TLS) URL"}
		}
	}
	if c.MailFrom == "" {
		host := "localhost"
		if u, err := url.Parse(c.Issuer); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		if strings.Contains(host, ":") { // an IPv6 literal is no mail domain
			host = "localhost"
		}
		c.MailFrom = "Puguh <noreply@" + host + ">"
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return &Error{"PUGUH_MAIL_FROM", "must be an email address, optionally with a name: Puguh <noreply@example.com>"}
	}
	return nil
}
