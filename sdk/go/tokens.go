package puguh

import (
	"context"
	"sync"
)

// tokenManager holds the client's Bearer token and renews it. The rule (the
// same in every Puguh SDK): a 401 whose WWW-Authenticate is a Bearer
// challenge with error="invalid_token", answering a request that carried this
// client's access token, renews the token once (OnTokenExpired, else the
// session's refresh token) and the request is sent once more with the new
// token. Calls that fail together share one renewal; a call whose token was
// already replaced retries with the current one; a call is never renewed twice.
type tokenManager struct {
	mu           sync.Mutex
	accessToken  string
	refreshToken string
	pending      *renewal

	onExpired func(ctx context.Context) (string, error)
	onTokens  func(ctx context.Context, tokens TokenPair) error
	// refresh renews with the session's refresh token (POST /api/v1/auth/refresh,
	// which stores the new pair); wired by NewClient.
	refresh func(ctx context.Context, refreshToken string) (*TokenPair, error)
}

// renewal is one renewal in flight, shared by every call waiting for it.
type renewal struct {
	done  chan struct{}
	token string // "" when the renewal gave up
	err   error
}

func (m *tokenManager) current() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accessToken
}

func (m *tokenManager) currentRefresh() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refreshToken
}

func (m *tokenManager) canRenew() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.onExpired != nil || m.refreshToken != ""
}

// waitPending waits for a renewal in flight, if any, before a call sends a
// token about to be replaced. Its outcome does not matter here: the call
// sends whatever token there is then.
func (m *tokenManager) waitPending(ctx context.Context) error {
	m.mu.Lock()
	r := m.pending
	first := r == nil && m.accessToken == "" && m.refreshToken != "" && m.refresh != nil
	m.mu.Unlock()
	if first {
		// A session resumed from a refresh token alone gets its access token
		// before its first call (one refresh for every call that starts together).
		_, err := m.tokenAfter(ctx, "")
		return err
	}
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tokenAfter is the token to retry with after sent was refused: the current
// one if another call already renewed it, else the outcome of the one shared
// renewal. "" with a nil error means give up. The renewal runs detached from
// ctx (others may wait for it); ctx only bounds this caller's wait.
func (m *tokenManager) tokenAfter(ctx context.Context, sent string) (string, error) {
	m.mu.Lock()
	if m.accessToken != "" && m.accessToken != sent {
		t := m.accessToken
		m.mu.Unlock()
		return t, nil
	}
	r := m.pending
	if r == nil {
		r = &renewal{done: make(chan struct{})}
		m.pending = r
		go m.renew(context.WithoutCancel(ctx), r)
	}
	m.mu.Unlock()
	select {
	case <-r.done:
		return r.token, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (m *tokenManager) renew(ctx context.Context, r *renewal) {
	defer func() {
		m.mu.Lock()
		if m.pending == r {
			m.pending = nil
		}
		m.mu.Unlock()
		close(r.done)
	}()
	m.mu.Lock()
	onExpired, refreshToken, refresh := m.onExpired, m.refreshToken, m.refresh
	m.mu.Unlock()
	switch {
	case onExpired != nil:
		t, err := onExpired(ctx)
		if err != nil {
			r.err = err
			return
		}
		if t != "" {
			m.mu.Lock()
			m.accessToken = t
			m.mu.Unlock()
		}
		r.token = t
	case refreshToken != "" && refresh != nil:
		pair, err := refresh(ctx, refreshToken)
		if err != nil {
			r.err = err
			return
		}
		r.token = pair.AccessToken
	}
}

// store keeps a pair from a login or a refresh and hands it to OnTokens.
func (m *tokenManager) store(ctx context.Context, pair TokenPair) error {
	m.mu.Lock()
	m.accessToken = pair.AccessToken
	if pair.RefreshToken != "" {
		m.refreshToken = pair.RefreshToken
	}
	onTokens := m.onTokens
	m.mu.Unlock()
	if onTokens != nil {
		return onTokens(ctx, pair)
	}
	return nil
}

func (m *tokenManager) clear() {
	m.mu.Lock()
	m.accessToken, m.refreshToken = "", ""
	m.mu.Unlock()
}
