package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/crewjam/saml"

	"github.com/arsaka/puguh/provider/federation"
)

// How long an identity provider's discovery document (with its key set) or
// SAML metadata is kept: its Cache-Control max-age within these bounds, else
// the default (docs/federation.md, "Caching").
const (
	minUpstreamTTL     = 5 * time.Minute
	maxUpstreamTTL     = 24 * time.Hour
	defaultUpstreamTTL = time.Hour
	// maxUpstreamEntries bounds the cache: there is one entry per connected
	// provider, so this is only a guard.
	maxUpstreamEntries = 1000
)

// upstreamCache keeps what Puguh fetched from identity providers, so a
// sign-in does not fetch the discovery document, the key set or the metadata
// again. An OIDC entry is the *oidc.Provider itself: its key set is fetched
// once and again only for a key id it does not know (a rotation upstream).
type upstreamCache struct {
	mu      sync.Mutex
	entries map[string]upstreamEntry
	now     func() time.Time
}

type upstreamEntry struct {
	value   any
	expires time.Time
}

func newUpstreamCache(now func() time.Time) *upstreamCache {
	return &upstreamCache{entries: map[string]upstreamEntry{}, now: now}
}

// get returns the fresh entry for key, or loads it (value and how long to
// keep it) and keeps it. A failed load is not kept.
func (c *upstreamCache) get(key string, load func() (any, time.Duration, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.value, nil
	}
	v, ttl, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= maxUpstreamEntries {
		for k, old := range c.entries {
			if !now.Before(old.expires) || len(c.entries) >= maxUpstreamEntries {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = upstreamEntry{value: v, expires: now.Add(ttl)}
	return v, nil
}

// cacheTTL is how long to keep an answer with these headers: max-age (or
// no-cache and no-store, as zero) clamped to [minUpstreamTTL,
// maxUpstreamTTL]; the default without one.
func cacheTTL(h http.Header) time.Duration {
	ttl, found := defaultUpstreamTTL, false
	for _, directive := range strings.Split(h.Get("Cache-Control"), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(strings.ToLower(directive)), "=")
		switch name {
		case "no-store", "no-cache":
			ttl, found = 0, true
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64); err == nil && n >= 0 && !found {
				ttl, found = time.Duration(min(n, int64(maxUpstreamTTL/time.Second)))*time.Second, true
			}
		}
	}
	return min(max(ttl, minUpstreamTTL), maxUpstreamTTL)
}

// headerRecorder keeps the headers of the first answer through it: the
// discovery document's, when oidc.NewProvider fetches it.
type headerRecorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	header http.Header
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err == nil {
		h.mu.Lock()
		if h.header == nil {
			h.header = resp.Header.Clone()
		}
		h.mu.Unlock()
	}
	return resp, err
}

func (h *headerRecorder) first() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.header
}

// oidcProvider returns the issuer's provider, from its discovery document,
// cached.
func (p *Pages) oidcProvider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	v, err := p.federation.cache.get("oidc "+issuer, func() (any, time.Duration, error) {
		base := p.federation.client.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		rec := &headerRecorder{base: base}
		// The provider keeps this client for its key set; it has the
		// upstream timeout of every call.
		client := &http.Client{Timeout: upstreamTimeout, Transport: rec, CheckRedirect: p.federation.client.CheckRedirect}
		octx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), upstreamTimeout)
		defer cancel()
		provider, err := oidc.NewProvider(octx, issuer)
		if err != nil {
			return nil, 0, err
		}
		return provider, cacheTTL(rec.first()), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*oidc.Provider), nil
}

// samlMetadata returns a SAML connection's identity provider metadata: the
// XML it holds, or the document at its metadata URL, cached.
func (p *Pages) samlMetadata(ctx context.Context, c *federation.Connection) (*saml.EntityDescriptor, error) {
	if c.SAMLMetadataURL == "" {
		return federation.ParseIdPMetadata([]byte(c.SAMLMetadataXML))
	}
	v, err := p.federation.cache.get("saml "+c.SAMLMetadataURL, func() (any, time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.SAMLMetadataURL, nil)
		if err != nil {
			return nil, 0, err
		}
		resp, err := p.federation.client.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, 0, fmt.Errorf("metadata: %s", resp.Status)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, federation.MaxMetadataXML+1))
		if err != nil {
			return nil, 0, fmt.Errorf("metadata: %w", err)
		}
		md, err := federation.ParseIdPMetadata(body)
		if err != nil {
			return nil, 0, err
		}
		return md, cacheTTL(resp.Header), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*saml.EntityDescriptor), nil
}
