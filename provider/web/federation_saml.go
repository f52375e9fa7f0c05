package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crewjam/saml"
	"github.com/gorilla/mux"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// samlCookie carries a SAML sign-in's RelayState and AuthnRequest ID between
// the redirect to the identity provider and its answer at the assertion
// consumer service. It is sealed like federationCookie. The answer is a form
// post from the provider's site, on which browsers send no SameSite=Lax
// cookie, so on https this one is SameSite=None (and Secure); it binds the
// answer to this browser by itself: the RelayState must be the one it holds.
const samlCookie = "puguh_saml"

// samlState is the sealed content of samlCookie.
type samlState struct {
	Connection string `json:"c"`
	RelayState string `json:"s"`
	RequestID  string `json:"i"`
	Challenge  string `json:"ch,omitempty"`
	ReturnTo   string `json:"r,omitempty"`
	Expires    int64  `json:"e"`
}

// serviceProvider is Puguh as the SAML service provider of one connection:
// its entity ID is the metadata URL, its key the connection's own. crewjam/
// saml checks every answer with it: the signature (of the Response or of
// each assertion) by a certificate of the identity provider's metadata, no
// SHA-1, the Destination and Recipient (the ACS URL), the audience (this
// entity ID), InResponseTo (the AuthnRequest this browser was sent with),
// IssueInstant, NotBefore and NotOnOrAfter, and the assertion ID once only
// (ReplayCache).
func (p *Pages) serviceProvider(lc *federation.Connection, sp *federation.SPKeyPair, idp *saml.EntityDescriptor) *saml.ServiceProvider {
	base := strings.TrimSuffix(p.issuer.String(), "/")
	metadataURL, _ := url.Parse(base + federation.SAMLMetadataPath(lc.ID))
	acsURL, _ := url.Parse(base + federation.SAMLACSPath(lc.ID))
	s := &saml.ServiceProvider{
		EntityID: metadataURL.String(), MetadataURL: *metadataURL, AcsURL: *acsURL, IDPMetadata: idp,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		AuthnNameIDFormat:                saml.UnspecifiedNameIDFormat,
		RejectSHA1Signatures:             true,
		HTTPClient:                       p.federation.client,
		ReplayCache:                      samlReplay{sessions: p.federation.sessions, connectionID: lc.ID, now: p.now},
	}
	if sp != nil {
		s.Key, s.Certificate, s.SignatureMethod = sp.Key, sp.Certificate, dsig.RSASHA256SignatureMethod
	}
	return s
}

// samlReplay is the replay cache of a connection's assertions, in SQL so
// every replica refuses an assertion another one accepted.
type samlReplay struct {
	sessions     FederatedSessions
	connectionID string
	now          func() time.Time
}

func (r samlReplay) Consume(assertionID string, expiresAt time.Time) error {
	err := r.sessions.ConsumeSAMLAssertion(context.Background(), r.connectionID, assertionID, expiresAt, r.now())
	if errors.Is(err, storage.ErrConflict) {
		return saml.ErrAssertionReplayed
	}
	return err
}

// samlMetadataDocument serves a SAML connection's service-provider metadata
// (GET /federation/saml/{id}/metadata): its entity ID, the ACS with the
// HTTP-POST binding, its signing certificate. Administrators give this URL
// (or the document) to their identity provider.
func (p *Pages) samlMetadataDocument(w http.ResponseWriter, r *http.Request) {
	if p.federation == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "There is nothing here.", "", "")
		return
	}
	lc, ok := p.loginConnection(w, r, mux.Vars(r)["id"])
	if !ok {
		return
	}
	if lc.Protocol != storage.ProtocolSAML {
		p.RenderError(w, r, http.StatusNotFound, "Unknown sign-in connection", "This organization's sign-in connection does not exist (any more).", "", "")
		return
	}
	md := p.serviceProvider(&lc.Connection, lc.SP, nil).Metadata()
	body, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// startSAML sends the browser to the identity provider with an AuthnRequest
// (HTTP-Redirect binding, signed with the connection's key) and a random
// RelayState that the sealed samlCookie holds.
func (p *Pages) startSAML(w http.ResponseWriter, r *http.Request, lc *federation.LoginConnection, loginHint, challenge, returnTo string) {
	idp, err := p.samlMetadata(r.Context(), &lc.Connection)
	if err != nil {
		p.upstreamUnavailable(w, r, lc, err)
		return
	}
	sp := p.serviceProvider(&lc.Connection, lc.SP, idp)
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	st := samlState{Connection: lc.ID, RelayState: randomToken(), RequestID: req.ID, Challenge: challenge, ReturnTo: returnTo,
		Expires: p.now().Add(federationLifetime).Unix()}
	target, err := req.Redirect(st.RelayState, sp)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	plain, _ := json.Marshal(st)
	sealed, err := p.federation.box.Seal("saml:"+lc.ID, plain)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.setSAMLCookie(w, base64.RawURLEncoding.EncodeToString(sealed), int(federationLifetime.Seconds()))
	p.sendUpstream(w, r, lc, target.String(), loginHint)
}

