// Package config reads Puguh's configuration from PUGUH_* environment variables
// into one typed struct, validated once at start: a bad value fails with a
// single line that names the variable.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is the whole configuration of a Puguh process.
type Config struct {
	Addr        string // PUGUH_ADDR
	Issuer      string // PUGUH_ISSUER, no trailing slash
	DataDir     string // PUGUH_DATA_DIR
	DatabaseURL string // PUGUH_DATABASE_URL
	RedisURL    string // PUGUH_REDIS_URL, empty: in-process fallbacks
	// Secret is PUGUH_SECRET. Empty after Load when the embedded default may
	// generate one; EnsureSecret fills it in.
	Secret []byte

	AccessTokenLifetime  time.Duration // PUGUH_ACCESS_TOKEN_LIFETIME
	RefreshTokenLifetime time.Duration // PUGUH_REFRESH_TOKEN_LIFETIME
	AuthCodeLifetime     time.Duration // PUGUH_AUTH_CODE_LIFETIME
	IDTokenLifetime      time.Duration // PUGUH_ID_TOKEN_LIFETIME
	// RefreshGracePeriod is how long a rotated refresh token may be presented
	// again (two tabs refreshing at once) before a repeat counts as reuse and
	// revokes its family (RFC 9700 §4.14.2). PUGUH_REFRESH_GRACE_PERIOD.
	RefreshGracePeriod time.Duration
	// RefreshTokenRotation is PUGUH_REFRESH_TOKEN_ROTATION (default true):
	// every refresh answers a new refresh token and a replayed old one
	// revokes its family. false answers the presented one again, valid until
	// its lifetime ends or it is revoked, for clients that keep their first
	// refresh token.
	RefreshTokenRotation bool
	KeyRotationPeriod    time.Duration // PUGUH_KEY_ROTATION_PERIOD
	// AuditRetention is PUGUH_AUDIT_RETENTION (default 90d): the janitor
	// deletes audit events older than this.
	AuditRetention time.Duration
	KeySize        int // PUGUH_KEY_SIZE (RSA bits)
	// SigningAlgorithms is PUGUH_SIGNING_ALGORITHMS (default "RS256,ES256"):
	// the JWS algorithms kept keys for, published in the JWKS and offered to
	// applications (id_token_signed_response_alg,
	// access_token_signed_response_alg). RS256 is always on and the default;
	// EdDSA (Ed25519) is opt-in.
	SigningAlgorithms []string
	// Argon2Reclaim is PUGUH_ARGON2_RECLAIM (default true): every password
	// hash frees its 19 MiB buffer before its slot hashes again, which keeps
	// the sign-in peak near the buffers in use (docs/performance.md).
	Argon2Reclaim bool
	// ClientCredentialsConcurrency is PUGUH_CLIENT_CREDENTIALS_CONCURRENCY:
	// how many client_credentials token requests are served at once, the
	// rest waiting their turn in arrival order (docs/performance.md).
	// ConcurrencyAuto (the default): twice GOMAXPROCS with the OpenSSL
	// signer, GOMAXPROCS with crypto/rsa; 0 ("off"): no bound.
	ClientCredentialsConcurrency int
	// IntrospectionConcurrency is PUGUH_INTROSPECTION_CONCURRENCY: how many
	// introspections of a JWT run at once, the same way. ConcurrencyAuto
	// (the default): GOMAXPROCS; 0 ("off"): no bound.
	IntrospectionConcurrency int

	// AdminAddr is PUGUH_ADMIN_ADDR, the operator's listener: /metrics,
	// /livez, /readyz and, with AdminPprof, /debug/pprof/. Default
	// 127.0.0.1:9090; empty when set to "off". Never the public listener.
	AdminAddr string
	// AdminPprof is PUGUH_ADMIN_PPROF: serve Go's profiler on the admin
	// listener; only on a loopback AdminAddr.
	AdminPprof bool

	LogLevel        string        // PUGUH_LOG_LEVEL: debug, info, warn, error
	LogFormat       string        // PUGUH_LOG_FORMAT: json or text
	ShutdownTimeout time.Duration // PUGUH_SHUTDOWN_TIMEOUT
	MaxBodyBytes    int64         // PUGUH_MAX_BODY_BYTES

	// MemoryLimit is PUGUH_MEMORY_LIMIT: the Go runtime's soft memory limit
	// (runtime/debug.SetMemoryLimit) for serve, in bytes; 0: none;
	// MemoryLimitAuto: sized by serve from the argon2id working set. Go's own
	// GOMEMLIMIT, when set, wins over it.
	MemoryLimit int64

	// TrustedProxies is PUGUH_TRUSTED_PROXIES: comma-separated CIDRs (or bare
	// addresses) of reverse proxies whose X-Forwarded-For is believed when
	// finding a client's IP for rate limits. Empty: the socket's peer only.
	TrustedProxies []netip.Prefix
	// PlatformOperators is PUGUH_PLATFORM_OPERATORS: comma-separated emails of
	// the users who may change organizations' plans (permission
	// platform.plans.update, which no organization role holds).
	PlatformOperators []string
	// RateLimits are the budgets no organization pays for, in requests a
	// minute (docs/rate-limits.md).
	RateLimits RateLimits
	// RedisNamespace is PUGUH_REDIS_NAMESPACE (PUGUH_RATE_LIMIT_NAMESPACE is an
	// older name for it): the prefix of every Redis key and channel Puguh uses
	// (rate limits, cache invalidations, revocations; default "puguh:").
	// Deployments or tests sharing one Redis use different ones.
	RedisNamespace string

	// SMTPURL is PUGUH_SMTP_URL: smtp://user:pass@host:587 (STARTTLS) or
	// smtps://user:pass@host:465 (implicit TLS). Empty: every message is
	// written to OutboxDir instead (docs/mail.md).
	SMTPURL string
	// MailFrom is PUGUH_MAIL_FROM, the From of every message; default
	// "Puguh <noreply@ISSUER-HOST>".
	MailFrom string
	// RequireVerifiedEmail is PUGUH_REQUIRE_VERIFIED_EMAIL: refuse sign-in
	// (pages, REST login) until the account's address is confirmed.
	RequireVerifiedEmail bool
}

