package puguhtest

import (
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var linkRE = regexp.MustCompile(`https?://\S+`)

// MailLink waits (10 s at most) for the (n+1)th message to to in the
// server's outbox ($PUGUH_DATA_DIR/outbox, without PUGUH_SMTP_URL) whose
// text holds a link to BaseURL+path, and returns that link.
func (s *Server) MailLink(t testing.TB, to, path string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var links []string
		files, _ := filepath.Glob(filepath.Join(s.DataDir, "outbox", "*.eml"))
		sort.Strings(files)
		for _, f := range files {
			if l := linkIn(t, f, to, s.BaseURL+path); l != "" {
				links = append(links, l)
			}
		}
		if len(links) > n {
			return links[n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %d to %s with a link to %s after 10 s", n+1, to, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkIn returns the link starting with prefix in the text part of the
// message in file, if it is addressed to to.
func linkIn(t testing.TB, file, to, prefix string) string {
	raw, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	msg, err := mail.ReadMessage(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if addr, err := mail.ParseAddress(msg.Header.Get("To")); err != nil || !strings.EqualFold(addr.Address, to) {
		return ""
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			return ""
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			continue
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, l := range linkRE.FindAllString(string(body), -1) {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
	}
}
