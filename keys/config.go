package keys

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults for Config. Zero fields take these values.
const (
	DefaultRotationPeriod  = 30 * 24 * time.Hour
	DefaultJWKSMaxAge      = 15 * time.Minute
	DefaultLeeway          = 5 * time.Minute
	DefaultKeySize         = 2048
	DefaultRefreshInterval = 5 * time.Second
)

// Limits on KeySize. RFC 7518 §3.3 requires at least 2048 bits for RS256;
// above 8192 bits generation and signing get slow enough to hurt start-up and
// every token, for no practical gain.
const (
	MinKeySize = 2048
	MaxKeySize = 8192
)

// Config tunes the Manager. The durations depend on one another; Validate
// (called by Open) checks the relations that keep caching resource servers
// working through a rotation.
type Config struct {
	// RotationPeriod is how long a key signs before the next one takes over.
	RotationPeriod time.Duration
	// JWKSMaxAge is the Cache-Control max-age of the JWKS document: how long
	// a resource server may go on using a copy without asking again.
	JWKSMaxAge time.Duration
	// PrePublish is how long a next key must have been in the JWKS before it
	// may sign. It must cover JWKSMaxAge plus RefreshInterval (a replica may
	// serve a JWKS without the new key for up to one refresh), so that every
	// resource server's cached copy already holds the key when the first
	// token signed with it arrives. Default: 2 × JWKSMaxAge.
	PrePublish time.Duration
	// MaxTokenLifetime is the longest lifetime of any JWT we sign (access
	// token, ID token, anything else). Required: a retired key stays
	// published that long after its last token was signed.
	MaxTokenLifetime time.Duration
	// Leeway is the clock skew resource servers are assumed to allow on
	// "exp"; a retired key stays published that much longer.
	Leeway time.Duration
	// KeySize is the RSA modulus size in bits, MinKeySize..MaxKeySize.
	KeySize int
	// Algorithms are the algorithms kept ready to sign, each with its own
	// chain of keys rotated on this schedule and published in the JWKS. It
	// must include RS256, the default; nil means RS256 only.
	Algorithms []string
	// RefreshInterval is how often each replica reloads the keys from the
	// database. It bounds how long a replica keeps signing with a key that
	// another replica retired (one interval, plus a database round trip).
	RefreshInterval time.Duration
	// Now is the clock; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
	// Logger receives background-loop errors; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.RotationPeriod == 0 {
		c.RotationPeriod = DefaultRotationPeriod
	}
	if c.JWKSMaxAge == 0 {
		c.JWKSMaxAge = DefaultJWKSMaxAge
	}
	if c.PrePublish == 0 {
		c.PrePublish = 2 * c.JWKSMaxAge
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.KeySize == 0 {
		c.KeySize = DefaultKeySize
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = []string{AlgRS256}
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first setting that would make rotation unsafe. It
// checks the config as Open would use it, defaults filled in.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MaxTokenLifetime <= 0:
		return errors.New("keys: MaxTokenLifetime must be set to the longest JWT lifetime")
	case c.RotationPeriod < 0 || c.JWKSMaxAge < 0 || c.PrePublish < 0 || c.Leeway < 0 || c.RefreshInterval < 0:
		return errors.New("keys: durations must not be negative")
	case c.JWKSMaxAge < time.Second:
		return errors.New("keys: JWKSMaxAge must be at least one second (Cache-Control max-age counts seconds)")
	case c.PrePublish <= c.JWKSMaxAge+c.RefreshInterval:
		// docs/security.md, "Tokens and keys": max-age shorter than the pre-publication window.
		return fmt.Errorf("keys: PrePublish (%s) must exceed JWKSMaxAge + RefreshInterval (%s), or resource servers with a cached JWKS reject new tokens",
			c.PrePublish, c.JWKSMaxAge+c.RefreshInterval)
	case c.RotationPeriod <= c.PrePublish:
		return fmt.Errorf("keys: RotationPeriod (%s) must exceed PrePublish (%s)", c.RotationPeriod, c.PrePublish)
	case c.KeySize < MinKeySize || c.KeySize > MaxKeySize:
		return fmt.Errorf("keys: KeySize %d is outside %d..%d bits", c.KeySize, MinKeySize, MaxKeySize)
	}
	if _, err := ParseAlgorithms(strings.Join(c.Algorithms, ",")); err != nil {
		return fmt.Errorf("keys: Algorithms: %w", err)
	}
	return nil
}

// retireGrace is how long a retired key stays published: a lagging replica
// may sign with it for one more RefreshInterval, its last token lives
// MaxTokenLifetime, and resource servers accept "exp" up to Leeway late.
func (c Config) retireGrace() time.Duration {
	return c.RefreshInterval + c.MaxTokenLifetime + c.Leeway
}
