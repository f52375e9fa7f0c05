package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Issuer != "http://localhost:8080" || c.DatabaseURL != "sqlite:data/puguh.db" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.AccessTokenLifetime != time.Hour || c.RefreshTokenLifetime != 720*time.Hour || c.AuthCodeLifetime != 10*time.Minute ||
		c.IDTokenLifetime != time.Hour || c.KeyRotationPeriod != 720*time.Hour || c.RefreshGracePeriod != 5*time.Second {
		t.Fatalf("lifetimes: %+v", c)
	}
	if !c.RefreshTokenRotation {
		t.Fatal("refresh tokens must rotate by default")
	}
	if !c.Argon2Reclaim {
		t.Fatal("argon2id buffers must be reclaimed by default")
	}
	if strings.Join(c.SigningAlgorithms, ",") != "RS256,ES256" {
		t.Fatalf("signing algorithms %v, want RS256,ES256", c.SigningAlgorithms)
	}
	if c.RateLimits != (RateLimits{SignInPerIP: 60, RegisterPerIP: 60, TokenPerIP: 600, TokenPerClient: 600, AnonymousPerIP: 600}) {
		t.Fatalf("rate limits: %+v", c.RateLimits)
	}
	if !c.Embedded() || c.Secret != nil {
		t.Fatalf("embedded default should have no secret yet: %+v", c)
	}
}

func TestLoadValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PUGUH_ISSUER":                      "https://id.example.com/",
		"PUGUH_DATABASE_URL":                "postgres://u@db/puguh",
		"PUGUH_SECRET":                      strings.Repeat("s", 32),
		"PUGUH_REFRESH_TOKEN_LIFETIME":      "7d",
		"PUGUH_REDIS_URL":                   "redis://127.0.0.1:6379/0",
		"PUGUH_REFRESH_GRACE_PERIOD":        "1500ms",
		"PUGUH_REFRESH_TOKEN_ROTATION":      "false",
		"PUGUH_RATE_LIMIT_SIGNIN_PER_IP":    "30",
		"PUGUH_RATE_LIMIT_REGISTER_PER_IP":  "10",
		"PUGUH_RATE_LIMIT_TOKEN_PER_IP":     "5000",
		"PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT": "20000",
		"PUGUH_RATE_LIMIT_ANONYMOUS_PER_IP": "1000000",
		"PUGUH_SIGNING_ALGORITHMS":          " RS256, EdDSA,ES256,EdDSA ",
		"PUGUH_ARGON2_RECLAIM":              "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://id.example.com" || c.Embedded() || c.RefreshTokenLifetime != 7*24*time.Hour ||
		c.RefreshGracePeriod != 1500*time.Millisecond || c.RefreshTokenRotation ||
		c.RateLimits != (RateLimits{SignInPerIP: 30, RegisterPerIP: 10, TokenPerIP: 5000, TokenPerClient: 20000, AnonymousPerIP: 1_000_000}) ||
		strings.Join(c.SigningAlgorithms, ",") != "RS256,EdDSA,ES256" || c.Argon2Reclaim {
		t.Fatalf("got %+v", c)
	}
}

func TestLoadRateLimitSettings(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PUGUH_TRUSTED_PROXIES":    " 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,",
		"PUGUH_PLATFORM_OPERATORS": "Ops@Example.com, sre@example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.TrustedProxies)
	if want := "[10.0.0.0/8 192.168.1.7/32 2001:db8::/32]"; got != want {
		t.Errorf("TrustedProxies = %s, want %s", got, want)
	}
	if got := strings.Join(c.PlatformOperators, ","); got != "ops@example.com,sre@example.com" {
		t.Errorf("PlatformOperators = %s", got)
	}
	if c.RedisNamespace != "puguh:" {
		t.Errorf("RedisNamespace = %q, want the default", c.RedisNamespace)
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"PUGUH_REDIS_NAMESPACE": "prod:"}, "prod:"},
		{map[string]string{"PUGUH_RATE_LIMIT_NAMESPACE": "old:"}, "old:"},
		{map[string]string{"PUGUH_REDIS_NAMESPACE": "new:", "PUGUH_RATE_LIMIT_NAMESPACE": "old:"}, "new:"},
	} {
		c, err := Load(env(tc.vars))
		if err != nil || c.RedisNamespace != tc.want {
			t.Errorf("%v: RedisNamespace = %q, %v; want %q", tc.vars, c.RedisNamespace, err, tc.want)
		}
	}
	d, err := Load(env(nil))
	if err != nil || d.TrustedProxies != nil || d.PlatformOperators != nil {
		t.Fatalf("defaults: %v %+v", err, d)
	}
}

