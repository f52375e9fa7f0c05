package apptest

import (
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/arsaka/puguh/provider/mail/mailtest"
)

// Outbox parses every message the server has written to its outbox
// ($PUGUH_DATA_DIR/outbox, without PUGUH_SMTP_URL), oldest first.
func (e *Env) Outbox() []*mailtest.Received {
	e.T.Helper()
	msgs, err := mailtest.ReadDir(e.cfg.OutboxDir())
	if err != nil {
		e.T.Fatal(err)
	}
	return msgs
}

// WaitMail waits up to 10 s for the (n+1)th message to to whose subject
// contains subject, n counting from 0, and returns it.
func (e *Env) WaitMail(to, subject string, n int) *mailtest.Received {
	e.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []*mailtest.Received
		for _, m := range e.Outbox() {
			addr, err := mail.ParseAddress(m.Header.Get("To"))
			if err == nil && strings.EqualFold(addr.Address, to) && strings.Contains(m.Subject, subject) {
				found = append(found, m)
			}
		}
		if len(found) > n {
			return found[n]
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("no message %d to %s about %q in the outbox after 10s (%d there)", n+1, to, subject, len(found))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// MailCount counts the messages to to in the outbox.
func (e *Env) MailCount(to string) int {
	e.T.Helper()
	n := 0
	for _, m := range e.Outbox() {
		if addr, err := mail.ParseAddress(m.Header.Get("To")); err == nil && strings.EqualFold(addr.Address, to) {
			n++
		}
	}
	return n
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// LinkIn returns the first link in m's text part that starts with
// e.URL+path.
func (e *Env) LinkIn(m *mailtest.Received, path string) string {
	e.T.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.HasPrefix(l, e.URL+path) {
			return l
		}
	}
	e.T.Fatalf("no link to %s in:\n%s", path, m.Text)
	return ""
}
