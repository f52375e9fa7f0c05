package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// reader parses variables, keeping the first error.
type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) fail(name, msg string) {
	if r.err == nil {
		r.err = &Error{name, msg}
	}
}

// duration accepts Go durations (90s, 15m, 1h) and whole days (30d).
func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 && n < 100000 {
			return time.Duration(n) * 24 * time.Hour
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	r.fail(name, fmt.Sprintf("%q is not a positive duration (e.g. 90s, 15m, 1h, 30d)", v))
	return def
}

// prefixes reads a comma-separated list of CIDRs; a bare address is its own /32 or /128.
func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range strings.Split(r.getenv(name), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				r.fail(name, fmt.Sprintf("%q is not an IP address or CIDR (e.g. 10.0.0.0/8)", item))
				return nil
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Bits() == 0 {
			// 0.0.0.0/0 would let every client choose its own address.
			r.fail(name, fmt.Sprintf("%q trusts every address; list your proxies' networks", item))
			return nil
		}
		out = append(out, p.Masked())
	}
	return out
}

// emails reads a comma-separated list of email addresses, lower-cased as
// users' emails are stored.
func (r *reader) emails(name string) []string {
	var out []string
	for _, item := range strings.Split(r.getenv(name), ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		if at := strings.IndexByte(item, '@'); at < 1 || at == len(item)-1 || strings.ContainsAny(item, " <>\"") {
			r.fail(name, fmt.Sprintf("%q is not an email address", item))
			return nil
		}
		out = append(out, item)
	}
	return out
}

// boolean reads true or false (also 1, 0, t, f in any case); empty is false.
func (r *reader) boolean(name string) bool { return r.booleanOr(name, false) }

// booleanOr reads true or false (also 1, 0, t, f in any case); empty is def.
func (r *reader) booleanOr(name string, def bool) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("%q is not true or false", v))
		return def
	}
	return b
}

func (r *reader) integer(name string, def int) int {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("%q is not a whole number", v))
		return def
	}
	return n
}

// perMinute reads a rate limit: a whole number of requests a minute, from 1
// to MaxRateLimit.
func (r *reader) perMinute(name string, def int) int {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxRateLimit {
		r.fail(name, fmt.Sprintf("%q is not a number of requests a minute between 1 and %d", v, MaxRateLimit))
		return def
	}
	return n
}

// concurrency reads a bound on concurrent requests: "auto" (the default,
// ConcurrencyAuto), "off" or "0" for none, or a whole number from 1 to
// MaxConcurrency.
func (r *reader) concurrency(name string) int {
	v := strings.TrimSpace(r.getenv(name))
	switch {
	case v == "" || strings.EqualFold(v, "auto"):
		return ConcurrencyAuto
	case strings.EqualFold(v, "off"):
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxConcurrency {
		r.fail(name, fmt.Sprintf("%q is not auto, off or a number of requests between 1 and %d", v, MaxConcurrency))
		return ConcurrencyAuto
	}
	return n
}

// memoryLimit reads PUGUH_MEMORY_LIMIT: "auto" (MemoryLimitAuto), "off" or a
// size.
func (r *reader) memoryLimit(name string, def int64) int64 {
	if v := strings.TrimSpace(r.getenv(name)); strings.EqualFold(v, "auto") {
		return MemoryLimitAuto
	}
	return r.size(name, def)
}

// size reads a byte size: a whole number with an optional unit (B, KiB, MiB,
// GiB, or KB, MB, GB in powers of ten), or "off" (and "0") for none, which
// reads as 0.
func (r *reader) size(name string, def int64) int64 {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	if strings.EqualFold(v, "off") {
		return 0
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := v, int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		r.fail(name, fmt.Sprintf("%q is not a size (e.g. 96MiB, 1GiB, auto or off)", v))
		return def
	}
	return n * mult
}
