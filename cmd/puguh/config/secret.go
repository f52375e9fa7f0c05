package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SecretFile is where the embedded default keeps a generated master secret.
func (c *Config) SecretFile() string { return filepath.Join(c.DataDir, "secret") }

// ReadSecret fills in c.Secret for the embedded default from the secret
// kept in the data directory, and reports whether there is a secret (from
// PUGUH_SECRET or the file). Unlike EnsureSecret it never makes one.
func (c *Config) ReadSecret() (bool, error) {
	if c.Secret != nil {
		return true, nil
	}
	path := c.SecretFile()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read secret file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < MinSecretLength {
		return false, &Error{"PUGUH_SECRET", fmt.Sprintf("the secret kept in %s is shorter than %d characters", path, MinSecretLength)}
	}
	c.Secret = []byte(s)
	return true, nil
}

// EnsureSecret fills in c.Secret for the embedded default: it reads the secret
// kept in the data directory, or generates one there (mode 0600). generated is
// true when a new secret was written, so the caller can warn about it.
func (c *Config) EnsureSecret() (generated bool, err error) {
	if found, err := c.ReadSecret(); found || err != nil {
		return false, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("create data directory: %w", err)
	}
	var raw [48]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return false, fmt.Errorf("generate secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw[:])
	// O_EXCL: two processes starting at once must not overwrite each other's secret.
	f, err := os.OpenFile(c.SecretFile(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		c.Secret = nil
		return c.EnsureSecret()
	}
	if err != nil {
		return false, fmt.Errorf("create secret file: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return false, fmt.Errorf("write secret file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, fmt.Errorf("sync secret file: %w", err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("close secret file: %w", err)
	}
	c.Secret = []byte(s)
	return true, nil
}
