package config

import (
	"strings"
	"testing"
)

func TestLoadMail(t *testing.T) {
	c, err := Load(env(map[string]string{"PUGUH_ISSUER": "https://id.example.com:8443"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "" || c.MailFrom != "Puguh <noreply@id.example.com>" || c.OutboxDir() != "data/outbox" {
		t.Fatalf("mail defaults: %q %q %q", c.SMTPURL, c.MailFrom, c.OutboxDir())
	}
	if c.RequireVerifiedEmail {
		t.Fatal("PUGUH_REQUIRE_VERIFIED_EMAIL is off by default")
	}
	c, err = Load(env(map[string]string{"PUGUH_SMTP_URL": "smtps://u:p@mail.example.com", "PUGUH_MAIL_FROM": "Acme IdP <id@acme.example>",
		"PUGUH_REQUIRE_VERIFIED_EMAIL": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPURL != "smtps://u:p@mail.example.com" || c.MailFrom != "Acme IdP <id@acme.example>" || !c.RequireVerifiedEmail {
		t.Fatalf("mail values: %q %q", c.SMTPURL, c.MailFrom)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PUGUH_SMTP_URL": "http://u:hunter2@mail.example.com"},
			"config: PUGUH_SMTP_URL: must be an smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (implicit TLS) URL"},
		{map[string]string{"PUGUH_SMTP_URL": "smtp://"},
			"config: PUGUH_SMTP_URL: must be an smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465 (implicit TLS) URL"},
		{map[string]string{"PUGUH_MAIL_FROM": "noreply"},
			"config: PUGUH_MAIL_FROM: must be an email address, optionally with a name: Puguh <noreply@example.com>"},
	} {
		_, err := Load(env(tc.env))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the SMTP password: %v", err)
		}
	}
}
