package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arsaka/puguh/provider/mail"
	"github.com/arsaka/puguh/provider/mail/mailtest"
	"github.com/arsaka/puguh/templates"
)

const link = "https://id.example.com/verify-email?token=secret-token-123"

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func fastQueue() mail.QueueConfig {
	return mail.QueueConfig{Attempts: 4, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, SendTimeout: 5 * time.Second}
}

// run starts q and returns a func that stops it and waits for its drain.
func run(t *testing.T, q *mail.Queue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func newMailer(t *testing.T, sender mail.Sender, cfg mail.QueueConfig, reg prometheus.Registerer) (*mail.Mailer, *mail.Queue) {
	t.Helper()
	tpl, err := mail.ParseTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	q := mail.NewQueue(sender, cfg, quietLog(), mail.NewMetrics(reg))
	return mail.NewMailer(tpl, q, quietLog()), q
}

func verifyData() map[string]any {
	return map[string]any{"Name": "Ada <Lovelace>", "Email": "ada@example.com", "Link": link, "Expires": "24 hours"}
}

// TestSMTPDelivers sends a rendered message through a real SMTP server, over
// STARTTLS and implicit TLS with PLAIN authentication, and reads it back.
func TestSMTPDelivers(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		name := "starttls"
		if implicit {
			name = "implicit-tls"
		}
		t.Run(name, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{ImplicitTLS: implicit, Username: "puguh", Password: "p@ss:word/1"})
			smtp, err := mail.NewSMTP(srv.URL(), "Puguh <noreply@example.com>", mail.SMTPOptions{TLSConfig: srv.ClientTLS})
			if err != nil {
				t.Fatal(err)
			}
			m, q := newMailer(t, smtp, fastQueue(), nil)
			run(t, q)
			m.Send(context.Background(), "ada@example.com", "verify_email", verifyData())
			got := srv.Wait(t, 1, 10*time.Second)[0]
			if !got.TLS || got.AuthUser != "puguh" || got.From != "noreply@example.com" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
				t.Fatalf("envelope: tls %v, user %q, from %q, to %v", got.TLS, got.AuthUser, got.From, got.To)
			}
			if got.Subject != "Confirm your email address" {
				t.Fatalf("subject %q", got.Subject)
			}
			if !strings.Contains(got.Text, "Hello Ada <Lovelace>,") || !strings.Contains(got.Text, "\n"+link+"\n") {
				t.Fatalf("text part:\n%s", got.Text)
			}
			// The HTML escapes the name and carries the link.
			if !strings.Contains(got.HTML, "Hello Ada &lt;Lovelace&gt;,") || !strings.Contains(got.HTML, `href="`+link+`"`) {
				t.Fatalf("html part:\n%s", got.HTML)
			}
			if got.Header.Get("Message-Id") == "" || got.Header.Get("Date") == "" {
				t.Fatalf("headers: %v", got.Header)
			}
		})
	}
}

func TestSMTPWrongPasswordIsNotDelivered(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "puguh", Password: "right"})
	u := strings.Replace(srv.URL(), ":right@", ":wrong@", 1)
	smtp, err := mail.NewSMTP(u, "noreply@example.com", mail.SMTPOptions{TLSConfig: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	err = smtp.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "s", Text: "t"})
	if err == nil || len(srv.Messages()) != 0 {
		t.Fatalf("err %v, messages %d", err, len(srv.Messages()))
	}
}

// TestSMTPUntrustedCertificateRefused: STARTTLS verifies the server's
// certificate; credentials never go to a server it cannot verify.
func TestSMTPUntrustedCertificateRefused(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Username: "puguh", Password: "pw"})
	smtp, err := mail.NewSMTP(srv.URL(), "noreply@example.com", mail.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := smtp.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("sent to a server with an untrusted certificate")
	}
	if srv.Attempts() != 0 {
		t.Fatalf("%d messages offered", srv.Attempts())
	}
}

