package app_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml/samlidp"
	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// samlFederation is a Puguh (sp) whose owner's organization signs the people
// of acme.test in through a SAML 2.0 identity provider: crewjam/saml's
// samlidp, in process on loopback, with its own user store.
type samlFederation struct {
	sp         *apptest.Env
	idp        *samlidp.Server
	idpURL     string
	owner      *apptest.User // owns the organization (Acme) on sp
	connection string
	app        *testApp
}

const samlPassword = "corporate saml password"

// newSAMLFederation starts both; encrypted says whether the IdP learns
// Puguh's encryption certificate (and so encrypts its assertions).
func newSAMLFederation(t *testing.T, encrypted bool) *samlFederation {
	t.Helper()
	f := &samlFederation{sp: apptest.Start(t, apptest.Options{})}
	srv := httptest.NewUnstartedServer(nil)
	base := url.URL{Scheme: "http", Host: srv.Listener.Addr().String()}
	key, cert := selfSignedCertificate(t, "idp.acme.test")
	idp, err := samlidp.New(samlidp.Options{URL: base, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	f.idp, f.idpURL = idp, base.String()
	for _, u := range []struct{ name, email, cn, group string }{
		{"alice", "alice@acme.test", "Alice Engineer", "staff"},
		{"bob", "bob@other.test", "Bob Elsewhere", "staff"},
	} {
		f.idpDo(t, http.MethodPut, "/users/"+u.name, map[string]any{"name": u.name, "password": samlPassword,
			"email": u.email, "common_name": u.cn, "groups": []string{u.group}}, http.StatusNoContent)
	}

	f.owner = f.sp.NewUser()
	r := f.sp.Do(http.MethodPost, "/api/v1/organizations/"+f.owner.OrganizationID+"/connections", map[string]any{
		"protocol": "saml", "name": "Acme SAML IdP", "metadata_url": f.idpURL + "/metadata", "domains": []string{"acme.test"},
		"email_claim": "mail", "name_claim": "cn", "groups_claim": "eduPersonAffiliation",
		"role_mapping": map[string]string{"staff": "admin"}, "default_role": "viewer",
	}, f.owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create connection: %d %s", r.Status, r.Body)
	}
	var conn struct {
		ID            string `json:"id"`
		RedirectURI   string `json:"redirect_uri"`
		SPMetadataURL string `json:"sp_metadata_url"`
	}
	r.JSON(t, &conn)
	f.connection = conn.ID
	if conn.RedirectURI != f.sp.URL+"/federation/saml/"+conn.ID+"/acs" || conn.SPMetadataURL != f.sp.URL+"/federation/saml/"+conn.ID+"/metadata" {
		t.Fatalf("connection %+v", conn)
	}
	// The IdP registers Puguh's service-provider metadata, as an
	// administrator would give it to Okta, Entra ID or Keycloak.
	md := f.sp.Do(http.MethodGet, "/federation/saml/"+conn.ID+"/metadata", nil)
	if md.Status != http.StatusOK || md.Header.Get("Content-Type") != "application/samlmetadata+xml" ||
		!strings.Contains(string(md.Body), `entityID="`+conn.SPMetadataURL+`"`) || !strings.Contains(string(md.Body), `Location="`+conn.RedirectURI+`"`) {
		t.Fatalf("sp metadata: %d %s", md.Status, md.Body)
	}
	spMetadata := string(md.Body)
	if !encrypted {
		spMetadata = encryptionKey.ReplaceAllString(spMetadata, "")
	}
	f.idpDo(t, http.MethodPut, "/services/puguh", spMetadata, http.StatusNoContent)
	f.app = registerApp(t, f.sp, f.owner, appOptions{})
	return f
}

func (f *samlFederation) idpDo(t *testing.T, method, path string, body any, want int) {
	t.Helper()
	var raw string
	switch b := body.(type) {
	case string:
		raw = b
	default:
		j, _ := json.Marshal(b)
		raw = string(j)
	}
	req, _ := http.NewRequest(method, f.idpURL+path, strings.NewReader(raw))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s at the IdP: %d", method, path, resp.StatusCode)
	}
}

func selfSignedCertificate(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// samlAnswer is the identity provider's auto-submitting form: where it
// posts (Puguh's ACS) and what (SAMLResponse, RelayState).
type samlAnswer struct {
	action string
	fields url.Values
}

var (
	formAction    = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	samlField     = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)"`)
	xmlSigBlock   = regexp.MustCompile(`(?s)<(\w+:)?Signature[ >].*?</(\w+:)?Signature>`)
	encryptionKey = regexp.MustCompile(`(?s)<(\w+:)?KeyDescriptor use="encryption">.*?</(\w+:)?KeyDescriptor>`)
)

// toIdP signs the browser in at the identity provider (its own session:
// the IdP's login form would re-post the request without its redirect
// binding signature), then follows start through sp to the IdP's answer.
func (f *samlFederation) toIdP(b *browser, user, start string) samlAnswer {
	b.t.Helper()
	if p := b.postTo(f.idpURL+"/login", url.Values{"user": {user}, "password": {samlPassword}}); p.Status != http.StatusOK {
		b.t.Fatalf("IdP login: %d %s", p.Status, p.Body)
	}
	p := b.get(start)
	for hop := 0; hop < 10; hop++ {
		if p.Status == http.StatusOK && strings.Contains(p.Body, `id="SAMLResponseForm"`) {
			a := samlAnswer{fields: url.Values{}}
			if m := formAction.FindStringSubmatch(p.Body); m != nil {
				a.action = html.UnescapeString(m[1])
			}
			for _, m := range samlField.FindAllStringSubmatch(p.Body, -1) {
				a.fields.Set(m[1], html.UnescapeString(m[2]))
			}
			return a
		}
		if p.Status != http.StatusSeeOther && p.Status != http.StatusFound || p.Location == nil {
			b.t.Fatalf("on the way to the IdP: %d %v %.600s", p.Status, p.Location, p.Body)
		}
		p = b.get(p.Location.String())
	}
	b.t.Fatal("too many redirects")
	return samlAnswer{}
}

// answer posts the IdP's answer to sp and follows sp (consenting) until it
// leaves sp or shows a page.
func (f *samlFederation) answer(b *browser, a samlAnswer) *page {
	b.t.Helper()
	p := b.postTo(a.action, a.fields)
	for hop := 0; hop < 8; hop++ {
		if p.Status != http.StatusSeeOther || p.Location == nil || "http://"+p.Location.Host != f.sp.URL {
			return p
		}
		if p.Location.Path == "/consent" {
			fields := formFields(b.t, b.get(p.Location.String()).Body)
			fields.Set("decision", "allow")
			p = b.postTo(f.sp.URL+"/consent", fields)
			continue
		}
		p = b.get(p.Location.String())
	}
	b.t.Fatal("too many redirects")
	return nil
}

func (f *samlFederation) role(t *testing.T, email string) string {
	t.Helper()
	r := f.sp.Do(http.MethodGet, "/api/v1/organizations/"+f.owner.OrganizationID+"/members?limit=100", nil, f.owner.Bearer()...)
	var page struct {
		Items []struct{ Email, Role string }
	}
	r.JSON(t, &page)
	for _, m := range page.Items {
		if m.Email == email {
			return m.Role
		}
	}
	return ""
}

// TestSAMLFederatedSignIn: a member of Acme signs in to an application on
// sp through Acme's SAML identity provider (login_hint sends her there, an
// AuthnRequest with the redirect binding, the signed answer posted to the
// ACS), never choosing a Puguh password; she is provisioned with the role
// her group maps to, and the ID token says how (amr fed, idp = the IdP's
// entity ID).
func TestSAMLFederatedSignIn(t *testing.T) {
	t.Parallel()
	f := newSAMLFederation(t, true)
	b := newBrowser(t, f.sp)
	var request *url.URL
	b.observe = func(p *page) {
		if p.Location != nil && "http://"+p.Location.Host == f.idpURL && p.Location.Path == "/sso" && request == nil {
			request = p.Location
		}
	}
	verifier := oauth2.GenerateVerifier()
	q := codeQuery(f.app, "openid email profile", "nonce", "nonce-0123456789", "login_hint", "alice@acme.test",
		"code_challenge", oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method", "S256")
	a := f.toIdP(b, "alice", f.sp.URL+"/oauth/authorize?"+q.Encode())
	if request == nil {
		t.Fatal("never sent to the identity provider")
	}
	rq := request.Query()
	if rq.Get("SAMLRequest") == "" || len(rq.Get("RelayState")) != 43 ||
		rq.Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" || rq.Get("Signature") == "" {
		t.Fatalf("authentication request %v", request)
	}
	if a.action != f.sp.URL+"/federation/saml/"+f.connection+"/acs" || a.fields.Get("RelayState") != rq.Get("RelayState") {
		t.Fatalf("the IdP answers to %s with %v", a.action, a.fields)
	}
	// The IdP encrypted the assertion to the connection's certificate.
	if raw, _ := base64.StdEncoding.DecodeString(a.fields.Get("SAMLResponse")); !strings.Contains(string(raw), "EncryptedAssertion") || strings.Contains(string(raw), "alice@acme.test") {
		t.Fatalf("the assertion travels in the clear:\n%.2000s", raw)
	}
	code := codeFrom(t, f.sp, f.app, f.answer(b, a))
	claims := (&federation{sp: f.sp, app: f.app}).idTokenClaims(t, code, verifier)
	amr, _ := json.Marshal(claims["amr"])
	if string(amr) != `["fed"]` || claims["idp"] != f.idpURL+"/metadata" || claims["email"] != "alice@acme.test" || claims["name"] != "Alice Engineer" {
		t.Fatalf("ID token claims %v", claims)
	}
	if role := f.role(t, "alice@acme.test"); role != "admin" {
		t.Fatalf("Alice's role %q, want the mapped admin", role)
	}
	// Her account has no password anyone knows.
	if r := f.sp.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "alice@acme.test", "password": samlPassword}); r.Status != http.StatusUnauthorized {
		t.Fatalf("password login of a provisioned account: %d", r.Status)
	}
	events := listAudit(t, f.sp, f.owner, "?type=federation.user_provisioned&type=sign_in.succeeded")
	if got := typesOf(events.Items); len(got) != 2 || got[0] != "sign_in.succeeded" || got[1] != "federation.user_provisioned" ||
		events.Items[0].Details["connection_id"] != f.connection || events.Items[0].Details["protocol"] != "saml" {
		t.Fatalf("audit events %+v", events.Items)
	}
}

