package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	puguh "github.com/arsaka/puguh/sdk/go"
)

// IntrospectionResult is an RFC 7662 §2.2 answer.
type IntrospectionResult struct {
	Active    bool      `json:"active"`
	Scope     string    `json:"scope,omitempty"`
	ClientID  string    `json:"client_id,omitempty"`
	Subject   string    `json:"sub,omitempty"`
	Expiry    int64     `json:"exp,omitempty"`
	IssuedAt  int64     `json:"iat,omitempty"`
	Issuer    string    `json:"iss,omitempty"`
	Audience  Audiences `json:"aud,omitempty"`
	TokenType string    `json:"token_type,omitempty"`
}

// Introspect asks the issuer whether token is active (RFC 7662), as the
// client given to the Introspection option. Puguh answers active only for
// tokens of that client's organization. An error means the issuer could not
// answer (a *puguh.ConnectionError, or a *puguh.OAuthError for refused client
// credentials): not that the token is bad.
func (v *Verifier) Introspect(ctx context.Context, token string) (*IntrospectionResult, error) {
	if v.introspectionID == "" {
		return nil, errors.New("verifier: Introspect needs verifier.Introspection(clientID, clientSecret)")
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.introspectionEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "puguh-sdk-go/"+puguh.Version)
	// RFC 6749 §2.3.1: the credentials are form-encoded before Basic encoding.
	req.SetBasicAuth(url.QueryEscape(v.introspectionID), url.QueryEscape(v.introspectionSecret))
	res, err := v.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, connectionError(http.MethodPost, v.introspectionEndpoint, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, connectionError(http.MethodPost, v.introspectionEndpoint, err)
	}
	if res.StatusCode != http.StatusOK {
		info := puguh.NewResponseInfo("oauth.introspect", http.MethodPost, v.introspectionEndpoint, res)
		var e struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, &puguh.OAuthError{Status: res.StatusCode, ErrorCode: e.Error, ErrorDescription: e.ErrorDescription, Response: info}
		}
		return nil, puguh.NewErrorFromResponse(info, body)
	}
	var out IntrospectionResult
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("verifier: the introspection answer is not JSON: %w", err)
	}
	return &out, nil
}

// CheckActive asks the issuer whether a token that verified offline is still
// active: nil if it is, an invalid_token refusal if it was revoked (signed
// out, refresh-token reuse, a revoked grant), another error if the issuer
// could not answer. r supplies the token (its Authorization header).
func (v *Verifier) CheckActive(ctx context.Context, r *http.Request, claims *Claims) error {
	token, err := BearerToken(r)
	if err != nil {
		return err
	}
	in, err := v.Introspect(ctx, token)
	if err != nil {
		return err
	}
	if !in.Active {
		return refuse("the token has been revoked", nil)
	}
	if in.Subject != "" && in.Subject != claims.Subject {
		return refuse("the issuer describes another token", nil)
	}
	return nil
}
