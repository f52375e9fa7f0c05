// Package mail sends Puguh's outgoing mail: a message is rendered from a
// template (text and HTML), queued in memory and sent in the background, with
// retries, by SMTP (PUGUH_SMTP_URL) or, without a server, into an outbox
// directory a local user can read. Sending never blocks or fails the request
// that asked for it: a message that cannot be queued or sent is logged and
// counted, and the flow that sent it lets the user ask again.
package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one outgoing message.
type Message struct {
	To      string
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html alternative; empty: text only
}

// Sender delivers one message. An error wrapped by Permanent is not retried.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// permanentError marks a failure a retry cannot fix (a refused recipient).
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Mailer renders templates into messages and queues them.
type Mailer struct {
	templates *Templates
	queue     *Queue
	log       *slog.Logger
}

// NewMailer returns a Mailer rendering with t and sending through q.
func NewMailer(t *Templates, q *Queue, log *slog.Logger) *Mailer {
	return &Mailer{templates: t, queue: q, log: log}
}

// Send renders the template name with data and queues the message to to. It
// never blocks and never fails the caller: a template error (a bug) or a full
// queue is logged and counted.
func (m *Mailer) Send(ctx context.Context, to, name string, data any) {
	msg, err := m.templates.Render(name, data)
	if err != nil {
		m.log.ErrorContext(ctx, "mail: render", "template", name, "error", err)
		m.queue.metrics.result("failed")
		return
	}
	msg.To = to
	m.queue.Enqueue(ctx, msg)
}

// Compose is work a worker does before sending, off the request's path: it
// stores what the message carries (a link's token) and names the recipient,
// the template and its data. An error sends nothing.
type Compose func(ctx context.Context) (to, template string, data any, err error)

// SendComposed queues compose; a worker runs it, renders the message and
// sends it. The request that queued it spends the same short time whatever
// compose will do, so its timing tells nothing about it.
func (m *Mailer) SendComposed(ctx context.Context, compose func(ctx context.Context) (to, template string, data any, err error)) {
	m.queue.enqueue(ctx, item{compose: func(ctx context.Context) (Message, error) {
		to, name, data, err := compose(ctx)
		if err != nil {
			return Message{}, err
		}
		msg, err := m.templates.Render(name, data)
		msg.To = to
		return msg, err
	}})
}

// build makes the RFC 5322 message both senders write.
func build(from string, m Message, now time.Time) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, Permanent(fmt.Errorf("mail: to: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDateWithValue(now)
	msg.SetUserAgent("Puguh")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// write writes m as an RFC 5322 message to w.
func write(w io.Writer, from string, m Message, now time.Time) error {
	msg, err := build(from, m, now)
	if err != nil {
		return err
	}
	if _, err := msg.WriteTo(w); err != nil {
		return fmt.Errorf("mail: write message: %w", err)
	}
	return nil
}
