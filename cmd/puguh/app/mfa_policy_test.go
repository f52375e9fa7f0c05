package app_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// policyOrg makes an organization owned by owner with member in it, and
// returns its id.
func policyOrg(t *testing.T, e *apptest.Env, owner, member *apptest.User) string {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/organizations", map[string]string{"name": "Acme"}, owner.Bearer()...)
	var org struct {
		ID string `json:"id"`
	}
	r.JSON(t, &org)
	if r.Status != http.StatusCreated {
		t.Fatalf("create organization: %d %s", r.Status, r.Body)
	}
	if r := e.Do(http.MethodPost, "/api/v1/organizations/"+org.ID+"/members", map[string]string{"email": member.Email, "role": "member"}, owner.Bearer()...); r.Status != http.StatusCreated {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	return org.ID
}

type policyBody struct {
	OrganizationID     string     `json:"organization_id"`
	Required           bool       `json:"required"`
	GracePeriod        string     `json:"grace_period"`
	GracePeriodSeconds int64      `json:"grace_period_seconds"`
	RequiredSince      *time.Time `json:"required_since"`
	EnforcedFrom       *time.Time `json:"enforced_from"`
	UpdatedAt          *time.Time `json:"updated_at"`
}

func putPolicy(t *testing.T, e *apptest.Env, owner *apptest.User, orgID string, body any) policyBody {
	t.Helper()
	r := e.Do(http.MethodPut, "/api/v1/organizations/"+orgID+"/mfa-policy", body, owner.Bearer()...)
	var p policyBody
	r.JSON(t, &p)
	if r.Status != http.StatusOK || p.OrganizationID != orgID {
		t.Fatalf("put policy %v: %d %s", body, r.Status, r.Body)
	}
	return p
}

type enrolmentBody struct {
	Secret     string `json:"secret"`
	URI        string `json:"otpauth_uri"`
	QRCode     string `json:"qr_code"`
	ConfirmURL string `json:"confirm_url"`
}

// checkEnrolment checks an enrolment answer, its QR code a PNG.
func checkEnrolment(t *testing.T, r *apptest.Response, confirm string) enrolmentBody {
	t.Helper()
	var en enrolmentBody
	r.JSON(t, &en)
	if r.Status != http.StatusOK || len(en.Secret) != 32 || !strings.HasPrefix(en.URI, "otpauth://totp/") ||
		!strings.Contains(en.URI, "secret="+en.Secret) || en.ConfirmURL != confirm || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("enrolment: %d %s", r.Status, r.Body)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(en.QRCode, "data:image/png;base64,"))
	if err != nil || !strings.HasPrefix(en.QRCode, "data:image/png;base64,") {
		t.Fatalf("qr_code is not a PNG data URI: %.80s", en.QRCode)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() < 100 || img.Bounds().Dx() != img.Bounds().Dy() {
		t.Fatalf("qr_code PNG: %v", err)
	}
	return en
}

const (
	missingPassword = `{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}`
	missingCode     = `{"loc":["body","code"],"msg":"field required","type":"value_error.missing"}`
	wrongEnrolCode  = `{"detail":[{"loc":["body","code"],"msg":"the code is not correct; check the time on your device","type":"value_error.code"}]}`
)

// TestMFAPolicyREST: an owner requires a second factor of Acme's members;
// a member without one signs in within the grace period and is told when
// it ends, enrols over REST, is asked for the code from then on; after the
// grace period a member without a factor gets 403 mfa_enrollment_required
// and finishes the login by enrolling. Every bad input is refused exactly.
func TestMFAPolicyREST(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		owner, member, outsider := e.NewUser(), e.NewUser(), e.NewUser()
		orgID := policyOrg(t, e, owner, member)
		path := "/api/v1/organizations/" + orgID + "/mfa-policy"

		wantDetail(t, e.Do(http.MethodGet, path, nil, owner.Bearer()...), http.StatusOK,
			`{"organization_id":"`+orgID+`","required":false,"grace_period":"0s","grace_period_seconds":0,"required_since":null,"enforced_from":null,"updated_at":null}`)

		// Who may not, and what is not a policy.
		wantDetail(t, e.Do(http.MethodGet, path, nil, member.Bearer()...), http.StatusForbidden, `{"detail":"Missing permission: organization.update"}`)
		wantDetail(t, e.Do(http.MethodPut, path, map[string]any{"required": true}, member.Bearer()...), http.StatusForbidden, `{"detail":"Missing permission: organization.update"}`)
		wantDetail(t, e.Do(http.MethodGet, path, nil, outsider.Bearer()...), http.StatusForbidden, `{"detail":"Not a member of this organization"}`)
		wantDetail(t, e.Do(http.MethodGet, "/api/v1/organizations/not-a-uuid/mfa-policy", nil, owner.Bearer()...), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["path","id"],"msg":"value is not a valid uuid","type":"type_error.uuid"}]}`)
		if r := e.Do(http.MethodGet, path, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPut, path, "required=true", append(owner.Bearer(), "Content-Type", "text/plain")...); r.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("text/plain: %d %s", r.Status, r.Body)
		}
		missingRequired := `{"loc":["body","required"],"msg":"field required","type":"value_error.missing"}`
		for _, c := range []struct {
			name string
			body any
			want string
		}{
			{"empty", map[string]any{}, `{"detail":[` + missingRequired + `]}`},
			{"not a duration", map[string]any{"required": true, "grace_period": "soon"},
				`{"detail":[{"loc":["body","grace_period"],"msg":"invalid duration: use a number with a unit, e.g. 168h, 90m or 0s","type":"value_error.duration"}]}`},
			{"negative", map[string]any{"required": true, "grace_period": "-1h"},
				`{"detail":[{"loc":["body","grace_period"],"msg":"ensure this value is at least 0s","type":"value_error.duration.negative"}]}`},
			{"too long", map[string]any{"required": true, "grace_period": "2161h"},
				`{"detail":[{"loc":["body","grace_period"],"msg":"ensure this value is at most 2160h (90 days)","type":"value_error.duration.max"}]}`},
			{"fractions", map[string]any{"required": true, "grace_period": "1.5s"},
				`{"detail":[{"loc":["body","grace_period"],"msg":"use whole seconds","type":"value_error.duration"}]}`},
			{"both", map[string]any{"grace_period": "soon"},
				`{"detail":[` + missingRequired + `,{"loc":["body","grace_period"],"msg":"invalid duration: use a number with a unit, e.g. 168h, 90m or 0s","type":"value_error.duration"}]}`},
		} {
			t.Run(c.name, func(t *testing.T) {
				wantDetail(t, e.Do(http.MethodPut, path, c.body, owner.Bearer()...), http.StatusUnprocessableEntity, c.want)
			})
		}

		// On, with a week's grace: members without a factor still sign in, told until when.
		before := time.Now().Add(-time.Second)
		p := putPolicy(t, e, owner, orgID, map[string]any{"required": true, "grace_period": "168h"})
		if !p.Required || p.GracePeriod != "168h" || p.GracePeriodSeconds != 604800 || p.RequiredSince == nil || p.RequiredSince.Before(before) ||
			p.EnforcedFrom == nil || !p.EnforcedFrom.Equal(p.RequiredSince.Add(168*time.Hour)) {
			t.Fatalf("policy on: %+v", p)
		}
		since := *p.RequiredSince
		r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": member.Email, "password": member.Password})
		var grace struct {
			AccessToken   string `json:"access_token"`
			MFAEnrollment *struct {
				Required      bool      `json:"required"`
				Deadline      time.Time `json:"deadline"`
				EnrollURL     string    `json:"enroll_url"`
				Organizations []struct {
					ID, Name string
				} `json:"organizations"`
			} `json:"mfa_enrollment"`
		}
		r.JSON(t, &grace)
		if n := grace.MFAEnrollment; r.Status != http.StatusOK || grace.AccessToken == "" || n == nil || !n.Required || !n.Deadline.Equal(*p.EnforcedFrom) ||
			n.EnrollURL != "/api/v1/users/me/mfa/totp" || len(n.Organizations) != 1 || n.Organizations[0].ID != orgID || n.Organizations[0].Name != "Acme" {
			t.Fatalf("login within the grace period: %d %s", r.Status, r.Body)
		}
		member.AccessToken = grace.AccessToken
		// A user of no requiring organization gets the plain pair.
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": outsider.Email, "password": outsider.Password}); r.Status != http.StatusOK || strings.Contains(string(r.Body), "mfa_enrollment") {
			t.Fatalf("outsider login: %d %s", r.Status, r.Body)
		}

		// The member enrols over REST.
		wantDetail(t, e.Do(http.MethodGet, "/api/v1/users/me/mfa", nil, member.Bearer()...), http.StatusOK, `{"enabled":false,"totp":false,"recovery_codes_left":0,"passkeys":0}`)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/users/me/mfa/totp/confirm", map[string]string{"code": "123456"}, member.Bearer()...), http.StatusNotFound,
			`{"detail":"No authenticator app enrolment is waiting for a code; start again"}`)
		en := checkEnrolment(t, e.Do(http.MethodPost, "/api/v1/users/me/mfa/totp", nil, member.Bearer()...), "/api/v1/users/me/mfa/totp/confirm")
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/users/me/mfa/totp/confirm", map[string]string{}, member.Bearer()...), http.StatusUnprocessableEntity, `{"detail":[`+missingCode+`]}`)
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/users/me/mfa/totp/confirm", map[string]string{"code": "000000"}, member.Bearer()...), http.StatusUnprocessableEntity, wrongEnrolCode)
		r = e.Do(http.MethodPost, "/api/v1/users/me/mfa/totp/confirm", map[string]string{"code": totpCode(t, en.Secret, 0)}, member.Bearer()...)
		var rc struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		r.JSON(t, &rc)
		if r.Status != http.StatusOK || len(rc.RecoveryCodes) != 10 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		wantDetail(t, e.Do(http.MethodPost, "/api/v1/users/me/mfa/totp", nil, member.Bearer()...), http.StatusConflict, `{"detail":"An authenticator app is already set up; remove it first"}`)
		wantDetail(t, e.Do(http.MethodGet, "/api/v1/users/me/mfa", nil, member.Bearer()...), http.StatusOK, `{"enabled":true,"totp":true,"recovery_codes_left":10,"passkeys":0}`)
		// With a factor, the policy's member is asked for it.
		mfaLogin(t, e, &apptest.User{Email: member.Email, Password: member.Password})

		// Removing it takes the password and a code.
		totpPath := "/api/v1/users/me/mfa/totp"
		wantDetail(t, e.Do(http.MethodDelete, totpPath, map[string]string{}, member.Bearer()...), http.StatusUnprocessableEntity, `{"detail":[`+missingPassword+`,`+missingCode+`]}`)
		wantDetail(t, e.Do(http.MethodDelete, totpPath, map[string]string{"password": "wrong password", "code": totpCode(t, en.Secret, 1)}, member.Bearer()...),
			http.StatusForbidden, `{"detail":"The password is not correct"}`)
		wantDetail(t, e.Do(http.MethodDelete, totpPath, map[string]string{"password": member.Password, "code": "000000"}, member.Bearer()...),
			http.StatusForbidden, `{"detail":"The authentication code is not correct"}`)
		wantDetail(t, e.Do(http.MethodDelete, totpPath, map[string]string{"password": member.Password, "code": rc.RecoveryCodes[0]}, member.Bearer()...), http.StatusNoContent, ``)
		wantDetail(t, e.Do(http.MethodDelete, totpPath, map[string]string{"password": member.Password, "code": "000000"}, member.Bearer()...),
			http.StatusNotFound, `{"detail":"No authenticator app is set up"}`)
		wantDetail(t, e.Do(http.MethodGet, "/api/v1/users/me/mfa", nil), http.StatusUnauthorized, `{"detail":"Invalid or expired token"}`)
		r = e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "ci"}, outsider.Bearer()...)
		var key struct {
			Key string `json:"key"`
		}
		r.JSON(t, &key)
		if r.Status != http.StatusCreated {
			t.Fatalf("api key: %d %s", r.Status, r.Body)
		}
		for _, c := range []struct{ method, path string }{{http.MethodGet, "/api/v1/users/me/mfa"}, {http.MethodPost, "/api/v1/users/me/mfa/totp"}} {
			wantDetail(t, e.Do(c.method, c.path, nil, "X-API-Key", key.Key, "X-Organization-ID", outsider.OrganizationID), http.StatusForbidden,
				`{"detail":"Only a signed-in user can manage their own second factors"}`)
		}

		// The grace period set to 0s ends it now (the start stays): the login
		// stops at enrolment, which finishes it.
		p = putPolicy(t, e, owner, orgID, map[string]any{"required": true, "grace_period": "0s"})
		if !p.RequiredSince.Equal(since) || !p.EnforcedFrom.Equal(since) {
			t.Fatalf("policy with 0s grace: %+v, since %v", p, since)
		}
		r = e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": member.Email, "password": member.Password})
		var stop struct {
			Detail                string `json:"detail"`
			MFAEnrollmentRequired bool   `json:"mfa_enrollment_required"`
			Challenge             string `json:"challenge"`
			ExpiresIn             int    `json:"expires_in"`
			EnrollURL             string `json:"enroll_url"`
			Organizations         []struct {
				ID string `json:"id"`
			} `json:"organizations"`
		}
		r.JSON(t, &stop)
		if r.Status != http.StatusForbidden || stop.Detail != "Your organization requires a second factor: set one up to sign in" || !stop.MFAEnrollmentRequired ||
			len(stop.Challenge) != 43 || stop.ExpiresIn != 900 || stop.EnrollURL != "/api/v1/auth/mfa/enroll" || len(stop.Organizations) != 1 || stop.Organizations[0].ID != orgID {
			t.Fatalf("login after the grace period: %d %s", r.Status, r.Body)
		}
		enrol, confirm := "/api/v1/auth/mfa/enroll", "/api/v1/auth/mfa/enroll/confirm"
		wantDetail(t, e.Do(http.MethodPost, enrol, map[string]string{}), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","challenge"],"msg":"field required","type":"value_error.missing"}]}`)
		wantDetail(t, e.Do(http.MethodPost, enrol, map[string]string{"challenge": strings.Repeat("A", 43)}), http.StatusUnauthorized, badChallenge)
		wantDetail(t, e.Do(http.MethodPost, confirm, map[string]string{"challenge": stop.Challenge}), http.StatusUnprocessableEntity, `{"detail":[`+missingCode+`]}`)
		en = checkEnrolment(t, e.Do(http.MethodPost, enrol, map[string]string{"challenge": stop.Challenge}), confirm)
		if again := checkEnrolment(t, e.Do(http.MethodPost, enrol, map[string]string{"challenge": stop.Challenge}), confirm); again.Secret != en.Secret {
			t.Fatal("showing the enrolment again changed its secret")
		}
		wantDetail(t, e.Do(http.MethodPost, confirm, map[string]string{"challenge": stop.Challenge, "code": "000000"}), http.StatusUnprocessableEntity, wrongEnrolCode)
		r = e.Do(http.MethodPost, confirm, map[string]string{"challenge": stop.Challenge, "code": totpCode(t, en.Secret, 0)})
		var done struct {
			AccessToken   string   `json:"access_token"`
			TokenType     string   `json:"token_type"`
			RecoveryCodes []string `json:"recovery_codes"`
		}
		r.JSON(t, &done)
		if r.Status != http.StatusOK || done.TokenType != "Bearer" || len(done.RecoveryCodes) != 10 {
			t.Fatalf("enrolment confirm: %d %s", r.Status, r.Body)
		}
		if me := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "Authorization", "Bearer "+done.AccessToken); me.Status != http.StatusOK {
			t.Fatalf("the enrolled login's token: %d %s", me.Status, me.Body)
		}
		wantDetail(t, e.Do(http.MethodPost, confirm, map[string]string{"challenge": stop.Challenge, "code": totpCode(t, en.Secret, 1)}), http.StatusUnauthorized, badChallenge)
		mfaLogin(t, e, &apptest.User{Email: member.Email, Password: member.Password})

		// Off again: nothing asked of members without a factor.
		p = putPolicy(t, e, owner, orgID, map[string]any{"required": false})
		if p.Required || p.RequiredSince != nil || p.EnforcedFrom != nil || p.GracePeriod != "168h" {
			t.Fatalf("policy off: %+v", p)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": owner.Password}); r.Status != http.StatusOK || strings.Contains(string(r.Body), "mfa_enrollment") {
			t.Fatalf("owner login with the policy off: %d %s", r.Status, r.Body)
		}

		// Every change is in the organization's audit log; factor events are listable.
		r = e.Do(http.MethodGet, "/api/v1/audit-events?type=organization.mfa_policy_changed", nil, append(owner.Bearer(), "X-Organization-ID", orgID)...)
		var log struct {
			Items []struct {
				Type    string            `json:"type"`
				ActorID string            `json:"actor_id"`
				Details map[string]string `json:"details"`
			} `json:"items"`
		}
		r.JSON(t, &log)
		if r.Status != http.StatusOK || len(log.Items) != 3 || log.Items[0].Details["required"] != "false" || log.Items[2].Details["grace_period"] != "168h" ||
			log.Items[2].Details["from_required"] != "false" || log.Items[0].ActorID != owner.ID {
			t.Fatalf("policy audit events: %d %s", r.Status, r.Body)
		}
		logs := e.Logs()
		for _, want := range []string{`"event":"mfa.factor_added"`, `"event":"mfa.factor_removed"`, `"step":"reauthentication"`, `"event":"organization.mfa_policy_changed"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s", want)
			}
		}
		if strings.Contains(logs, en.Secret) || strings.Contains(logs, done.RecoveryCodes[0]) {
			t.Error("the logs hold a TOTP secret or a recovery code")
		}
	})
}

// TestMFAPolicyPages: the policy form of the Security tab (owners and
// admins only, with the REST API's messages) and the sign-in's enrolment
// step over HTTP: the grace banner and "Not now", the refusal to skip after
// the grace period, a wrong code, the right one, a live session; every form
// checks its CSRF token.
func TestMFAPolicyPages(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		owner, member := e.NewUser(), e.NewUser()
		orgID := policyOrg(t, e, owner, member)

		ob := newBrowser(t, e)
		signIn(t, ob, owner.Email, owner.Password)
		if p := ob.get("/account/security"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="mfa-policy"`) {
			t.Fatalf("the owner's security tab in the personal organization: %d", p.Status)
		}
		if p := postForm(t, ob, "/account", "/account/organization", url.Values{"organization_id": {orgID}}); p.Status != http.StatusSeeOther {
			t.Fatalf("switch organization: %d %.300s", p.Status, p.Body)
		}
		p := postForm(t, ob, "/account/security", "/account/security/policy", url.Values{"required": {"on"}, "grace_period": {"soon"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Grace period: invalid duration: use a number with a unit, e.g. 168h, 90m or 0s") {
			t.Fatalf("bad grace period: %d %.1500s", p.Status, p.Body)
		}
		if p := ob.post("/account/security/policy", url.Values{"csrf_token": {"forged"}, "required": {"on"}, "grace_period": {"1h"}}); p.Status != http.StatusForbidden {
			t.Fatalf("forged CSRF token: %d", p.Status)
		}
		p = postForm(t, ob, "/account/security", "/account/security/policy", url.Values{"required": {"on"}, "grace_period": {"168h"}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "The second-factor policy of Acme was saved.") || !strings.Contains(p.Body, `id="policy-enforced-from"`) {
			t.Fatalf("policy saved: %d %.1500s", p.Status, p.Body)
		}

		// A member may not change it; the page does not offer it.
		mb := newBrowser(t, e)
		form := mb.get("/login")
		p = mb.post("/login", url.Values{"csrf_token": {csrfOf(t, form.Body)}, "email": {member.Email}, "password": {member.Password}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="policy-banner"`) || !strings.Contains(p.Body, "Acme") || !strings.Contains(p.Body, `id="skip-enrol"`) {
			t.Fatalf("sign-in within the grace period: %d %.1500s", p.Status, p.Body)
		}
		if s := mb.post("/login/enroll/skip", url.Values{"csrf_token": {"forged"}}); s.Status != http.StatusForbidden {
			t.Fatalf("skip with a forged CSRF token: %d", s.Status)
		}
		p = mb.post("/login/enroll/skip", url.Values{"csrf_token": {csrfOf(t, p.Body)}})
		if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/account" {
			t.Fatalf("skip: %d %v %.500s", p.Status, p.Location, p.Body)
		}
		if s := postForm(t, mb, "/account", "/account/organization", url.Values{"organization_id": {orgID}}); s.Status != http.StatusSeeOther {
			t.Fatalf("member switches: %d", s.Status)
		}
		if s := mb.get("/account/security"); s.Status != http.StatusOK || strings.Contains(s.Body, `id="mfa-policy"`) {
			t.Fatalf("a member's security tab in Acme offers the policy: %d", s.Status)
		}
		if s := postForm(t, mb, "/account/security", "/account/security/policy", url.Values{"grace_period": {"0s"}}); s.Status != http.StatusForbidden {
			t.Fatalf("a member posts the policy form: %d", s.Status)
		}

		// After the grace period: no way around the enrolment.
		putPolicy(t, e, owner, orgID, map[string]any{"required": true, "grace_period": "0s"})
		lb := newBrowser(t, e)
		form = lb.get("/login")
		p = lb.post("/login", url.Values{"csrf_token": {csrfOf(t, form.Body)}, "email": {member.Email}, "password": {member.Password}})
		m := totpSecretInput.FindStringSubmatch(p.Body)
		if p.Status != http.StatusOK || m == nil || strings.Contains(p.Body, `id="skip-enrol"`) || !strings.Contains(p.Body, "Set one up to continue signing in") {
			t.Fatalf("sign-in after the grace period: %d %.1500s", p.Status, p.Body)
		}
		if s := lb.get("/account"); s.Status != http.StatusSeeOther {
			t.Fatalf("a session before enrolling: %d", s.Status)
		}
		s := lb.post("/login/enroll/skip", url.Values{"csrf_token": {csrfOf(t, p.Body)}})
		if s.Status != http.StatusForbidden || !strings.Contains(s.Body, "The grace period is over") {
			t.Fatalf("skip after the grace period: %d %.800s", s.Status, s.Body)
		}
		p = lb.post("/login/enroll", url.Values{"csrf_token": {csrfOf(t, p.Body)}, "code": {"000000"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "the code is not correct") || !strings.Contains(p.Body, m[1]) {
			t.Fatalf("wrong code: %d %.1500s", p.Status, p.Body)
		}
		token := csrfOf(t, p.Body)
		p = lb.post("/login/enroll", url.Values{"csrf_token": {token}, "code": {totpCode(t, m[1], 0)}})
		cm := recoveryArea.FindStringSubmatch(p.Body)
		if p.Status != http.StatusOK || cm == nil || len(strings.Fields(cm[1])) != 10 || !strings.Contains(p.Body, `href="/account" id="continue"`) {
			t.Fatalf("enrolled: %d %.1500s", p.Status, p.Body)
		}
		if s := lb.get("/account"); s.Status != http.StatusOK {
			t.Fatalf("the session after enrolling: %d", s.Status)
		}
		// The challenge is spent.
		if s := lb.post("/login/enroll", url.Values{"csrf_token": {token}, "code": {totpCode(t, m[1], 1)}}); s.Status != http.StatusUnauthorized ||
			!strings.Contains(s.Body, "The sign-in challenge is invalid or has expired; sign in again") {
			t.Fatalf("spent challenge: %d %.800s", s.Status, s.Body)
		}
	})
}