// OutboxDir is where messages go without PUGUH_SMTP_URL.
func (c *Config) OutboxDir() string { return filepath.Join(c.DataDir, "outbox") }

// RateLimits are the per-IP and per-client budgets, in requests a minute;
// organizations' budgets come from their plans instead.
type RateLimits struct {
	SignInPerIP    int // PUGUH_RATE_LIMIT_SIGNIN_PER_IP: REST login and the sign-in form
	RegisterPerIP  int // PUGUH_RATE_LIMIT_REGISTER_PER_IP: REST register and the sign-up form
	TokenPerIP     int // PUGUH_RATE_LIMIT_TOKEN_PER_IP: /oauth/token without a confidential client
	TokenPerClient int // PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT: /oauth/token per confidential client
	AnonymousPerIP int // PUGUH_RATE_LIMIT_ANONYMOUS_PER_IP: /api/v1 requests without valid credentials
}

// MaxRateLimit is the largest per-minute budget a PUGUH_RATE_LIMIT_* variable
// takes, as for an enterprise plan.
const MaxRateLimit = 1_000_000

// MemoryLimitAuto is PUGUH_MEMORY_LIMIT=auto, the default: serve sizes the
// limit as a backstop above what its concurrent argon2id hashes and its full
// caches need (224 MiB with two hashes). A limit close to that working set makes the runtime return freed
// pages that the next hash faults in again: 64 MiB cost 40% of sign-in
// throughput on a 2-core machine (docs/performance.md).
const MemoryLimitAuto = -1

// DefaultMemoryLimit is PUGUH_MEMORY_LIMIT's default.
const DefaultMemoryLimit = MemoryLimitAuto

// MinMemoryLimit is the smallest PUGUH_MEMORY_LIMIT accepted: below it the
// runtime would collect garbage almost without pause once two argon2id hashes
// (19 MiB each) run at once.
const MinMemoryLimit = 48 << 20

// MinSecretLength is the shortest PUGUH_SECRET accepted: 32 characters.
const MinSecretLength = 32

// Error is a configuration error naming the variable at fault.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return "config: " + e.Var + ": " + e.Msg }