// TestSAMLFederatedSignInRefusals: a user of another domain, a tampered
// assertion, an unsigned one, a replayed one and an answer posted in
// another browser are refused with a page, and recorded.
func TestSAMLFederatedSignInRefusals(t *testing.T) {
	t.Parallel()
	// Assertions in the clear, so the test can alter them and strip their
	// signatures.
	f := newSAMLFederation(t, false)
	start := func(extra ...string) string {
		return f.sp.URL + "/oauth/authorize?" + codeQuery(f.app, "openid email", extra...).Encode()
	}
	viaConnection := start("connection", f.connection)
	viaHint := start("login_hint", "alice@acme.test")
	rewrite := func(a samlAnswer, change func(string) string) samlAnswer {
		raw, err := base64.StdEncoding.DecodeString(a.fields.Get("SAMLResponse"))
		if err != nil {
			t.Fatal(err)
		}
		changed := change(string(raw))
		if changed == string(raw) {
			t.Fatal("the answer did not change")
		}
		a.fields.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(changed)))
		return a
	}
	wantPage := func(t *testing.T, p *page, status int, title, text string) {
		t.Helper()
		if p.Status != status || !strings.Contains(p.Body, title) || !strings.Contains(html.UnescapeString(p.Body), text) {
			t.Fatalf("got %d, want %d %q %q:\n%.1500s", p.Status, status, title, text, p.Body)
		}
	}

	t.Run("another domain", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		p := f.answer(b, f.toIdP(b, "bob", viaConnection))
		wantPage(t, p, http.StatusForbidden, "Sign-in refused", "Your email address is not in a domain this organization signs in through its identity provider.")
	})
	t.Run("tampered assertion", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		a := rewrite(f.toIdP(b, "alice", viaHint), func(s string) string { return strings.ReplaceAll(s, "Alice Engineer", "Mallory") })
		wantPage(t, f.answer(b, a), http.StatusBadRequest, "Sign-in failed", "could not be accepted")
	})
	t.Run("unsigned assertion", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		a := rewrite(f.toIdP(b, "alice", viaHint), func(s string) string { return xmlSigBlock.ReplaceAllString(s, "") })
		wantPage(t, f.answer(b, a), http.StatusBadRequest, "Sign-in failed", "could not be accepted")
	})
	t.Run("replayed assertion", func(t *testing.T) {
		b := newBrowser(t, f.sp)
		a := f.toIdP(b, "alice", viaHint)
		spURL, _ := url.Parse(f.sp.URL)
		saved := b.client.Jar.Cookies(spURL)
		if p := f.answer(b, a); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location.String(), f.app.RedirectURI) {
			t.Fatalf("first use: %d %v %.500s", p.Status, p.Location, p.Body)
		}
		// The attacker has the whole post and the browser's cookies: the
		// RelayState and request ID still match, the assertion ID does not
		// pass twice.
		b.client.Jar.SetCookies(spURL, saved)
		wantPage(t, b.postTo(a.action, a.fields), http.StatusBadRequest, "Sign-in failed", "was used already")
	})
	t.Run("another browser", func(t *testing.T) {
		a := f.toIdP(newBrowser(t, f.sp), "alice", viaHint)
		wantPage(t, newBrowser(t, f.sp).postTo(a.action, a.fields), http.StatusBadRequest, "Sign-in expired", "not started in this browser")
	})
	t.Run("recorded", func(t *testing.T) {
		reasons := map[string]int{}
		for _, e := range listAudit(t, f.sp, f.owner, "?type=sign_in.failed").Items {
			if e.Details["connection_id"] == f.connection {
				reasons[e.Details["reason"]]++
			}
		}
		if reasons["domain_not_connected"] != 1 || reasons["invalid_response"] != 2 || reasons["assertion_replayed"] != 1 {
			t.Fatalf("failed sign-ins recorded: %v", reasons)
		}
	})
}

