package puguh

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RateLimit is the rate-limit headers of an answer (docs/rate-limits.md).
// Every /api/v1 answer carries them, errors included: an authenticated
// request shows its organization's budget, an unauthenticated one (a 401
// too) the per-IP budget it spent.
type RateLimit struct {
	Limit     int       // X-RateLimit-Limit: requests a quiet client may send at once in this budget
	Remaining int       // X-RateLimit-Remaining: requests that would pass right now
	Reset     time.Time // X-RateLimit-Reset (a unix second): when the budget is whole again
}

// ResponseInfo is one HTTP answer of a call: status, headers, rate limit and
// request id. Get it per call with WithResponseInfo, or for every answer
// with the OnResponse client option.
type ResponseInfo struct {
	OperationID string // the operationId of provider/rest/openapi.yaml ("oauth.token" and the like for OAuth calls)
	Method      string
	URL         string // without its query
	Status      int
	Header      http.Header
	RateLimit   *RateLimit    // nil when the answer carried none
	RetryAfter  time.Duration // Retry-After; zero when the answer carried none
	RequestID   string        // X-Request-Id, to quote when asking the operator about a request

	hasRetryAfter bool
}

func intHeader(h http.Header, name string) (int64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func parseRateLimit(h http.Header) *RateLimit {
	limit, ok1 := intHeader(h, "X-RateLimit-Limit")
	remaining, ok2 := intHeader(h, "X-RateLimit-Remaining")
	reset, ok3 := intHeader(h, "X-RateLimit-Reset")
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	return &RateLimit{Limit: int(limit), Remaining: int(remaining), Reset: time.Unix(reset, 0)}
}

// parseRetryAfter reads Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, ok := intHeader(h, "Retry-After"); ok {
		return time.Duration(n) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := at.Sub(now)
	if d < 0 {
		d = 0
	}
	// Whole seconds, rounded up, as the header's own unit.
	return (d + time.Second - 1).Truncate(time.Second), true
}

func newResponseInfo(operationID, method, rawURL string, res *http.Response) *ResponseInfo {
	u := rawURL
	if parsed, err := url.Parse(rawURL); err == nil {
		parsed.RawQuery = ""
		u = parsed.String()
	}
	info := &ResponseInfo{
		OperationID: operationID,
		Method:      method,
		URL:         u,
		Status:      res.StatusCode,
		Header:      res.Header,
		RateLimit:   parseRateLimit(res.Header),
		RequestID:   res.Header.Get("X-Request-Id"),
	}
	info.RetryAfter, info.hasRetryAfter = parseRetryAfter(res.Header, time.Now())
	return info
}

// NewResponseInfo describes an answer of an operation the SDK did not send
// itself (the oauth and verifier packages use it for the OAuth endpoints).
func NewResponseInfo(operationID, method, rawURL string, res *http.Response) *ResponseInfo {
	return newResponseInfo(operationID, method, rawURL, res)
}

// NewErrorFromResponse builds the typed error of an error answer whose body
// was read: what the client itself returns for the same answer.
func NewErrorFromResponse(info *ResponseInfo, body []byte) error {
	return errorFromResponse(info, body)
}
