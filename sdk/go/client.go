// Package puguh is the Go SDK of Puguh's REST API: auth, organizations and
// their members, IAM users, API keys, service accounts, applications and
// their grants, and health. Its sub-packages verify Puguh's access tokens in
// resource servers (verifier) and run the enterprise SSO flow (oauth).
//
// The surface is the one every Puguh SDK implements (sdk/SURFACE.md). The
// API guide's two forms work as written:
//
//	client, err := puguh.NewClient(puguh.WithAPIKey(apiKey, organizationID))
//	client, err := puguh.NewClient(puguh.WithAccessToken(userToken, func(ctx context.Context) (string, error) {
//		return refreshToken(ctx)
//	}))
//
// and so does a struct of options: puguh.NewClient(puguh.Options{…}).
package puguh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Version is this SDK's version, sent in the User-Agent.
const Version = "0.1.0"

const userAgent = "puguh-sdk-go/" + Version

// Client is the Puguh REST API. It is safe for concurrent use; make one and
// share it.
type Client struct {
	Health          *HealthService
	Auth            *AuthService
	Organizations   *OrganizationsService
	IAM             *IAMService
	APIKeys         *APIKeysService
	ServiceAccounts *ServiceAccountsService
	Applications    *ApplicationsService
	Audit           *AuditService
	// MFA is the calling user's own second factors.
	MFA         *MFAService
	Invitations *InvitationsService

	baseURL       string
	http          *http.Client
	apiKey        string
	orgID         string
	appID         string
	timeout       time.Duration
	maxRetries    int
	maxRetryDelay time.Duration
	header        http.Header
	onResponse    func(*ResponseInfo)
	tokens        *tokenManager
}