// TestTemporaryFailuresAreRetried: 451 twice, then the message goes through;
// the retries are counted.
func TestTemporaryFailuresAreRetried(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TempFailures: 2})
	smtp, err := mail.NewSMTP(srv.URL(), "noreply@example.com", mail.SMTPOptions{TLSConfig: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, q := newMailer(t, smtp, fastQueue(), reg)
	run(t, q)
	m.Send(context.Background(), "ada@example.com", "verify_email", verifyData())
	srv.Wait(t, 1, 10*time.Second)
	waitCounter(t, reg, "puguh_mail_messages_total", `result="sent"`, 1)
	if srv.Attempts() != 3 || counter(t, reg, "puguh_mail_retries_total", "") != 2 {
		t.Fatalf("attempts %d, retries %v", srv.Attempts(), counter(t, reg, "puguh_mail_retries_total", ""))
	}
}

// TestPermanentFailureIsNotRetried: a 550 is final, logged and counted.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Reject: true})
	smtp, err := mail.NewSMTP(srv.URL(), "noreply@example.com", mail.SMTPOptions{TLSConfig: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, q := newMailer(t, smtp, fastQueue(), reg)
	run(t, q)
	m.Send(context.Background(), "ada@example.com", "verify_email", verifyData())
	waitCounter(t, reg, "puguh_mail_messages_total", `result="failed"`, 1)
	if srv.Attempts() != 1 {
		t.Fatalf("attempts %d, want 1", srv.Attempts())
	}
}

// TestUnreachableServerGivesUpAfterAttempts: nothing listens; every attempt
// fails, the message is counted as failed and Send never blocked.
func TestUnreachableServerGivesUpAfterAttempts(t *testing.T) {
	smtp, err := mail.NewSMTP("smtp://127.0.0.1:1", "noreply@example.com", mail.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, q := newMailer(t, smtp, fastQueue(), reg)
	run(t, q)
	begin := time.Now()
	m.Send(context.Background(), "ada@example.com", "verify_email", verifyData())
	if d := time.Since(begin); d > 100*time.Millisecond {
		t.Fatalf("Send took %v", d)
	}
	waitCounter(t, reg, "puguh_mail_messages_total", `result="failed"`, 1)
	if r := counter(t, reg, "puguh_mail_retries_total", ""); r != 3 {
		t.Fatalf("retries %v, want 3 (4 attempts)", r)
	}
}

// blockingSender holds every send until released.
type blockingSender struct {
	release chan struct{}
	sent    atomic.Int32
}

func (b *blockingSender) Send(ctx context.Context, _ mail.Message) error {
	<-b.release
	b.sent.Add(1)
	return nil
}

// TestFullQueueDropsWithoutBlocking: the queue is bounded; one message more
// is dropped and counted, and Send returns at once.
func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	b := &blockingSender{release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	cfg := fastQueue()
	cfg.Size, cfg.Workers = 2, 1
	m, q := newMailer(t, b, cfg, reg)
	stop := run(t, q)
	// One in the worker's hands (wait until it took it), two queued, one dropped.
	m.Send(context.Background(), "a@example.com", "verify_email", verifyData())
	deadline := time.Now().Add(5 * time.Second)
	for gauge(t, reg, "puguh_mail_queue_depth") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker never took the first message")
		}
		time.Sleep(time.Millisecond)
	}
	begin := time.Now()
	for range 3 {
		m.Send(context.Background(), "a@example.com", "verify_email", verifyData())
	}
	if d := time.Since(begin); d > 100*time.Millisecond {
		t.Fatalf("Send blocked for %v", d)
	}
	if got := counter(t, reg, "puguh_mail_messages_total", `result="dropped"`); got != 1 {
		t.Fatalf("dropped %v, want 1", got)
	}
	if got := gauge(t, reg, "puguh_mail_queue_depth"); got != 2 {
		t.Fatalf("queue depth %v, want 2", got)
	}
	close(b.release)
	stop()
	if b.sent.Load() != 3 {
		t.Fatalf("sent %d, want 3", b.sent.Load())
	}
}

// TestShutdownDrainsTheQueue: messages still queued when Run's context ends
// are sent before Run returns.
func TestShutdownDrainsTheQueue(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	smtp, err := mail.NewSMTP(srv.URL(), "noreply@example.com", mail.SMTPOptions{TLSConfig: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	m, q := newMailer(t, smtp, fastQueue(), nil)
	// Queued before the workers start, then shut down at once.
	for range 5 {
		m.Send(context.Background(), "ada@example.com", "verify_email", verifyData())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.Run(ctx)
	if n := len(srv.Messages()); n != 5 {
		t.Fatalf("%d messages delivered by the drain, want 5", n)
	}
}

// TestOutboxWritesTheMessageAndLogsNoSecret: without SMTP each message is a
// file of its own (0600) that a local user can open; the log line names the
// file and the subject, not the link.
func TestOutboxWritesTheMessageAndLogsNoSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	ob, err := mail.NewOutbox(dir, "Puguh <noreply@localhost>", log, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, q := newMailer(t, ob, fastQueue(), nil)
	stop := run(t, q)
	m.Send(context.Background(), "ada@example.com", "verify_email", verifyData())
	m.Send(context.Background(), "bob@example.com", "password_reset", map[string]any{"Name": "Bob", "Email": "bob@example.com", "Link": link + "-2", "Expires": "30 minutes"})
	stop()
	msgs, err := mailtest.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages in the outbox", len(msgs))
	}
	bySubject := map[string]*mailtest.Received{}
	for _, msg := range msgs {
		bySubject[msg.Subject] = msg
	}
	v, r := bySubject["Confirm your email address"], bySubject["Reset your password"]
	if v == nil || r == nil || v.Header.Get("To") != "<ada@example.com>" || !strings.Contains(v.Text, link) || !strings.Contains(r.Text, link+"-2") {
		t.Fatalf("outbox: %+v", bySubject)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 || !strings.HasSuffix(f, ".eml") {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
		if !strings.Contains(logs.String(), f) {
			t.Fatalf("log does not name %s:\n%s", f, logs.String())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("outbox mode %v", fi.Mode())
	}
	if strings.Contains(logs.String(), "secret-token") || !strings.Contains(logs.String(), "Reset your password") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, ok := range []string{"smtp://mail.example.com", "smtp://u:p@mail.example.com:587", "smtps://u:p@mail.example.com",
		"smtp://relay:25?starttls=opportunistic", "smtps://mail.example.com:465/"} {
		if _, err := mail.ParseSMTPURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"http://mail.example.com":                         "must be an smtp:// (STARTTLS) or smtps:// (implicit TLS) URL",
		"smtp://":                                         "names no host",
		"smtp://mail.example.com:99999":                   "has an invalid port",
		"smtp://mail.example.com?tls=off":                 `has an unknown parameter "tls"`,
		"smtps://mail.example.com?starttls=opportunistic": "starttls must be required or opportunistic (smtp:// only)",
		"smtp://mail.example.com?starttls=never":          "starttls must be required or opportunistic (smtp:// only)",
		"smtp://mail.example.com/path":                    "must have no path or fragment",
		"smtp://[::1":                                     "is not a valid URL",
	} {
		if _, err := mail.ParseSMTPURL(raw); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
}

// TestTemplatesRenderEveryMessage renders every message Puguh sends and
// refuses a missing field instead of sending "<no value>".
func TestTemplatesRenderEveryMessage(t *testing.T) {
	tpl, err := mail.ParseTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]map[string]any{
		"verify_email":   verifyData(),
		"password_reset": {"Name": "Ada", "Email": "ada@example.com", "Link": link, "Expires": "30 minutes"},
		"invitation":     {"Inviter": "Ada", "Organization": "Acme", "Role": "admin", "Link": link, "Expires": "7 days"},
		"email_changed":  {"Name": "Ada", "NewEmail": "n***@example.com", "Time": "2026-01-02 15:04 UTC", "Link": link},
	}
	for name, d := range data {
		m, err := tpl.Render(name, d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Subject == "" || strings.Contains(m.Subject, "\n") || !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, link) ||
			strings.Contains(m.Text+m.HTML, "<no value>") {
			t.Fatalf("%s: %+v", name, m)
		}
		delete(d, "Link")
		if _, err := tpl.Render(name, d); err == nil {
			t.Fatalf("%s rendered without its link", name)
		}
	}
	if _, err := tpl.Render("nope", nil); err == nil {
		t.Fatal("unknown template rendered")
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			if strings.Join(labels, ",") == label {
				if m.Counter != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	return counter(t, reg, name, "")
}

func waitCounter(t *testing.T, reg *prometheus.Registry, name, label string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for counter(t, reg, name, label) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s{%s} = %v, want %v", name, label, counter(t, reg, name, label), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
