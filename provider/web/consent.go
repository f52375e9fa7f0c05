package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// consentPage is the data of consent.html.
type consentPage struct {
	CSRF           string
	Challenge      string
	Application    string
	Organization   string
	Email          string
	Scopes         []scopeLine
	RedirectOrigin string
}

type scopeLine struct{ Name, Description string }

// consentForm shows what the application asks for (GET /consent?challenge=…).
func (p *Pages) consentForm(w http.ResponseWriter, r *http.Request) {
	c, sess, ok := p.consentContext(w, r, r.URL.Query().Get("challenge"))
	if !ok {
		return
	}
	ctx := r.Context()
	app, err := p.store.ApplicationByID(ctx, c.ClientID)
	if err != nil {
		p.RenderError(w, r, http.StatusBadRequest, "Unknown application", "The application that sent you here no longer exists.", "", "")
		return
	}
	user, err := p.store.UserByID(ctx, sess.UserID)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	q, _ := url.ParseQuery(c.Query)
	data := consentPage{CSRF: p.CSRFToken(w, r), Challenge: c.token, Application: app.Name, Email: user.Email}
	if org, err := p.store.OrganizationByID(ctx, app.OrganizationID); err == nil && !org.Personal {
		data.Organization = org.Name
	}
	custom, err := p.store.ScopeDescriptions(ctx, app.OrganizationID)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	for _, s := range fosite.RemoveEmpty(strings.Split(q.Get("scope"), " ")) {
		data.Scopes = append(data.Scopes, scopeLine{Name: s, Description: describeScope(s, custom)})
	}
	_, targets := p.challengeApplication(r, c)
	if len(targets) > 0 {
		data.RedirectOrigin = targets[0]
	}
	p.Render(w, r, http.StatusOK, "consent", data, targets...)
}

// consent records the user's decision (POST /consent). Allow marks the
// challenge consented (and remembers the grant when asked) and resumes the
// authorization request; Deny answers the client with access_denied.
func (p *Pages) consent(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	c, sess, ok := p.consentContext(w, r, r.PostForm.Get("challenge"))
	if !ok {
		return
	}
	ctx := r.Context()
	_, targets := p.challengeApplication(r, c)
	p.Headers(w, targets...)
	if r.PostForm.Get("decision") != "allow" {
		ar, err := p.provider.Public().NewAuthorizeRequest(ctx, requestFromQuery(r, c.Query))
		_ = p.store.DeleteLoginChallenge(ctx, c.ID)
		if err == nil {
			err = fosite.ErrAccessDenied.WithHint("The user denied the request.")
		}
		p.authorizeError(w, r, ar, err)
		return
	}
	if r.PostForm.Get("remember") != "" {
		q, _ := url.ParseQuery(c.Query)
		scopes := fosite.RemoveEmpty(strings.Split(q.Get("scope"), " "))
		if g, err := p.store.ConsentGrant(ctx, c.ClientID, sess.UserID); err == nil {
			for _, s := range g.Scopes {
				if !fosite.Arguments(scopes).Has(s) {
					scopes = append(scopes, s)
				}
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			p.unavailable(w, r, err)
			return
		}
		if err := p.store.SaveConsentGrant(ctx, &storage.ConsentGrant{UserID: sess.UserID, ApplicationID: c.ClientID, Scopes: scopes}); err != nil {
			p.unavailable(w, r, err)
			return
		}
	}
	if err := p.store.ConsentLoginChallenge(ctx, c.ID, sess.UserID, p.now()); err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.recordConsent(ctx, c, sess.UserID, r.PostForm.Get("remember") != "")
	redirect(w, "/oauth/authorize?challenge="+url.QueryEscape(c.token))
}

// consentContext loads the challenge and requires a signed-in browser; without
// one it sends the browser to sign in first.
func (p *Pages) consentContext(w http.ResponseWriter, r *http.Request, token string) (*challengeRef, *storage.BrowserSession, bool) {
	c, ok := p.challenge(w, r, token)
	if !ok {
		return nil, nil, false
	}
	sess, err := p.CurrentSession(r)
	if err != nil {
		p.unavailable(w, r, err)
		return nil, nil, false
	}
	if sess == nil {
		redirect(w, "/login?challenge="+url.QueryEscape(c.token))
		return nil, nil, false
	}
	return c, sess, true
}

func (p *Pages) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Logger(r.Context()).Error("web: request failed", "error", err)
	p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not complete this request. Try again in a moment.", "", "")
}

// standardScopes describe the scopes Puguh itself defines.
var standardScopes = map[string]string{
	"openid":         "Confirm who you are (your Puguh account id)",
	"profile":        "See your name",
	"email":          "See your email address",
	"offline_access": "Stay signed in to the application when you are away",
}

// describeScope puts a scope in words: Puguh's own, then the organization's
// description, then a reading of the "verb:resource" convention
// (read:user → "Read your user data").
func describeScope(scope string, custom map[string]string) string {
	if d, ok := standardScopes[scope]; ok {
		return d
	}
	if d, ok := custom[scope]; ok && d != "" {
		return d
	}
	verb, resource, ok := strings.Cut(scope, ":")
	if ok && resource != "" {
		resource = strings.ReplaceAll(resource, "_", " ")
		switch verb {
		case "read":
			return "Read your " + resource + " data"
		case "write":
			return "Create and change your " + resource + " data"
		case "delete":
			return "Delete your " + resource + " data"
		}
	}
	return "Use the permission “" + scope + "”"
}

// recordConsent records consent.granted: the user allowed the application
// the scopes it asked for, remembered or for this request only.
func (p *Pages) recordConsent(ctx context.Context, c *challengeRef, userID string, remembered bool) {
	q, _ := url.ParseQuery(c.Query)
	e := audit.Event{Type: audit.ConsentGranted, Actor: audit.User(userID), Subject: audit.User(userID),
		Details: map[string]string{"application_id": c.ClientID, "scopes": q.Get("scope"), "remembered": strconv.FormatBool(remembered)}}
	if app, err := p.store.ApplicationByID(ctx, c.ClientID); err == nil {
		e.OrganizationID, e.Details["name"] = app.OrganizationID, app.Name
	}
	p.audit.Record(ctx, e)
}