// NewClient makes a client from Options and option functions (later ones
// override earlier ones). It fails without a base URL (Options.BaseURL or
// PUGUH_BASE_URL), with an API key but no organization, or with both an API
// key and an access token (the server refuses both on one request).
func NewClient(opts ...Option) (*Client, error) {
	var o Options
	for _, opt := range opts {
		if opt != nil {
			opt.applyClient(&o)
		}
	}
	if o.BaseURL == "" {
		o.BaseURL = os.Getenv("PUGUH_BASE_URL")
	}
	if o.BaseURL == "" {
		return nil, errors.New("puguh: no base URL: pass puguh.WithBaseURL(…) or set PUGUH_BASE_URL (e.g. http://localhost:8080)")
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("puguh: base URL %q is not an absolute URL", o.BaseURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("puguh: base URL must be http(s), not %s", u.Scheme)
	}
	if o.APIKey != "" && o.AccessToken != "" {
		return nil, errors.New("puguh: pass an API key or an access token, not both (the server refuses both on one request)")
	}
	if o.APIKey != "" && o.OrganizationID == "" {
		return nil, errors.New("puguh: an API key needs its organization ID (X-Organization-ID)")
	}
	c := &Client{
		baseURL:       strings.TrimRight(o.BaseURL, "/"),
		http:          o.HTTPClient,
		apiKey:        o.APIKey,
		orgID:         o.OrganizationID,
		appID:         o.ApplicationID,
		timeout:       o.Timeout,
		maxRetries:    o.MaxRetries,
		maxRetryDelay: o.MaxRetryDelay,
		header:        o.Header.Clone(),
		onResponse:    o.OnResponse,
		tokens: &tokenManager{
			accessToken:  o.AccessToken,
			refreshToken: o.RefreshToken,
			onExpired:    o.OnTokenExpired,
			onTokens:     o.OnTokens,
		},
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.timeout == 0 {
		c.timeout = 30 * time.Second
	}
	if c.maxRetryDelay == 0 {
		c.maxRetryDelay = 60 * time.Second
	}
	c.Health = &HealthService{c}
	c.Auth = &AuthService{c}
	c.Organizations = &OrganizationsService{c: c, Members: &MembersService{c}, Connections: &ConnectionsService{c},
		Invitations: &OrgInvitationsService{c}}
	c.IAM = &IAMService{Users: &UsersService{c: c, Consents: &ConsentsService{c}}}
	c.APIKeys = &APIKeysService{c}
	c.ServiceAccounts = &ServiceAccountsService{c}
	c.Applications = &ApplicationsService{c: c, Grants: &GrantsService{c}}
	c.Audit = &AuditService{c}
	c.MFA = &MFAService{c}
	c.Invitations = &InvitationsService{c}
	c.tokens.refresh = func(ctx context.Context, refreshToken string) (*TokenPair, error) {
		return c.Auth.Refresh(ctx, refreshToken)
	}
	return c, nil
}

// BaseURL is where the client sends its requests.
func (c *Client) BaseURL() string { return c.baseURL }

// AccessToken is the access token the client sends now (after a login or a
// renewal, the new one); "" when it has none.
func (c *Client) AccessToken() string { return c.tokens.current() }

// RefreshToken is the refresh token the client holds (rotated on every refresh).
func (c *Client) RefreshToken() string { return c.tokens.currentRefresh() }

// call is one operation to run.
type call struct {
	op          string   // operationId
	path        []string // path parameters, in path order
	query       url.Values
	body        any
	out         any  // decoded from a 2xx body
	application bool // X-Application-ID is required (application-scoped operations)
	opts        []RequestOption
}

// do runs a call: credentials, timeout per attempt, typed errors, one token
// renewal on an invalid_token 401, opt-in retries of 429 and 503.
func (c *Client) do(ctx context.Context, k call) (*ResponseInfo, error) {
	var cc callConfig
	for _, o := range k.opts {
		if o != nil {
			o.applyRequest(&cc)
		}
	}
	r, ok := routes[k.op]
	if !ok {
		return nil, fmt.Errorf("puguh: unknown operation %s", k.op)
	}
	target, err := c.url(r, k)
	if err != nil {
		return nil, err
	}
	var body []byte
	if k.body != nil {
		if body, err = json.Marshal(k.body); err != nil {
			return nil, fmt.Errorf("puguh: %s: encoding the body: %w", k.op, err)
		}
	}
	header, err := c.headers(k, r, cc, body != nil)
	if err != nil {
		return nil, err
	}
	maxRetries, timeout := c.maxRetries, c.timeout
	if cc.hasMaxRetries {
		maxRetries = cc.maxRetries
	}
	if cc.hasTimeout {
		timeout = cc.timeout
	}
	if !r.anonymous {
		if err := c.tokens.waitPending(ctx); err != nil {
			return nil, err
		}
	}

	retries, renewed := 0, false
	for {
		bearer := ""
		h := header.Clone()
		if !r.anonymous {
			// One credential per request: the server refuses X-API-Key and
			// Authorization together.
			if bearer = c.tokens.current(); bearer != "" {
				h.Set("Authorization", "Bearer "+bearer)
			} else if c.apiKey != "" {
				h.Set("X-API-Key", c.apiKey)
			}
		}
		for name, vs := range cc.header {
			h[name] = vs
		}
		res, respBody, err := c.send(ctx, r.method, target, h, body, timeout)
		if err != nil {
			return nil, err
		}
		info := newResponseInfo(k.op, r.method, target, res)
		if c.onResponse != nil {
			c.onResponse(info)
		}
		if cc.info != nil {
			*cc.info = info
		}
		if res.StatusCode >= 200 && res.StatusCode < 300 {
			if k.out != nil && len(bytes.TrimSpace(respBody)) > 0 {
				if err := json.Unmarshal(respBody, k.out); err != nil {
					return info, fmt.Errorf("puguh: %s: decoding the answer: %w", k.op, err)
				}
			}
			return info, nil
		}
		apiErr := errorFromResponse(info, respBody)
		if res.StatusCode == http.StatusUnauthorized && bearer != "" && !renewed &&
			IsInvalidTokenChallenge(res.Header.Get("WWW-Authenticate")) && c.tokens.canRenew() {
			renewed = true
			next, err := c.tokens.tokenAfter(ctx, bearer)
			if err != nil {
				return info, err
			}
			if next != "" {
				continue
			}
			return info, apiErr
		}
		if (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) && retries < maxRetries {
			wait := info.RetryAfter
			if !info.hasRetryAfter {
				wait = min(500*time.Millisecond<<retries, 8*time.Second)
			}
			if wait > c.maxRetryDelay {
				return info, apiErr
			}
			retries++
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return info, ctx.Err()
			}
			continue
		}
		return info, apiErr
	}
}

func (c *Client) url(r route, k call) (string, error) {
	p := r.path
	for _, v := range k.path {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p, '}')
		if i < 0 || j < i {
			return "", fmt.Errorf("puguh: %s: too many path parameters", k.op)
		}
		if v == "" {
			return "", fmt.Errorf("puguh: %s: missing path parameter %s", k.op, p[i+1:j])
		}
		p = p[:i] + url.PathEscape(v) + p[j+1:]
	}
	if i := strings.IndexByte(p, '{'); i >= 0 {
		return "", fmt.Errorf("puguh: %s: missing path parameter %s", k.op, p[i+1:strings.IndexByte(p, '}')])
	}
	u := c.baseURL + p
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	return u, nil
}

