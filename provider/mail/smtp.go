package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends through an SMTP server (PUGUH_SMTP_URL).
type SMTP struct {
	from   string
	opts   []gomail.Option
	host   string
	server string // host:port, for logs; never the credentials
	now    func() time.Time
}

// SMTPOptions are what the URL does not say.
type SMTPOptions struct {
	// TLSConfig replaces the default (the system roots, verifying the host);
	// tests use it to trust their own server.
	TLSConfig *tls.Config
	Now       func() time.Time
}

// ParseSMTPURL checks an SMTP URL: smtp://[user:pass@]host[:port] speaks
// STARTTLS (required; port 587 by default), smtps:// implicit TLS (port 465
// by default). ?starttls=opportunistic on smtp:// sends in the clear to a
// server that does not offer STARTTLS, for a local relay.
func ParseSMTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, errors.New("must be an smtp:// (STARTTLS) or smtps:// (implicit TLS) URL")
	}
	if u.Hostname() == "" {
		return nil, errors.New("names no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("has an invalid port")
		}
	}
	for k := range u.Query() {
		if k != "starttls" {
			return nil, fmt.Errorf("has an unknown parameter %q", k)
		}
	}
	switch v := u.Query().Get("starttls"); {
	case v == "" || v == "required":
	case v == "opportunistic" && u.Scheme == "smtp":
	default:
		return nil, errors.New("starttls must be required or opportunistic (smtp:// only)")
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, errors.New("must have no path or fragment")
	}
	return u, nil
}

// NewSMTP returns a sender for the server at rawURL (ParseSMTPURL), sending
// from from.
func NewSMTP(rawURL, from string, o SMTPOptions) (*SMTP, error) {
	u, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: PUGUH_SMTP_URL %s", err)
	}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	tlsConfig := o.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = u.Hostname()
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTLSConfig(tlsConfig), gomail.WithTimeout(20 * time.Second)}
	switch {
	case u.Scheme == "smtps":
		opts = append(opts, gomail.WithSSL())
	case u.Query().Get("starttls") == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &SMTP{from: from, opts: opts, host: u.Hostname(), server: u.Host, now: now}, nil
}

// Server is host:port of the server, without credentials, for logs.
func (s *SMTP) Server() string { return s.server }

// Send delivers m in one connection. A refusal the server calls permanent
// (5xx) is not retried.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.from, m, s.now())
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 {
			return Permanent(fmt.Errorf("mail: smtp %s: %w", s.server, err))
		}
		return fmt.Errorf("mail: smtp %s: %w", s.server, err)
	}
	return nil
}
