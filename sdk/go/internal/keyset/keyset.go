// Package keyset is a remote JSON Web Key Set (RFC 7517) of RSA signing keys,
// fetched over HTTP and cached for resource servers.
//
// The rules, which every Puguh SDK shares:
//
//   - The set is fetched on first use (or by Refresh) and kept as long as the
//     answer's Cache-Control max-age says, less its Age (Puguh sends
//     max-age=900). An answer without one is kept DefaultMaxAge; no-store,
//     no-cache or max-age=0 count as zero. Whatever the answer says, a set is
//     kept at least the cooldown and at most MaxMaxAge.
//   - A stale set is revalidated with If-None-Match (Puguh's JWKS has a strong
//     ETag): a 304 keeps the keys for another max-age.
//   - A kid the cached set does not hold fetches the set again, because the
//     issuer may have rotated its keys, but only when the cooldown has passed
//     since the last fetch (successful or not). Within the cooldown an unknown
//     kid is refused without any request, so a flood of tokens with forged kids
//     costs the issuer at most one fetch per cooldown. Concurrent callers that
//     need a fetch share one.
//   - When a fetch fails, a stale set keeps serving for up to MaxStale, and the
//     next fetch waits for the cooldown: an outage of the issuer does not turn
//     into a flood of requests either.
package keyset

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/arsaka/puguh/sdk/go/internal/jws"
)

// Defaults.
const (
	DefaultCooldown = 30 * time.Second
	DefaultMaxAge   = 10 * time.Minute
	MaxMaxAge       = 24 * time.Hour
	MaxStale        = time.Hour
	DefaultTimeout  = 5 * time.Second
	maxBody         = 1 << 20
)

// ErrUnknownKey is returned for a kid the set does not hold (after a fetch,
// or without one within the cooldown).
var ErrUnknownKey = errors.New("no key in the issuer's key set has the token's kid")

// FetchError is a failure to get the key set: no answer, or an answer that is
// not a usable JWKS. It is never the token's fault.
type FetchError struct {
	URL string
	Err error
}

func (e *FetchError) Error() string { return fmt.Sprintf("fetching the key set %s: %v", e.URL, e.Err) }
func (e *FetchError) Unwrap() error { return e.Err }

// Options configure a Set.
type Options struct {
	URL        string
	HTTPClient *http.Client                // default http.DefaultClient
	Cooldown   time.Duration               // default DefaultCooldown; negative: none
	Timeout    time.Duration               // per fetch; default DefaultTimeout
	Now        func() time.Time            // default time.Now
	UserAgent  string                      // sent with every fetch
	OnFetch    func(status int, err error) // observed after every fetch (tests, metrics)
}

// snapshot is one fetched set. It is never modified once published.
type snapshot struct {
	keys       map[string]*rsa.PublicKey
	etag       string
	fetched    time.Time
	freshUntil time.Time
}

// Set is safe for concurrent use.
type Set struct {
	opt Options

	snap atomic.Pointer[snapshot]

	mu          sync.Mutex
	lastAttempt time.Time  // start of the last fetch, successful or not
	lastErr     error      // the last fetch's error, nil after a success
	inflight    *fetchCall // the fetch under way, shared by every caller that needs one
	fetches     atomic.Int64
}

type fetchCall struct {
	done chan struct{}
	err  error
}

// New returns a Set; nothing is fetched yet.
func New(opt Options) *Set {
	if opt.HTTPClient == nil {
		opt.HTTPClient = http.DefaultClient
	}
	if opt.Cooldown == 0 {
		opt.Cooldown = DefaultCooldown
	} else if opt.Cooldown < 0 {
		opt.Cooldown = 0
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Set{opt: opt}
}

// Fetches counts the HTTP requests the set has made.
func (s *Set) Fetches() int64 { return s.fetches.Load() }

// Key returns the key named kid. On the fast path (a fresh set that holds the
// kid) it takes no lock and allocates nothing.
func (s *Set) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	now := s.opt.Now()
	snap := s.snap.Load()
	if snap != nil && now.Before(snap.freshUntil) {
		if k, ok := snap.keys[kid]; ok {
			return k, nil
		}
	}
	// Stale, empty, or an unknown kid: fetch, if the cooldown allows.
	err := s.fetchWith(ctx, false)
	if next := s.snap.Load(); next != nil {
		snap = next
	}
	if snap == nil {
		if err == nil {
			err = errors.New("no key set")
		}
		return nil, err
	}
	k, ok := snap.keys[kid]
	if err != nil && !now.Before(snap.freshUntil.Add(MaxStale)) {
		// The issuer has been unreachable for too long to trust old keys.
		return nil, err
	}
	if !ok {
		if err != nil && !errors.Is(err, errCoolingDown) {
			// We could not ask: the kid may well be a new, valid key.
			return nil, err
		}
		return nil, ErrUnknownKey
	}
	return k, nil
}

// errCoolingDown: a fetch was not attempted because the cooldown has not passed.
var errCoolingDown = errors.New("the key set was fetched less than the cooldown ago")