func (c *Client) headers(k call, r route, cc callConfig, hasBody bool) (http.Header, error) {
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("User-Agent", userAgent)
	for name, vs := range c.header {
		h[name] = append([]string(nil), vs...)
	}
	if hasBody {
		h.Set("Content-Type", "application/json")
	}
	if !r.anonymous {
		org := c.orgID
		if cc.organizationID != "" {
			org = cc.organizationID
		}
		if org != "" {
			h.Set("X-Organization-ID", org)
		}
	}
	if k.application {
		app := c.appID
		if cc.applicationID != "" {
			app = cc.applicationID
		}
		if app == "" {
			return nil, fmt.Errorf("puguh: %s: an application ID is required (pass puguh.WithApplicationID to the call or to NewClient)", k.op)
		}
		h.Set("X-Application-ID", app)
	}
	return h, nil
}

// maxAnswer bounds the body the client reads.
const maxAnswer = 16 << 20

// send is one HTTP exchange with its own timeout, body read included. The
// caller's own cancellation returns the context's error unwrapped.
func (c *Client) send(ctx context.Context, method, target string, h http.Header, body []byte, timeout time.Duration) (*http.Response, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, target, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("puguh: %w", err)
	}
	req.Header = h
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &ConnectionError{Method: method, URL: stripQuery(target), Timeout: errors.Is(actx.Err(), context.DeadlineExceeded), Err: err}
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fail(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, nil, fail(err)
	}
	return res, b, nil
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

func pageQuery(p PageParams) url.Values {
	q := url.Values{}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// list runs a list operation and returns its first page, which fetches the next ones.
func list[T any](ctx context.Context, c *Client, k call, params PageParams) (*Page[T], error) {
	var fetch func(ctx context.Context, cursor string) (*Page[T], error)
	fetch = func(ctx context.Context, cursor string) (*Page[T], error) {
		p := params
		p.Cursor = cursor
		var out struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		kk := k
		kk.query = pageQuery(p)
		for key, vs := range k.query { // the operation's own filters
			kk.query[key] = vs
		}
		kk.out = &out
		info, err := c.do(ctx, kk)
		if err != nil {
			return nil, err
		}
		if out.Items == nil {
			out.Items = []T{}
		}
		return &Page[T]{Items: out.Items, NextCursor: out.NextCursor, Response: info, fetch: fetch}, nil
	}
	return fetch(ctx, params.Cursor)
}