// Each bad value fails with one line naming the variable (dex's {bad, errMsg} table).
func TestLoadRejects(t *testing.T) {
	secret := strings.Repeat("s", 32)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"addr", map[string]string{"PUGUH_ADDR": "8080"}, `config: PUGUH_ADDR: "8080" is not host:port`},
		{"issuer relative", map[string]string{"PUGUH_ISSUER": "localhost:8080"}, "config: PUGUH_ISSUER: "},
		{"issuer query", map[string]string{"PUGUH_ISSUER": "https://a.example?x=1"}, "config: PUGUH_ISSUER: "},
		{"issuer fragment", map[string]string{"PUGUH_ISSUER": "https://a.example#x"}, "config: PUGUH_ISSUER: "},
		{"database scheme", map[string]string{"PUGUH_DATABASE_URL": "mysql://x/y"}, "config: PUGUH_DATABASE_URL: must start with"},
		{"database scheme without slashes", map[string]string{"PUGUH_DATABASE_URL": "mysql:x"}, "config: PUGUH_DATABASE_URL: must start with"},
		{"redis scheme", map[string]string{"PUGUH_REDIS_URL": "http://x"}, "config: PUGUH_REDIS_URL: must be a redis:// or rediss:// URL"},
		{"short secret", map[string]string{"PUGUH_SECRET": "short"}, "config: PUGUH_SECRET: must be at least 32 characters"},
		{"postgres without secret", map[string]string{"PUGUH_DATABASE_URL": "postgres://x/y"}, "config: PUGUH_SECRET: is required with PostgreSQL"},
		{"bad duration", map[string]string{"PUGUH_ACCESS_TOKEN_LIFETIME": "soon"}, `config: PUGUH_ACCESS_TOKEN_LIFETIME: "soon" is not a positive duration`},
		{"negative duration", map[string]string{"PUGUH_ID_TOKEN_LIFETIME": "-1h"}, "config: PUGUH_ID_TOKEN_LIFETIME: "},
		{"zero days", map[string]string{"PUGUH_KEY_ROTATION_PERIOD": "0d"}, "config: PUGUH_KEY_ROTATION_PERIOD: "},
		{"too short", map[string]string{"PUGUH_ACCESS_TOKEN_LIFETIME": "1s"}, "config: PUGUH_ACCESS_TOKEN_LIFETIME: must be at least 1m0s"},
		{"long code", map[string]string{"PUGUH_AUTH_CODE_LIFETIME": "15m"}, "config: PUGUH_AUTH_CODE_LIFETIME: must be at most 10m"},
		{"grace zero", map[string]string{"PUGUH_REFRESH_GRACE_PERIOD": "0s"}, `config: PUGUH_REFRESH_GRACE_PERIOD: "0s" is not a positive duration`},
		{"grace too long", map[string]string{"PUGUH_REFRESH_GRACE_PERIOD": "2m"}, "config: PUGUH_REFRESH_GRACE_PERIOD: must be at most 1m"},
		{"key size", map[string]string{"PUGUH_KEY_SIZE": "1024"}, "config: PUGUH_KEY_SIZE: "},
		{"key size nan", map[string]string{"PUGUH_KEY_SIZE": "big"}, `config: PUGUH_KEY_SIZE: "big" is not a whole number`},
		{"concurrency word", map[string]string{"PUGUH_CLIENT_CREDENTIALS_CONCURRENCY": "many"}, `config: PUGUH_CLIENT_CREDENTIALS_CONCURRENCY: "many" is not auto, off or a number of requests between 1 and 4096`},
		{"concurrency negative", map[string]string{"PUGUH_CLIENT_CREDENTIALS_CONCURRENCY": "-1"}, `config: PUGUH_CLIENT_CREDENTIALS_CONCURRENCY: "-1" is not auto, off or a number of requests between 1 and 4096`},
		{"introspection concurrency", map[string]string{"PUGUH_INTROSPECTION_CONCURRENCY": "1.5"}, `config: PUGUH_INTROSPECTION_CONCURRENCY: "1.5" is not auto, off or a number of requests between 1 and 4096`},
		{"concurrency too many", map[string]string{"PUGUH_CLIENT_CREDENTIALS_CONCURRENCY": "4097"}, `config: PUGUH_CLIENT_CREDENTIALS_CONCURRENCY: "4097" is not auto, off or a number of requests between 1 and 4096`},
		{"unknown algorithm", map[string]string{"PUGUH_SIGNING_ALGORITHMS": "RS256,HS256"},
			`config: PUGUH_SIGNING_ALGORITHMS: "HS256" is not one of RS256, ES256, EdDSA`},
		{"no RS256", map[string]string{"PUGUH_SIGNING_ALGORITHMS": "ES256"}, "config: PUGUH_SIGNING_ALGORITHMS: must include RS256, the default algorithm"},
		{"old pprof variable", map[string]string{"PUGUH_PPROF_ADDR": "127.0.0.1:6060"},
			"config: PUGUH_PPROF_ADDR: is no longer supported; set PUGUH_ADMIN_PPROF=true to serve /debug/pprof/ on the admin listener (PUGUH_ADMIN_ADDR, default 127.0.0.1:9090)"},
		{"admin no port", map[string]string{"PUGUH_ADMIN_ADDR": "127.0.0.1"}, `config: PUGUH_ADMIN_ADDR: "127.0.0.1" is not host:port or off`},
		{"admin is the public address", map[string]string{"PUGUH_ADDR": "127.0.0.1:9000", "PUGUH_ADMIN_ADDR": "127.0.0.1:9000"},
			`config: PUGUH_ADMIN_ADDR: "127.0.0.1:9000" is PUGUH_ADDR too; the admin listener must be another one`},
		{"pprof not a boolean", map[string]string{"PUGUH_ADMIN_PPROF": "yes please"}, `config: PUGUH_ADMIN_PPROF: "yes please" is not true or false`},
		{"rate limit zero", map[string]string{"PUGUH_RATE_LIMIT_SIGNIN_PER_IP": "0"},
			`config: PUGUH_RATE_LIMIT_SIGNIN_PER_IP: "0" is not a number of requests a minute between 1 and 1000000`},
		{"rate limit per second", map[string]string{"PUGUH_RATE_LIMIT_TOKEN_PER_IP": "10/s"},
			`config: PUGUH_RATE_LIMIT_TOKEN_PER_IP: "10/s" is not a number of requests a minute between 1 and 1000000`},
		{"rate limit too high", map[string]string{"PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT": "1000001"},
			`config: PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT: "1000001" is not a number of requests a minute between 1 and 1000000`},
		{"rotation not a boolean", map[string]string{"PUGUH_REFRESH_TOKEN_ROTATION": "off"}, `config: PUGUH_REFRESH_TOKEN_ROTATION: "off" is not true or false`},
		{"pprof on a public admin address", map[string]string{"PUGUH_ADMIN_PPROF": "true", "PUGUH_ADMIN_ADDR": "0.0.0.0:9090"},
			`config: PUGUH_ADMIN_PPROF: needs a loopback PUGUH_ADMIN_ADDR (e.g. 127.0.0.1:9090), not "0.0.0.0:9090"`},
		{"pprof on every interface", map[string]string{"PUGUH_ADMIN_PPROF": "1", "PUGUH_ADMIN_ADDR": ":9090"},
			`config: PUGUH_ADMIN_PPROF: needs a loopback PUGUH_ADMIN_ADDR (e.g. 127.0.0.1:9090), not ":9090"`},
		{"pprof without the admin listener", map[string]string{"PUGUH_ADMIN_PPROF": "true", "PUGUH_ADMIN_ADDR": "off"},
			"config: PUGUH_ADMIN_PPROF: needs the admin listener, but PUGUH_ADMIN_ADDR is off"},
		{"log level", map[string]string{"PUGUH_LOG_LEVEL": "loud"}, "config: PUGUH_LOG_LEVEL: "},
		{"log format", map[string]string{"PUGUH_LOG_FORMAT": "xml"}, "config: PUGUH_LOG_FORMAT: "},
		{"body limit", map[string]string{"PUGUH_MAX_BODY_BYTES": "10", "PUGUH_SECRET": secret}, "config: PUGUH_MAX_BODY_BYTES: "},
		{"trusted proxy not a CIDR", map[string]string{"PUGUH_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}, `config: PUGUH_TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR`},
		{"trusted proxy bad bits", map[string]string{"PUGUH_TRUSTED_PROXIES": "10.0.0.0/33"}, `config: PUGUH_TRUSTED_PROXIES: "10.0.0.0/33" is not`},
		{"trust everyone", map[string]string{"PUGUH_TRUSTED_PROXIES": "0.0.0.0/0"}, `config: PUGUH_TRUSTED_PROXIES: "0.0.0.0/0" trusts every address`},
		{"operator not an email", map[string]string{"PUGUH_PLATFORM_OPERATORS": "ops@example.com,root"}, `config: PUGUH_PLATFORM_OPERATORS: "root" is not an email address`},
		{"redis namespace", map[string]string{"PUGUH_REDIS_NAMESPACE": "a b"}, "config: PUGUH_REDIS_NAMESPACE: "},
		{"redis namespace by its older name", map[string]string{"PUGUH_RATE_LIMIT_NAMESPACE": "a*"}, "config: PUGUH_REDIS_NAMESPACE: "},
		{"memory limit not a size", map[string]string{"PUGUH_MEMORY_LIMIT": "lots"}, `config: PUGUH_MEMORY_LIMIT: "lots" is not a size`},
		{"memory limit unknown unit", map[string]string{"PUGUH_MEMORY_LIMIT": "96MiBs"}, `config: PUGUH_MEMORY_LIMIT: "96MiBs" is not a size`},
		{"memory limit negative", map[string]string{"PUGUH_MEMORY_LIMIT": "-1"}, `config: PUGUH_MEMORY_LIMIT: "-1" is not a size`},
		{"memory limit too small", map[string]string{"PUGUH_MEMORY_LIMIT": "20MiB"}, "config: PUGUH_MEMORY_LIMIT: must be off or at least 48MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want prefix %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

// PUGUH_ADMIN_ADDR: loopback by default, "off" disables it, any other
// address is allowed (Prometheus and Kubernetes probes may need one) and only
// reported as not loopback, for serve to warn about.
func TestLoadAdmin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		addr     string
		loopback bool
		pprof    bool
	}{
		{"default", nil, "127.0.0.1:9090", true, false},
		{"off", map[string]string{"PUGUH_ADMIN_ADDR": "off"}, "", false, false},
		{"OFF", map[string]string{"PUGUH_ADMIN_ADDR": " OFF "}, "", false, false},
		{"localhost with pprof", map[string]string{"PUGUH_ADMIN_ADDR": "localhost:9100", "PUGUH_ADMIN_PPROF": "true"}, "localhost:9100", true, true},
		{"IPv6 loopback", map[string]string{"PUGUH_ADMIN_ADDR": "[::1]:9090", "PUGUH_ADMIN_PPROF": "TRUE"}, "[::1]:9090", true, true},
		{"pprof false", map[string]string{"PUGUH_ADMIN_PPROF": "false"}, "127.0.0.1:9090", true, false},
		{"every interface", map[string]string{"PUGUH_ADMIN_ADDR": "0.0.0.0:9090"}, "0.0.0.0:9090", false, false},
		{"empty host", map[string]string{"PUGUH_ADMIN_ADDR": ":9090"}, ":9090", false, false},
		{"pod address", map[string]string{"PUGUH_ADMIN_ADDR": "10.1.2.3:9090"}, "10.1.2.3:9090", false, false},
		{"host name", map[string]string{"PUGUH_ADMIN_ADDR": "metrics.internal:9090"}, "metrics.internal:9090", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.AdminAddr != tc.addr || c.AdminOnLoopback() != tc.loopback || c.AdminPprof != tc.pprof {
				t.Fatalf("AdminAddr %q loopback %v pprof %v, want %q %v %v", c.AdminAddr, c.AdminOnLoopback(), c.AdminPprof, tc.addr, tc.loopback, tc.pprof)
			}
		})
	}
}

func TestLoadMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{
		"":          MemoryLimitAuto,
		"auto":      MemoryLimitAuto,
		"off":       0,
		"OFF":       0,
		"0":         0,
		"96MiB":     96 << 20,
		" 1GiB ":    1 << 30,
		"100MB":     100e6,
		"100 MB":    100e6,
		"50331648":  48 << 20,
		"49152KiB":  48 << 20,
		"50331648B": 48 << 20,
	} {
		c, err := Load(env(map[string]string{"PUGUH_MEMORY_LIMIT": in}))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.MemoryLimit != want {
			t.Fatalf("%q: %d, want %d", in, c.MemoryLimit, want)
		}
	}
}

func TestLoadConcurrency(t *testing.T) {
	for in, want := range map[string]int{
		"":       ConcurrencyAuto,
		"auto":   ConcurrencyAuto,
		" AUTO ": ConcurrencyAuto,
		"off":    0,
		"0":      0,
		"1":      1,
		"8":      8,
		"4096":   4096,
	} {
		c, err := Load(env(map[string]string{"PUGUH_CLIENT_CREDENTIALS_CONCURRENCY": in, "PUGUH_INTROSPECTION_CONCURRENCY": in}))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.ClientCredentialsConcurrency != want || c.IntrospectionConcurrency != want {
			t.Fatalf("%q: %d and %d, want %d", in, c.ClientCredentialsConcurrency, c.IntrospectionConcurrency, want)
		}
	}
}

func TestEnsureSecretGeneratesOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(env(map[string]string{"PUGUH_DATA_DIR": filepath.Join(dir, "data")}))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := c.EnsureSecret()
	if err != nil || !gen || len(c.Secret) < MinSecretLength {
		t.Fatalf("first start: generated=%v err=%v len=%d", gen, err, len(c.Secret))
	}
	st, err := os.Stat(c.SecretFile())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode: %v %v", st, err)
	}
	first := string(c.Secret)
	c2, _ := Load(env(map[string]string{"PUGUH_DATA_DIR": filepath.Join(dir, "data")}))
	gen, err = c2.EnsureSecret()
	if err != nil || gen || string(c2.Secret) != first {
		t.Fatalf("second start must reuse the kept secret: generated=%v err=%v", gen, err)
	}
}

func TestEnsureSecretRejectsTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	c, _ := Load(env(map[string]string{"PUGUH_DATA_DIR": dir}))
	if err := os.WriteFile(c.SecretFile(), []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureSecret(); err == nil || !strings.Contains(err.Error(), "PUGUH_SECRET") {
		t.Fatalf("got %v", err)
	}
}

func TestAuditRetention(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.AuditRetention != 90*24*time.Hour {
		t.Fatalf("default: %v, %v; want 90 days", c, err)
	}
	c, err = Load(env(map[string]string{"PUGUH_AUDIT_RETENTION": "365d"}))
	if err != nil || c.AuditRetention != 365*24*time.Hour {
		t.Fatalf("365d: %v, %v", c, err)
	}
	for _, bad := range []string{"30m", "forever", "-1d"} {
		if _, err := Load(env(map[string]string{"PUGUH_AUDIT_RETENTION": bad})); err == nil || !strings.Contains(err.Error(), "PUGUH_AUDIT_RETENTION") {
			t.Errorf("%q: err = %v, want one naming PUGUH_AUDIT_RETENTION", bad, err)
		}
	}
}
