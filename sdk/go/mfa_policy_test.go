package puguh_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

// checkMFAPolicy: an owner requires a second factor of an organization's
// members; a member's login within the grace period carries the notice,
// the member sets up and removes an authenticator app through MFA; after
// the grace period the login is an *MFAEnrollmentRequiredError that
// Auth.BeginLoginEnrollment and CompleteLoginEnrollment answer.
// TestResources calls it, so its operations count as reached.
func checkMFAPolicy(t *testing.T) {
	t.Helper()
	owner, _ := newClient(t, puguh.WithOnResponse(onResponse))
	o := server.NewUser(t, "policy-owner")
	must[*puguh.TokenPair](t)(owner.Auth.Login(ctx, puguh.LoginRequest{Email: o.Email, Password: o.Password}))
	org := must[*puguh.Organization](t)(owner.Organizations.Create(ctx, puguh.CreateOrganizationRequest{Name: "Policy Co"}))
	m := server.NewUser(t, "policy-member")
	must[*puguh.Member](t)(owner.Organizations.Members.Add(ctx, org.ID, puguh.AddMemberRequest{Email: m.Email, Role: puguh.RoleMember}))

	if p := must[*puguh.MFAPolicy](t)(owner.Organizations.GetMFAPolicy(ctx, org.ID)); p.Required || p.RequiredSince != nil {
		t.Fatalf("policy before: %+v", p)
	}
	_, err := owner.Organizations.SetMFAPolicy(ctx, org.ID, puguh.MFAPolicyRequest{Required: true, GracePeriod: "soon"})
	var invalid *puguh.ValidationError
	if !errors.As(err, &invalid) || len(invalid.Issues) != 1 || invalid.Issues[0].Type != "value_error.duration" {
		t.Fatalf("bad grace period: %v", err)
	}
	p := must[*puguh.MFAPolicy](t)(owner.Organizations.SetMFAPolicy(ctx, org.ID, puguh.MFAPolicyRequest{Required: true, GracePeriod: "168h"}))
	if !p.Required || p.GracePeriod != "168h" || p.EnforcedFrom == nil || !p.EnforcedFrom.Equal(p.RequiredSince.Add(168*time.Hour)) {
		t.Fatalf("policy on: %+v", p)
	}

	member, _ := newClient(t, puguh.WithOnResponse(onResponse))
	pair := must[*puguh.TokenPair](t)(member.Auth.Login(ctx, puguh.LoginRequest{Email: m.Email, Password: m.Password}))
	if n := pair.MFAEnrollment; n == nil || !n.Required || !n.Deadline.Equal(*p.EnforcedFrom) || len(n.Organizations) != 1 || n.Organizations[0].ID != org.ID {
		t.Fatalf("login within the grace period: %+v", pair)
	}
	if st := must[*puguh.MFAStatus](t)(member.MFA.Status(ctx)); st.Enabled || st.TOTP {
		t.Fatalf("status before: %+v", st)
	}
	en := must[*puguh.TOTPEnrollment](t)(member.MFA.BeginTOTP(ctx))
	if len(en.Secret) != 32 || !strings.HasPrefix(en.QRCode, "data:image/png;base64,") || !strings.HasPrefix(en.OtpauthURI, "otpauth://totp/") {
		t.Fatalf("enrolment: %+v", en)
	}
	if _, err := member.MFA.ConfirmTOTP(ctx, "000000"); !errors.As(err, &invalid) || invalid.Issues[0].Msg != "the code is not correct; check the time on your device" {
		t.Fatalf("wrong code: %v", err)
	}
	rc := must[*puguh.RecoveryCodes](t)(member.MFA.ConfirmTOTP(ctx, puguhtest.TOTP(en.Secret, time.Now())))
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes %+v", rc)
	}
	if st := must[*puguh.MFAStatus](t)(member.MFA.Status(ctx)); !st.Enabled || !st.TOTP || st.RecoveryCodesLeft != 10 {
		t.Fatalf("status after: %+v", st)
	}
	var denied *puguh.PermissionDeniedError
	if err := member.MFA.RemoveTOTP(ctx, puguh.RemoveTOTPRequest{Password: m.Password, Code: "000000"}); !errors.As(err, &denied) || denied.Detail != "The authentication code is not correct" {
		t.Fatalf("remove with a wrong code: %v", err)
	}
	if err := member.MFA.RemoveTOTP(ctx, puguh.RemoveTOTPRequest{Password: m.Password, Code: rc.RecoveryCodes[0]}); err != nil {
		t.Fatal(err)
	}

	// After the grace period: the login stops at enrolment.
	must[*puguh.MFAPolicy](t)(owner.Organizations.SetMFAPolicy(ctx, org.ID, puguh.MFAPolicyRequest{Required: true, GracePeriod: "0s"}))
	late, _ := newClient(t, puguh.WithOnResponse(onResponse))
	_, err = late.Auth.Login(ctx, puguh.LoginRequest{Email: m.Email, Password: m.Password})
	var enrol *puguh.MFAEnrollmentRequiredError
	if !errors.As(err, &enrol) || !errors.As(err, &denied) || denied.Status != 403 || len(enrol.Challenge) != 43 || enrol.ExpiresIn != 900 ||
		len(enrol.Organizations) != 1 || enrol.Organizations[0].Name != "Policy Co" || late.AccessToken() != "" {
		t.Fatalf("login after the grace period: %#v", err)
	}
	en = must[*puguh.TOTPEnrollment](t)(late.Auth.BeginLoginEnrollment(ctx, enrol.Challenge))
	done := must[*puguh.EnrolledTokenPair](t)(late.Auth.CompleteLoginEnrollment(ctx, enrol.Challenge, puguhtest.TOTP(en.Secret, time.Now())))
	if len(done.RecoveryCodes) != 10 || late.AccessToken() != done.AccessToken || done.TokenType != "Bearer" {
		t.Fatalf("enrolled login: %+v", done)
	}
	if st := must[*puguh.MFAStatus](t)(late.MFA.Status(ctx)); !st.TOTP {
		t.Fatalf("status after enrolling at login: %+v", st)
	}
}