// ConcurrencyAuto is "auto", the default of PUGUH_CLIENT_CREDENTIALS_CONCURRENCY
// and PUGUH_INTROSPECTION_CONCURRENCY: a bound from GOMAXPROCS, chosen by
// serve (docs/performance.md).
const ConcurrencyAuto = -1

// MaxConcurrency is the largest bound either setting takes.
const MaxConcurrency = 4096

// Load reads the configuration from getenv (os.Getenv in production).
func Load(getenv func(string) string) (*Config, error) {
	r := reader{getenv: getenv}
	c := &Config{
		Addr:                         r.str("PUGUH_ADDR", "127.0.0.1:8080"),
		Issuer:                       strings.TrimRight(r.str("PUGUH_ISSUER", "http://localhost:8080"), "/"),
		DataDir:                      r.str("PUGUH_DATA_DIR", "data"),
		RedisURL:                     r.str("PUGUH_REDIS_URL", ""),
		AccessTokenLifetime:          r.duration("PUGUH_ACCESS_TOKEN_LIFETIME", time.Hour),
		RefreshTokenLifetime:         r.duration("PUGUH_REFRESH_TOKEN_LIFETIME", 30*24*time.Hour),
		AuthCodeLifetime:             r.duration("PUGUH_AUTH_CODE_LIFETIME", 10*time.Minute),
		IDTokenLifetime:              r.duration("PUGUH_ID_TOKEN_LIFETIME", time.Hour),
		RefreshGracePeriod:           r.duration("PUGUH_REFRESH_GRACE_PERIOD", 5*time.Second),
		RefreshTokenRotation:         r.booleanOr("PUGUH_REFRESH_TOKEN_ROTATION", true),
		KeyRotationPeriod:            r.duration("PUGUH_KEY_ROTATION_PERIOD", 30*24*time.Hour),
		KeySize:                      r.integer("PUGUH_KEY_SIZE", 2048),
		SigningAlgorithms:            splitList(r.str("PUGUH_SIGNING_ALGORITHMS", "RS256,ES256")),
		AuditRetention:               r.duration("PUGUH_AUDIT_RETENTION", 90*24*time.Hour),
		Argon2Reclaim:                r.booleanOr("PUGUH_ARGON2_RECLAIM", true),
		ClientCredentialsConcurrency: r.concurrency("PUGUH_CLIENT_CREDENTIALS_CONCURRENCY"),
		IntrospectionConcurrency:     r.concurrency("PUGUH_INTROSPECTION_CONCURRENCY"),
		AdminAddr:                    r.str("PUGUH_ADMIN_ADDR", DefaultAdminAddr),
		AdminPprof:                   r.boolean("PUGUH_ADMIN_PPROF"),
		LogLevel:                     strings.ToLower(r.str("PUGUH_LOG_LEVEL", "info")),
		LogFormat:                    strings.ToLower(r.str("PUGUH_LOG_FORMAT", "json")),
		ShutdownTimeout:              r.duration("PUGUH_SHUTDOWN_TIMEOUT", 30*time.Second),
		MaxBodyBytes:                 int64(r.integer("PUGUH_MAX_BODY_BYTES", 1<<20)),
		TrustedProxies:               r.prefixes("PUGUH_TRUSTED_PROXIES"),
		PlatformOperators:            r.emails("PUGUH_PLATFORM_OPERATORS"),
		RedisNamespace:               r.str("PUGUH_REDIS_NAMESPACE", r.str("PUGUH_RATE_LIMIT_NAMESPACE", "puguh:")),
		MemoryLimit:                  r.memoryLimit("PUGUH_MEMORY_LIMIT", DefaultMemoryLimit),
		RateLimits: RateLimits{
			SignInPerIP:    r.perMinute("PUGUH_RATE_LIMIT_SIGNIN_PER_IP", 60),
			RegisterPerIP:  r.perMinute("PUGUH_RATE_LIMIT_REGISTER_PER_IP", 60),
			TokenPerIP:     r.perMinute("PUGUH_RATE_LIMIT_TOKEN_PER_IP", 600),
			TokenPerClient: r.perMinute("PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT", 600),
			AnonymousPerIP: r.perMinute("PUGUH_RATE_LIMIT_ANONYMOUS_PER_IP", 600),
		},
	}
	if strings.EqualFold(c.AdminAddr, "off") {
		c.AdminAddr = ""
	}
	if v := strings.TrimSpace(getenv("PUGUH_PPROF_ADDR")); v != "" {
		r.fail("PUGUH_PPROF_ADDR", "is no longer supported; set PUGUH_ADMIN_PPROF=true to serve /debug/pprof/ on the admin listener (PUGUH_ADMIN_ADDR, default "+DefaultAdminAddr+")")
	}
	c.DatabaseURL = r.str("PUGUH_DATABASE_URL", "sqlite:"+filepath.Join(c.DataDir, "puguh.db"))
	c.SMTPURL = r.str("PUGUH_SMTP_URL", "")
	c.MailFrom = r.str("PUGUH_MAIL_FROM", "")
	c.RequireVerifiedEmail = r.boolean("PUGUH_REQUIRE_VERIFIED_EMAIL")
	if s := getenv("PUGUH_SECRET"); s != "" {
		c.Secret = []byte(s)
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// urlScheme matches a URL scheme of two or more characters ("mysql:"): a
// database URL with one that is not ours is refused rather than taken for a
// SQLite file named "mysql:x".
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

// DatabaseInDataDir reports whether the database is the default one, the
// SQLite file in PUGUH_DATA_DIR, whose directory Puguh creates itself. Any
// other SQLite path must be in a directory that exists.
func (c *Config) DatabaseInDataDir() bool {
	return c.DatabaseURL == "sqlite:"+filepath.Join(c.DataDir, "puguh.db")
}

// EnsureDataDir creates PUGUH_DATA_DIR (mode 0700) when the database lives
// there, before it is opened for writing.
func (c *Config) EnsureDataDir() error {
	if !c.DatabaseInDataDir() {
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	return nil
}

// Embedded reports whether the database is the embedded SQLite one.
func (c *Config) Embedded() bool {
	return !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return &Error{"PUGUH_ADDR", fmt.Sprintf("%q is not host:port", c.Addr)}
	}
	u, err := url.Parse(c.Issuer)
	// OpenID Connect Discovery §3: the issuer is an https URL with no query or
	// fragment; http is allowed here for local development.
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return &Error{"PUGUH_ISSUER", fmt.Sprintf("%q must be an absolute http(s) URL without query, fragment or user info", c.Issuer)}
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			return &Error{"PUGUH_ADMIN_ADDR", fmt.Sprintf("%q is not host:port or off", c.AdminAddr)}
		}
		if c.AdminAddr == c.Addr {
			return &Error{"PUGUH_ADMIN_ADDR", fmt.Sprintf("%q is PUGUH_ADDR too; the admin listener must be another one", c.AdminAddr)}
		}
	}
	if c.AdminPprof {
		// The profiler exposes memory contents and stack traces: loopback only.
		switch {
		case c.AdminAddr == "":
			return &Error{"PUGUH_ADMIN_PPROF", "needs the admin listener, but PUGUH_ADMIN_ADDR is off"}
		case !c.AdminOnLoopback():
			return &Error{"PUGUH_ADMIN_PPROF", fmt.Sprintf("needs a loopback PUGUH_ADMIN_ADDR (e.g. %s), not %q", DefaultAdminAddr, c.AdminAddr)}
		}
	}
	if c.DataDir == "" {
		return &Error{"PUGUH_DATA_DIR", "must not be empty"}
	}
	if !c.Embedded() {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			return &Error{"PUGUH_DATABASE_URL", "is not a valid URL"}
		}
	} else if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && (strings.Contains(c.DatabaseURL, "://") || urlScheme.MatchString(c.DatabaseURL)) {
		return &Error{"PUGUH_DATABASE_URL", "must start with postgres://, postgresql:// or sqlite:"}
	}
	if c.RedisURL != "" {
		ru, err := url.Parse(c.RedisURL)
		if err != nil || (ru.Scheme != "redis" && ru.Scheme != "rediss") || ru.Host == "" {
			return &Error{"PUGUH_REDIS_URL", "must be a redis:// or rediss:// URL"}
		}
	}
	if c.Secret != nil && len(c.Secret) < MinSecretLength {
		return &Error{"PUGUH_SECRET", fmt.Sprintf("must be at least %d characters", MinSecretLength)}
	}
	if c.Secret == nil && !c.Embedded() {
		// Replicas on a shared database must share the secret that encrypts the keys.
		return &Error{"PUGUH_SECRET", "is required with PostgreSQL (replicas must share it); generate one with: openssl rand -base64 48"}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"PUGUH_ACCESS_TOKEN_LIFETIME", c.AccessTokenLifetime, time.Minute},
		{"PUGUH_REFRESH_TOKEN_LIFETIME", c.RefreshTokenLifetime, time.Minute},
		{"PUGUH_AUTH_CODE_LIFETIME", c.AuthCodeLifetime, 10 * time.Second},
		{"PUGUH_ID_TOKEN_LIFETIME", c.IDTokenLifetime, time.Minute},
		{"PUGUH_KEY_ROTATION_PERIOD", c.KeyRotationPeriod, time.Hour},
		{"PUGUH_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, time.Second},
		{"PUGUH_AUDIT_RETENTION", c.AuditRetention, time.Hour},
	} {
		if d.v < d.min {
			return &Error{d.name, fmt.Sprintf("must be at least %s", d.min)}
		}
	}
	// ASVS 10.4.3; docs/security.md, "fosite defaults Puguh changes": authorization codes live 10 minutes at most.
	if c.AuthCodeLifetime > 10*time.Minute {
		return &Error{"PUGUH_AUTH_CODE_LIFETIME", "must be at most 10m"}
	}
	// Every second of grace is a second in which a stolen refresh token's
	// replay goes unnoticed; a minute is far beyond any honest retry.
	if c.RefreshGracePeriod > time.Minute {
		return &Error{"PUGUH_REFRESH_GRACE_PERIOD", "must be at most 1m"}
	}
	if c.KeySize < 2048 || c.KeySize > 8192 || c.KeySize%256 != 0 {
		return &Error{"PUGUH_KEY_SIZE", "must be a multiple of 256 between 2048 and 8192"}
	}
	for _, alg := range c.SigningAlgorithms {
		if !slices.Contains(signingAlgorithms, alg) {
			return &Error{"PUGUH_SIGNING_ALGORITHMS", fmt.Sprintf("%q is not one of RS256, ES256, EdDSA", alg)}
		}
	}
	if !slices.Contains(c.SigningAlgorithms, "RS256") {
		return &Error{"PUGUH_SIGNING_ALGORITHMS", "must include RS256, the default algorithm"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"PUGUH_LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return &Error{"PUGUH_LOG_FORMAT", fmt.Sprintf("%q is not json or text", c.LogFormat)}
	}
	if c.MaxBodyBytes < 1024 {
		return &Error{"PUGUH_MAX_BODY_BYTES", "must be at least 1024"}
	}
	if c.MemoryLimit > 0 && c.MemoryLimit < MinMemoryLimit {
		return &Error{"PUGUH_MEMORY_LIMIT", fmt.Sprintf("must be off or at least %dMiB", MinMemoryLimit>>20)}
	}
	if err := c.validateMail(); err != nil {
		return err
	}
	if strings.ContainsAny(c.RedisNamespace, " \t\r\n*?[]") {
		return &Error{"PUGUH_REDIS_NAMESPACE", "must not contain spaces or glob characters"}
	}
	return nil
}

// DefaultAdminAddr is PUGUH_ADMIN_ADDR's default: reachable from the host
// only.
const DefaultAdminAddr = "127.0.0.1:9090"

// AdminOnLoopback reports whether the admin listener is reachable from this
// host only: a loopback address or localhost. An empty host (":9090") is
// every interface.
func (c *Config) AdminOnLoopback() bool {
	host, _, err := net.SplitHostPort(c.AdminAddr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// signingAlgorithms are the values PUGUH_SIGNING_ALGORITHMS may list.
var signingAlgorithms = []string{"RS256", "ES256", "EdDSA"}

// splitList splits a comma-separated setting, trimming spaces and dropping
// empty items and repeats.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" && !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	return out
}
