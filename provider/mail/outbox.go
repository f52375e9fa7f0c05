package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Outbox is the sender without an SMTP server: each message is written, in
// full, to a file in Dir (mode 0600), and the log names the file and the
// subject only, never the links or codes inside. A local user opens the file
// to follow a link; nothing leaves the machine.
type Outbox struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time
}

// NewOutbox returns an outbox writing into dir (created with mode 0700 when
// missing). now may be nil.
func NewOutbox(dir, from string, log *slog.Logger, now func() time.Time) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Outbox{dir: dir, from: from, log: log, now: now}, nil
}

// Dir is where the messages go.
func (o *Outbox) Dir() string { return o.dir }

// Send writes m to a new file named <time>-<random>.eml.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	now := o.now().UTC()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := filepath.Join(o.dir, now.Format("20060102T150405.000000000Z")+"-"+hex.EncodeToString(b[:])+".eml")
	// Written under a temporary name and renamed, so a reader never sees half a message.
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	werr := write(f, o.from, m, now)
	if err := f.Close(); werr == nil && err != nil {
		werr = fmt.Errorf("mail: outbox: %w", err)
	}
	if werr == nil {
		if err := os.Rename(tmp, name); err != nil {
			werr = fmt.Errorf("mail: outbox: %w", err)
		}
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return werr
	}
	o.log.InfoContext(ctx, "mail written to the outbox (no PUGUH_SMTP_URL)", "path", name, "subject", m.Subject)
	return nil
}