// Refresh fetches the set now, whatever the cooldown (start-up, tests).
func (s *Set) Refresh(ctx context.Context) error {
	return s.fetchWith(ctx, true)
}

// fetchWith starts a fetch, or joins the one under way, and waits for it (or
// for ctx). The fetch itself runs with its own timeout and is not cancelled
// by one caller giving up, since others may be waiting for it.
func (s *Set) fetchWith(ctx context.Context, force bool) error {
	s.mu.Lock()
	call := s.inflight
	if call == nil {
		now := s.opt.Now()
		if !force && !s.lastAttempt.IsZero() && now.Sub(s.lastAttempt) < s.opt.Cooldown {
			err := s.lastErr
			s.mu.Unlock()
			if err != nil {
				return err
			}
			return errCoolingDown
		}
		s.lastAttempt = now
		call = &fetchCall{done: make(chan struct{})}
		s.inflight = call
		go s.run(context.WithoutCancel(ctx), call)
	}
	s.mu.Unlock()
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Set) run(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	status, err := s.get(ctx)
	if err != nil {
		err = &FetchError{URL: s.opt.URL, Err: err}
	}
	s.mu.Lock()
	s.lastErr = err
	s.inflight = nil
	s.mu.Unlock()
	call.err = err
	close(call.done)
	if s.opt.OnFetch != nil {
		s.opt.OnFetch(status, err)
	}
}

func (s *Set) get(ctx context.Context) (int, error) {
	s.fetches.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opt.URL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if s.opt.UserAgent != "" {
		req.Header.Set("User-Agent", s.opt.UserAgent)
	}
	old := s.snap.Load()
	if old != nil && old.etag != "" {
		req.Header.Set("If-None-Match", old.etag)
	}
	res, err := s.opt.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	now := s.opt.Now()
	switch {
	case res.StatusCode == http.StatusNotModified && old != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
		etag := res.Header.Get("ETag")
		if etag == "" {
			etag = old.etag
		}
		s.snap.Store(&snapshot{keys: old.keys, etag: etag, fetched: now, freshUntil: now.Add(s.lifetime(res.Header))})
		return res.StatusCode, nil
	case res.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
		return res.StatusCode, fmt.Errorf("answer %d", res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return res.StatusCode, err
	}
	if len(body) > maxBody {
		return res.StatusCode, fmt.Errorf("larger than %d bytes", maxBody)
	}
	keys, err := Parse(body)
	if err != nil {
		return res.StatusCode, err
	}
	s.snap.Store(&snapshot{keys: keys, etag: res.Header.Get("ETag"), fetched: now, freshUntil: now.Add(s.lifetime(res.Header))})
	return res.StatusCode, nil
}

// lifetime is how long an answer stays fresh: its max-age less its Age
// (RFC 9111 §4.2), DefaultMaxAge without a max-age, at least the cooldown and
// at most MaxMaxAge.
func (s *Set) lifetime(h http.Header) time.Duration {
	d := DefaultMaxAge
	if maxAge, ok := MaxAge(h.Get("Cache-Control")); ok {
		d = maxAge
		if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
			d -= time.Duration(age) * time.Second
		}
	}
	if d < s.opt.Cooldown {
		d = s.opt.Cooldown
	}
	if d > MaxMaxAge {
		d = MaxMaxAge
	}
	return d
}

// MaxAge reads a Cache-Control value (RFC 9111 §5.2.2): max-age in seconds,
// or zero for no-store and no-cache. ok is false when it says neither.
func MaxAge(cacheControl string) (d time.Duration, ok bool) {
	for _, part := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache":
			return 0, true
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
			if err != nil || n < 0 {
				continue
			}
			if n > int64(MaxMaxAge/time.Second) {
				n = int64(MaxMaxAge / time.Second)
			}
			d, ok = time.Duration(n)*time.Second, true
		}
	}
	return d, ok
}

// Parse reads a JWKS and keeps its RSA signing keys: kty RSA, use sig (or
// none), alg RS256 (or none), a well-formed kid, at least 2048 bits. Keys it
// cannot use (other types, encryption keys, malformed members) are skipped;
// a set with no usable key is an error.
func Parse(body []byte) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != "RS256") || !jws.ValidKeyID(k.KeyID) {
			continue
		}
		var pub *rsa.PublicKey
		switch key := k.Key.(type) {
		case *rsa.PublicKey:
			pub = key
		case *rsa.PrivateKey:
			pub = &key.PublicKey
		default:
			continue
		}
		if pub.N.BitLen() < 2048 {
			continue
		}
		if _, dup := keys[k.KeyID]; dup {
			// Two keys under one kid: trust neither.
			keys[k.KeyID] = nil
			continue
		}
		keys[k.KeyID] = pub
	}
	for kid, k := range keys {
		if k == nil {
			delete(keys, kid)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWKS holds no RS256 signing key")
	}
	return keys, nil
}
