package puguh

import (
	"context"
	"net/http"
	"time"
)

// Options configure a Client. Options is itself an Option, so
// NewClient(puguh.Options{…}) works, as do the option functions
// (NewClient(puguh.WithAPIKey(key, org))) and any mix of both: later
// arguments override the fields they set.
type Options struct {
	// BaseURL is Puguh's root URL, without /api/v1 (http://localhost:8080).
	// Default: the PUGUH_BASE_URL environment variable. With neither,
	// NewClient fails: there is deliberately no built-in host, so a forgotten
	// setting cannot send credentials somewhere unexpected.
	BaseURL string

	// APIKey (pgh_…) is sent as X-API-Key. It needs OrganizationID.
	APIKey string
	// OrganizationID is sent as X-Organization-ID on every authenticated
	// request: required with an API key, optional with a token.
	OrganizationID string
	// ApplicationID is sent as X-Application-ID by application-scoped
	// operations (grants).
	ApplicationID string

	// AccessToken is a Bearer JWT from a login, a refresh or an OAuth grant.
	AccessToken string
	// OnTokenExpired is called when the server refuses the access token as
	// invalid or expired (401 with error="invalid_token"): it returns a new
	// access token and the request is sent once more with it. One call serves
	// every request that failed together. Returning "" gives up (the 401 is
	// returned); an error it returns reaches every waiting caller as it is.
	OnTokenExpired func(ctx context.Context) (string, error)
	// RefreshToken lets the client refresh an expired access token by itself
	// (POST /api/v1/auth/refresh) when there is no OnTokenExpired; the rotated
	// refresh token replaces it.
	RefreshToken string
	// OnTokens is called with every token pair the client stores (login,
	// refresh): persist it if sessions outlive the process.
	OnTokens func(ctx context.Context, tokens TokenPair) error

	// HTTPClient sends the requests. Default: http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt, body included. Zero means the default,
	// 30 s; a negative value means none.
	Timeout time.Duration
	// MaxRetries is how many times a 429 or 503 is retried after its
	// Retry-After. Default 0: retrying is opt-in.
	MaxRetries int
	// MaxRetryDelay is the longest wait before a retry; a longer Retry-After
	// is returned at once. Zero means the default, 60 s.
	MaxRetryDelay time.Duration
	// Header is sent with every request.
	Header http.Header
	// OnResponse is called with every HTTP answer (rate-limit headers,
	// request id, status), errors and retried attempts included.
	OnResponse func(*ResponseInfo)
}

// Option configures a Client: Options, or one of the With… functions.
type Option interface{ applyClient(*Options) }

// SharedOption is an option of the client (every call) and of one call.
type SharedOption interface {
	Option
	RequestOption
}

// RequestOption configures one call: WithOrganizationID, WithApplicationID,
// WithTimeout, WithMaxRetries and WithHeader (which are client options too),
// and WithResponseInfo.
type RequestOption interface{ applyRequest(*callConfig) }

// callConfig is what a call's RequestOptions set; zero fields take the
// client's settings.
type callConfig struct {
	organizationID string
	applicationID  string
	timeout        time.Duration
	hasTimeout     bool
	maxRetries     int
	hasMaxRetries  bool
	header         http.Header
	info           **ResponseInfo
}

func (o Options) applyClient(dst *Options) {
	if o.BaseURL != "" {
		dst.BaseURL = o.BaseURL
	}
	if o.APIKey != "" {
		dst.APIKey = o.APIKey
	}
	if o.OrganizationID != "" {
		dst.OrganizationID = o.OrganizationID
	}
	if o.ApplicationID != "" {
		dst.ApplicationID = o.ApplicationID
	}
	if o.AccessToken != "" {
		dst.AccessToken = o.AccessToken
	}
	if o.OnTokenExpired != nil {
		dst.OnTokenExpired = o.OnTokenExpired
	}
	if o.RefreshToken != "" {
		dst.RefreshToken = o.RefreshToken
	}
	if o.OnTokens != nil {
		dst.OnTokens = o.OnTokens
	}
	if o.HTTPClient != nil {
		dst.HTTPClient = o.HTTPClient
	}
	if o.Timeout != 0 {
		dst.Timeout = o.Timeout
	}
	if o.MaxRetries != 0 {
		dst.MaxRetries = o.MaxRetries
	}
	if o.MaxRetryDelay != 0 {
		dst.MaxRetryDelay = o.MaxRetryDelay
	}
	for k, vs := range o.Header {
		if dst.Header == nil {
			dst.Header = http.Header{}
		}
		dst.Header[k] = append([]string(nil), vs...)
	}
	if o.OnResponse != nil {
		dst.OnResponse = o.OnResponse
	}
}