// TestBrowserSAMLFederatedSignIn: the happy path in headless Chromium. Alice
// has a session at Acme's SAML identity provider (its login page; samlidp's
// own login form would re-post the request without its redirect-binding
// signature); the application sends her to sp with her email, sp sends her
// on to the IdP, whose answer posts itself to sp's ACS; she consents and
// reaches the application. The consent page is saved at desktop and phone
// width (test-artifacts/federation-saml-consent-*.png).
func TestBrowserSAMLFederatedSignIn(t *testing.T) {
	b := newMailBrowser(t)
	f := newSAMLFederation(t, true)
	redirectURI, callbacks := callbackServer(t)
	app := registerApp(t, f.sp, f.owner, appOptions{RedirectURI: redirectURI})

	b.run("sign in at the IdP",
		chromedp.Navigate(f.idpURL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), samlPassword),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		// The IdP answers with the session as JSON: the form is gone.
		chromedp.WaitNotPresent(chromedp.CSS(`input[name="user"]`)),
		chromedp.WaitReady(chromedp.CSS("body")),
	)
	b.run("sign in to the application",
		chromedp.Navigate(f.sp.URL+"/oauth/authorize?"+codeQuery(app, "openid email profile", "login_hint", "alice@acme.test").Encode()),
		waitForLocation(f.sp.URL+"/consent", 15*time.Second),
		chromedp.WaitVisible(chromedp.ID("allow")),
		b.shot("federation-saml-consent"),
		chromedp.Click(chromedp.ID("allow")),
		waitForLocation(app.RedirectURI, 10*time.Second),
	)
	select {
	case got := <-callbacks:
		if got.Get("code") == "" || got.Get("state") != "state-0123456789" || got.Get("iss") != f.sp.URL {
			t.Errorf("callback query %v", got)
		}
	default:
		t.Error("the browser never reached the application's callback")
	}
	if role := f.role(t, "alice@acme.test"); role != "admin" {
		t.Errorf("Alice's role %q, want the mapped admin", role)
	}
}
