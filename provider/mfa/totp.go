package mfa

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// TOTP parameters: RFC 6238's defaults, which every authenticator app
// supports: HMAC-SHA1, 6 digits, 30-second steps, a 160-bit secret.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// totpSkew accepts the code of the step before and after the current
	// one, for clocks that drift and users who type slowly (RFC 6238 §5.2).
	totpSkew = 1
	// EnrolmentLifetime is how long an enrolment waits for its first code.
	EnrolmentLifetime = 15 * time.Minute
)

// Enrolment is a TOTP secret waiting for its first code: what the user
// scans or types into an authenticator app.
type Enrolment struct {
	// Secret is the base32 secret, for typing in by hand.
	Secret string `json:"secret"`
	// URI is the otpauth:// URI the QR code carries.
	URI string `json:"otpauth_uri"`
	// QRSVG is the QR code of URI as SVG markup.
	QRSVG string `json:"-"`
}

// BeginTOTP starts a TOTP enrolment for the acting user, replacing one that
// was not confirmed. Conflict when TOTP is already on: remove it first.
func (s *Service) BeginTOTP(ctx context.Context, p *authz.Principal) (*Enrolment, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	u, err := s.Store.UserByID(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: begin totp: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.Issuer, AccountName: u.Email, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("mfa: begin totp: %w", err)
	}
	sealed, err := s.Box.Seal(u.ID, []byte(key.Secret()))
	if err != nil {
		return nil, fmt.Errorf("mfa: begin totp: %w", err)
	}
	err = s.Store.SaveTOTP(ctx, &storage.TOTPFactor{UserID: u.ID, SecretSealed: sealed, CreatedAt: s.now()})
	if errors.Is(err, storage.ErrConflict) {
		return nil, problem.Conflictf("An authenticator app is already set up; remove it first")
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: begin totp: %w", err)
	}
	return enrolment(key.Secret(), key.URL())
}

func enrolment(secret, uri string) (*Enrolment, error) {
	svg, err := QRSVG(uri)
	if err != nil {
		return nil, err
	}
	return &Enrolment{Secret: secret, URI: uri, QRSVG: svg}, nil
}

// PendingTOTP returns the acting user's enrolment that waits for its first
// code (to show it again after a wrong code); NotFound if there is none or
// it has expired.
func (s *Service) PendingTOTP(ctx context.Context, p *authz.Principal) (*Enrolment, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	u, err := s.Store.UserByID(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: pending totp: %w", err)
	}
	secret, f, err := s.pending(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.Issuer, AccountName: u.Email, Period: totpPeriod, Digits: totpDigits,
		Algorithm: otp.AlgorithmSHA1, Secret: mustBase32(secret)})
	if err != nil || f == nil {
		return nil, fmt.Errorf("mfa: pending totp: %w", err)
	}
	return enrolment(key.Secret(), key.URL())
}

// pending opens the user's unconfirmed, unexpired factor.
func (s *Service) pending(ctx context.Context, userID string) (string, *storage.TOTPFactor, error) {
	gone := problem.NotFoundf("No authenticator app enrolment is waiting for a code; start again")
	f, err := s.Store.TOTPByUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil, gone
	}
	if err != nil {
		return "", nil, fmt.Errorf("mfa: totp: %w", err)
	}
	if f.ConfirmedAt != nil {
		return "", nil, problem.Conflictf("An authenticator app is already set up; remove it first")
	}
	if s.now().Sub(f.CreatedAt) > EnrolmentLifetime {
		return "", nil, gone
	}
	secret, err := s.Box.Open(userID, f.SecretSealed)
	if err != nil {
		return "", nil, fmt.Errorf("mfa: totp: %w", err)
	}
	return string(secret), f, nil
}

// ConfirmTOTP turns the acting user's enrolment on with the first code from
// their app and returns ten new recovery codes, shown this once.
func (s *Service) ConfirmTOTP(ctx context.Context, p *authz.Principal, code *string) ([]string, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	if code == nil || strings.TrimSpace(*code) == "" {
		return nil, problem.Invalidf(problem.Issue{Loc: []any{"code"}, Msg: "field required", Type: "value_error.missing"})
	}
	secret, _, err := s.pending(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(secret, *code, s.now())
	if !ok {
		return nil, problem.Invalidf(problem.Issue{Loc: []any{"code"}, Msg: "the code is not correct; check the time on your device", Type: "value_error.code"})
	}
	codes, hashes, err := newRecoveryCodes(p.ID)
	if err != nil {
		return nil, err
	}
	if err := s.Store.ConfirmTOTP(ctx, p.ID, step, s.now(), hashes); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, problem.NotFoundf("No authenticator app enrolment is waiting for a code; start again")
		}
		return nil, fmt.Errorf("mfa: confirm totp: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.MFAFactorAdded, Actor: audit.Actor(p), Subject: audit.User(p.ID),
		Details: map[string]string{"factor": FactorTOTP}})
	return codes, nil
}

// RemoveTOTP turns TOTP off for the acting user, with their password, and
// deletes their recovery codes.
func (s *Service) RemoveTOTP(ctx context.Context, p *authz.Principal, password *string) error {
	if err := self(p); err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, p.ID, password); err != nil {
		return err
	}
	return s.deleteTOTP(ctx, p)
}

// deleteTOTP deletes the acting user's authenticator app and recovery
// codes, once they proved who they are.
func (s *Service) deleteTOTP(ctx context.Context, p *authz.Principal) error {
	err := s.Store.DeleteTOTP(ctx, p.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return problem.NotFoundf("No authenticator app is set up")
	}
	if err != nil {
		return fmt.Errorf("mfa: remove totp: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.MFAFactorRemoved, Actor: audit.Actor(p), Subject: audit.User(p.ID),
		Details: map[string]string{"factor": FactorTOTP}})
	return nil
}

// matchTOTP returns the time step whose code code is, among the steps
// within totpSkew of now. Every candidate is computed and compared in
// constant time, so the answer's timing does not say which one matched.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = normalizeDigits(code)
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	current := now.Unix() / totpPeriod
	var matched int64
	found := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := current + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched, found = step, found+1
		}
	}
	return matched, found > 0
}

// normalizeDigits drops the spaces and dashes people type into codes.
func normalizeDigits(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}