type clientOption func(*Options)

func (f clientOption) applyClient(o *Options) { f(o) }

type requestOption func(*callConfig)

func (f requestOption) applyRequest(c *callConfig) { f(c) }

// bothOption is an option of the client and of one call.
type bothOption struct {
	client  func(*Options)
	request func(*callConfig)
}

func (b bothOption) applyClient(o *Options)     { b.client(o) }
func (b bothOption) applyRequest(c *callConfig) { b.request(c) }

// WithAPIKey authenticates with an API key (X-API-Key) acting in the
// organization organizationID (X-Organization-ID), as in the API guide.
func WithAPIKey(apiKey, organizationID string) Option {
	return clientOption(func(o *Options) { o.APIKey, o.OrganizationID = apiKey, organizationID })
}

// WithAccessToken authenticates with a Bearer access token. onExpired, if not
// nil, is called for a new one when the server refuses it as expired; see
// Options.OnTokenExpired.
func WithAccessToken(accessToken string, onExpired func(ctx context.Context) (string, error)) Option {
	return clientOption(func(o *Options) { o.AccessToken, o.OnTokenExpired = accessToken, onExpired })
}

// WithBaseURL says where Puguh is (default: PUGUH_BASE_URL).
func WithBaseURL(baseURL string) Option {
	return clientOption(func(o *Options) { o.BaseURL = baseURL })
}

// WithRefreshToken gives the client a refresh token to renew its session with.
func WithRefreshToken(refreshToken string) Option {
	return clientOption(func(o *Options) { o.RefreshToken = refreshToken })
}

// WithOnTokens is called with every token pair the client stores.
func WithOnTokens(f func(ctx context.Context, tokens TokenPair) error) Option {
	return clientOption(func(o *Options) { o.OnTokens = f })
}

// WithHTTPClient sends the requests with c.
func WithHTTPClient(c *http.Client) Option {
	return clientOption(func(o *Options) { o.HTTPClient = c })
}

// WithMaxRetryDelay is the longest Retry-After the client waits for.
func WithMaxRetryDelay(d time.Duration) Option {
	return clientOption(func(o *Options) { o.MaxRetryDelay = d })
}

// WithOnResponse is called with every HTTP answer.
func WithOnResponse(f func(*ResponseInfo)) Option {
	return clientOption(func(o *Options) { o.OnResponse = f })
}

// WithOrganizationID acts in this organization (X-Organization-ID): for every
// call when given to NewClient, for one call when given to a method.
func WithOrganizationID(id string) SharedOption {
	return bothOption{
		client:  func(o *Options) { o.OrganizationID = id },
		request: func(c *callConfig) { c.organizationID = id },
	}
}

// WithApplicationID names the application of application-scoped operations
// (X-Application-ID): for every call, or for one.
func WithApplicationID(id string) SharedOption {
	return bothOption{
		client:  func(o *Options) { o.ApplicationID = id },
		request: func(c *callConfig) { c.applicationID = id },
	}
}

// WithTimeout bounds each HTTP attempt (negative: none): for every call, or for one.
func WithTimeout(d time.Duration) SharedOption {
	return bothOption{
		client:  func(o *Options) { o.Timeout = d },
		request: func(c *callConfig) { c.timeout, c.hasTimeout = d, true },
	}
}

// WithMaxRetries retries a 429 or 503 up to n times: for every call, or for one.
func WithMaxRetries(n int) SharedOption {
	return bothOption{
		client:  func(o *Options) { o.MaxRetries = n },
		request: func(c *callConfig) { c.maxRetries, c.hasMaxRetries = n, true },
	}
}

// WithHeader adds a header: to every call, or to one.
func WithHeader(name, value string) SharedOption {
	return bothOption{
		client: func(o *Options) {
			if o.Header == nil {
				o.Header = http.Header{}
			}
			o.Header.Add(name, value)
		},
		request: func(c *callConfig) {
			if c.header == nil {
				c.header = http.Header{}
			}
			c.header.Add(name, value)
		},
	}
}

// WithResponseInfo stores the call's last HTTP answer in *info (status,
// headers, rate limit, request id), also when the call fails with an API error.
func WithResponseInfo(info **ResponseInfo) RequestOption {
	return requestOption(func(c *callConfig) { c.info = info })
}