// setSAMLCookie sets samlCookie: SameSite=None on https, so the identity
// provider's form post carries it; Lax on plain http (development on
// loopback, where the provider is same-site), since browsers refuse None
// without Secure.
func (p *Pages) setSAMLCookie(w http.ResponseWriter, value string, maxAge int) {
	sameSite := http.SameSiteLaxMode
	if p.secure {
		sameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, &http.Cookie{
		Name: p.cookieName(samlCookie), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: p.secure, SameSite: sameSite,
	})
}

// samlACS completes a SAML sign-in (POST /federation/saml/{id}/acs): the
// RelayState must be the one this browser was sent with, crewjam/saml
// validates the Response (see serviceProvider), and the assertion's subject
// and attributes go through the connection's mapping to the federation
// rules, like an OpenID Connect sign-in. Every failure is a page.
func (p *Pages) samlACS(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if p.federation == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "There is nothing here.", "", "")
		return
	}
	id := mux.Vars(r)["id"]
	if err := r.ParseForm(); err != nil {
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in failed", "The identity provider's answer cannot be read.", "invalid_request", "")
		return
	}
	st, ok := p.samlState(r, id)
	p.setSAMLCookie(w, "", -1)
	if !ok || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("RelayState")), []byte(st.RelayState)) != 1 {
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in expired",
			"This sign-in was not started in this browser, or took too long. Return to the application and try again.", "", "")
		return
	}
	lc, ok := p.loginConnection(w, r, id)
	if !ok {
		return
	}
	idp, err := p.samlMetadata(ctx, &lc.Connection)
	if err != nil {
		p.upstreamUnavailable(w, r, lc, err)
		return
	}
	assertion, err := p.serviceProvider(&lc.Connection, lc.SP, idp).ParseResponse(r, []string{st.RequestID})
	if err != nil {
		p.samlRefused(w, r, lc, err)
		return
	}
	p.completeFederation(w, r, lc, federation.FromAssertion(&lc.Connection, assertion),
		storage.FederatedSession{IDP: idp.EntityID}, st.Challenge, st.ReturnTo)
}

// samlRefused shows why a SAML Response was not accepted: the provider's
// own refusal (its status), a replayed assertion, or an answer that does
// not pass the checks (the cause is logged, never shown).
func (p *Pages) samlRefused(w http.ResponseWriter, r *http.Request, lc *federation.LoginConnection, err error) {
	ctx := r.Context()
	cause := err
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		cause = ire.PrivateErr
	}
	var status saml.ErrBadStatus
	switch {
	case errors.As(cause, &status):
		httpapi.Logger(ctx).Info("federation: identity provider refused the sign-in", "connection_id", lc.ID, "status", status.Status)
		p.federation.rules.Failed(ctx, &lc.Connection, "provider_refused")
		p.RenderError(w, r, http.StatusForbidden, "Sign-in refused",
			"Your organization's identity provider did not sign you in.", limit(status.Status, 100), "")
	case errors.Is(cause, saml.ErrAssertionReplayed):
		httpapi.Logger(ctx).Warn("federation: replayed SAML assertion", "connection_id", lc.ID)
		p.federation.rules.Failed(ctx, &lc.Connection, "assertion_replayed")
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in failed",
			"This answer of the identity provider was used already. Return to the application and sign in again.", "", "")
	default:
		httpapi.Logger(ctx).Warn("federation: SAML response refused", "connection_id", lc.ID, "error", cause)
		p.federation.rules.Failed(ctx, &lc.Connection, "invalid_response")
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in failed",
			"The identity provider's answer could not be accepted (it is not valid, not signed, or not for this sign-in).", "", "")
	}
}

// samlState opens this browser's SAML cookie for connection id.
func (p *Pages) samlState(r *http.Request, id string) (*samlState, bool) {
	raw := p.cookie(r, samlCookie)
	if raw == "" || len(raw) > 4096 {
		return nil, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, false
	}
	plain, err := p.federation.box.Open("saml:"+id, sealed)
	if err != nil {
		return nil, false
	}
	var st samlState
	if json.Unmarshal(plain, &st) != nil || st.Connection != id || p.now().Unix() > st.Expires {
		return nil, false
	}
	return &st, true
}
