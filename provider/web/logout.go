package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// logoutPage is the data of logout.html.
type logoutPage struct {
	SignedIn              bool
	Email                 string
	Application           string
	Action                string
	CSRF                  string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

// logoutForm asks the user to confirm signing out (GET /logout); a link or
// image elsewhere cannot sign anyone out.
func (p *Pages) logoutForm(w http.ResponseWriter, r *http.Request) {
	data, ok := p.logoutData(w, r)
	if !ok {
		return
	}
	data.Action = "/logout"
	p.Render(w, r, http.StatusOK, "logout", data)
}

// logout ends the SSO session and its tokens (POST /logout), then shows the
// signed-out page (Post/Redirect/Get).
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	// A session that began at an organization's identity provider ends
	// there too, where the provider supports RP-initiated logout.
	var upstream string
	if sess, err := p.CurrentSession(r); err == nil && sess != nil {
		if fs := p.federatedSession(r.Context(), sess.ID); fs != nil {
			upstream = fs.EndSessionURL
		}
	}
	if !p.endBrowserSession(w, r) {
		return
	}
	if u, err := url.Parse(upstream); upstream != "" && err == nil {
		p.Headers(w, origin(u))
		redirect(w, upstream)
		return
	}
	p.Headers(w)
	redirect(w, "/logout")
}

// endBrowserSession ends the current session, if any, and clears its cookie.
func (p *Pages) endBrowserSession(w http.ResponseWriter, r *http.Request) bool {
	sess, err := p.CurrentSession(r)
	if err != nil {
		p.unavailable(w, r, err)
		return false
	}
	p.clearSession(w)
	if sess == nil {
		return true
	}
	if err := p.endSessionByID(r.Context(), sess.ID); err != nil {
		p.unavailable(w, r, err)
		return false
	}
	p.audit.Record(r.Context(), audit.Event{Type: audit.SignedOut, Actor: audit.User(sess.UserID), Subject: audit.User(sess.UserID)})
	return true
}

func (p *Pages) logoutData(w http.ResponseWriter, r *http.Request) (logoutPage, bool) {
	data := logoutPage{CSRF: p.CSRFToken(w, r)}
	sess, err := p.CurrentSession(r)
	if err != nil {
		p.unavailable(w, r, err)
		return data, false
	}
	if sess != nil {
		u, err := p.store.UserByID(r.Context(), sess.UserID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			p.unavailable(w, r, err)
			return data, false
		}
		if u != nil {
			data.SignedIn, data.Email = true, u.Email
		}
	}
	return data, true
}

// endSessionRequest is a validated RP-initiated logout request
// (OpenID Connect RP-Initiated Logout 1.0 §2).
type endSessionRequest struct {
	app      *storage.Application // nil when the client is not known
	redirect string               // a registered post_logout_redirect_uri, or ""
	state    string
}

// parseEndSession validates an RP-initiated logout request. id_token_hint must
// be an ID token we signed, for our issuer; an expired one is fine (§2: the
// RP may hold only an expired token by then). post_logout_redirect_uri is
// honoured only when it is registered, exactly, for the client the hint or
// client_id names: otherwise this endpoint would be an open redirect.
func (p *Pages) parseEndSession(r *http.Request) (*endSessionRequest, string) {
	form := r.Form
	req := &endSessionRequest{state: form.Get("state")}
	clientID := form.Get("client_id")
	if hint := form.Get("id_token_hint"); hint != "" {
		aud, err := p.idTokenAudience(hint)
		if err != nil {
			httpapi.Logger(r.Context()).Info("oauth: logout hint refused", "error", err)
			return nil, "The id_token_hint is not an ID token issued by Puguh."
		}
		if clientID != "" && !slices.Contains(aud, clientID) {
			return nil, "The id_token_hint was not issued to this client_id."
		}
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		}
	}
	if clientID != "" {
		app, err := p.store.ApplicationByID(r.Context(), clientID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, "Puguh could not look up the application. Try again in a moment."
		}
		req.app = app
	}
	if u := form.Get("post_logout_redirect_uri"); u != "" {
		if req.app == nil {
			return nil, "A post_logout_redirect_uri needs an id_token_hint or a client_id."
		}
		if !slices.Contains(req.app.PostLogoutRedirectURIs, u) {
			return nil, "The post_logout_redirect_uri is not registered for this application."
		}
		req.redirect = u
	}
	return req, ""
}

// idTokenAudience verifies a hint's signature, issuer and type (an access
// token is not an ID token) and returns its audience. Expiry is not checked.
func (p *Pages) idTokenAudience(token string) ([]string, error) {
	vt, err := p.verifier.Verify(token)
	if err != nil {
		return nil, err
	}
	if vt.Type != "" && vt.Type != "JWT" {
		return nil, errors.New("not an ID token")
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(vt.Payload, &claims); err != nil || claims.Issuer != p.provider.Config().Issuer {
		return nil, errors.New("wrong issuer")
	}
	var aud []string
	if err := json.Unmarshal(claims.Audience, &aud); err != nil {
		var one string
		if err := json.Unmarshal(claims.Audience, &one); err != nil || one == "" {
			return nil, errors.New("no audience")
		}
		aud = []string{one}
	}
	return aud, nil
}

// endSessionForm validates the RP's request and asks the user to confirm
// (GET /oauth/logout). A bad request shows the error page and never redirects.
func (p *Pages) endSessionForm(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	req, problem := p.parseEndSession(r)
	if problem != "" {
		p.RenderError(w, r, http.StatusBadRequest, "Sign-out failed", problem, "invalid_request", "")
		return
	}
	data, ok := p.logoutData(w, r)
	if !ok {
		return
	}
	data.Action = "/oauth/logout"
	data.State = req.state
	data.PostLogoutRedirectURI = req.redirect
	var targets []string
	if req.app != nil {
		data.Application, data.ClientID = req.app.Name, req.app.ID
		if u, err := url.Parse(req.redirect); err == nil {
			targets = append(targets, origin(u))
		}
	}
	if !data.SignedIn && req.redirect != "" {
		// Nothing to confirm: the user is already signed out.
		redirect(w, withState(req.redirect, req.state))
		return
	}
	p.Render(w, r, http.StatusOK, "logout", data, targets...)
}

// endSession signs out after confirmation (POST /oauth/logout) and returns to
// the registered post_logout_redirect_uri with state, if one was given. The
// form's fields are validated again: they came back from the browser.
func (p *Pages) endSession(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	req, problem := p.parseEndSession(r)
	if problem != "" {
		p.RenderError(w, r, http.StatusBadRequest, "Sign-out failed", problem, "invalid_request", "")
		return
	}
	if !p.endBrowserSession(w, r) {
		return
	}
	if req.redirect == "" {
		p.Headers(w)
		redirect(w, "/logout")
		return
	}
	u, _ := url.Parse(req.redirect)
	p.Headers(w, origin(u))
	redirect(w, withState(req.redirect, req.state))
}

// withState appends state to a redirect URI, keeping its own query.
func withState(target, state string) string {
	if state == "" {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}
