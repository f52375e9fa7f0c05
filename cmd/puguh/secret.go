package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// secretBytes is the entropy of a generated secret: 48 bytes, 64 base64
// characters, as `openssl rand -base64 48` makes.
const secretBytes = 48

// secretCommand is `puguh secret generate [--env-file FILE]`. It prints a new
// master secret for PUGUH_SECRET, or writes it into a .env file once. The
// secret must then stay the same for the life of the database: the signing
// keys are encrypted with it, so a new one on every start makes the next
// start fail. It reads no configuration: there is no secret yet.
var secretCommand = &command{
	name:    "secret",
	summary: "make the master secret, PUGUH_SECRET",
	subs: []*command{
		{
			name:    "generate",
			summary: "print a new PUGUH_SECRET, or write it into a .env file once",
			usage:   "[--env-file FILE]",
			about: `48 random bytes in base64. Keep it for as long as the database lives: the signing keys are encrypted
with it. --env-file creates the file (mode 0600), fills in an empty PUGUH_SECRET= line or appends one, and
refuses a file that already sets a value. Needs no configuration, database or secret.`,
			setup: func(fs *flag.FlagSet) action {
				envFile := fs.String("env-file", "", "write PUGUH_SECRET=... into `FILE` unless it already sets one")
				return func(_ context.Context, in *invocation, _ []string) error {
					return generateSecret(in.stdout, *envFile)
				}
			},
		},
	},
}

func generateSecret(stdout io.Writer, envFile string) error {
	secret, err := newSecret()
	if err != nil {
		return err
	}
	if envFile == "" {
		fmt.Fprintln(stdout, secret)
		return nil
	}
	if err := writeEnvSecret(envFile, secret); err != nil {
		return err
	}
	// The secret itself is not printed: it is in the file, and terminals and
	// CI logs keep what they show.
	fmt.Fprintf(stdout, "wrote a new PUGUH_SECRET to %s; keep it (and back it up) for as long as the database lives\n", envFile)
	return nil
}

// newSecret returns secretBytes from the operating system's CSPRNG in
// standard base64.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// envSecretLine matches an assignment of PUGUH_SECRET in a .env file (with or
// without `export`), capturing the value; commented lines do not match.
var envSecretLine = regexp.MustCompile(`^\s*(?:export\s+)?PUGUH_SECRET\s*=(.*)$`)

// writeEnvSecret sets PUGUH_SECRET in the .env file at path: it creates the
// file (mode 0600), fills in an empty `PUGUH_SECRET=` line, or appends one.
// A file that already sets a value is left alone and is an error: replacing
// it would make the keys in an existing database unreadable.
func writeEnvSecret(path, secret string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		_, werr := fmt.Fprintf(f, "PUGUH_SECRET=%s\n", secret)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", path, werr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	filled := false
	for i, line := range lines {
		m := envSecretLine.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			continue
		}
		if value := strings.Trim(strings.TrimSpace(m[1]), `"'`); value != "" {
			return fmt.Errorf("%s already sets PUGUH_SECRET; keep it: the signing keys in the database are encrypted with it (to change it on purpose, edit the file yourself)", path)
		}
		if !filled {
			lines[i] = "PUGUH_SECRET=" + secret + "\n"
			filled = true
		}
	}
	out := strings.Join(lines, "")
	if !filled {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += "PUGUH_SECRET=" + secret + "\n"
	}
	// WriteFile keeps the mode of the existing file.
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
