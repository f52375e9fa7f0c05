package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Challenge lifetimes and bounds.
const (
	// ChallengeLifetime is how long a sign-in waits for its second factor.
	ChallengeLifetime = 5 * time.Minute
	// MaxChallengeAttempts is how many codes one challenge takes; after
	// that the sign-in starts again with the password.
	MaxChallengeAttempts = 5
)

// Challenge kinds.
const (
	KindLogin = "login"
)

// RFC 8176 authentication method references, and Puguh's two
// authentication context classes.
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	AMRHardware = "hwk"
	AMRMulti    = "mfa"

	// ACRPassword is a sign-in with one factor.
	ACRPassword = "urn:puguh:acr:pwd"
	// ACRMulti is a sign-in with two factors (a password and a code or a
	// passkey, or a passkey with user verification).
	ACRMulti = "urn:puguh:acr:mfa"
)

// ACROf is the authentication context class amr reaches.
func ACROf(amr []string) string {
	if slices.Contains(amr, AMRMulti) {
		return ACRMulti
	}
	return ACRPassword
}

// JoinAMR and SplitAMR convert between the stored and the listed form.
func JoinAMR(amr []string) string { return strings.Join(amr, " ") }

// SplitAMR reads a stored amr; empty is a password sign-in.
func SplitAMR(s string) []string {
	if s == "" {
		return []string{AMRPassword}
	}
	return strings.Fields(s)
}

// Pending is a sign-in waiting for its second factor.
type Pending struct {
	// Token is the secret the client presents with the code; only its
	// digest is stored.
	Token     string
	ExpiresAt time.Time
	// Methods are the factors the user can answer with.
	Methods []string
}

// Proof is what a completed sign-in proved.
type Proof struct {
	UserID string
	// User is the signed-in user (never a disabled one).
	User *storage.User
	AMR  []string
	// Factor is the factor used (FactorTOTP, FactorRecoveryCode, FactorPasskey).
	Factor string
}

// StartLogin records that userID has passed the first factor (amr) and
// returns the challenge the second one must answer.
func (s *Service) StartLogin(ctx context.Context, userID string, amr []string) (*Pending, error) {
	st, err := s.StatusOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	var methods []string
	if st.TOTP {
		methods = append(methods, FactorTOTP, FactorRecoveryCode)
	}
	if st.Passkeys > 0 {
		methods = append(methods, FactorPasskey)
	}
	token, err := s.createChallenge(ctx, userID, KindLogin, amr, "")
	if err != nil {
		return nil, err
	}
	return &Pending{Token: token, ExpiresAt: s.now().Add(ChallengeLifetime), Methods: methods}, nil
}

// createChallenge stores a challenge and returns its secret.
func (s *Service) createChallenge(ctx context.Context, userID, kind string, amr []string, data string) (string, error) {
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := s.Store.CreateMFAChallenge(ctx, &storage.MFAChallenge{
		ID: Digest(token), UserID: userID, Kind: kind, AMR: JoinAMR(amr), Data: data, CreatedAt: now, ExpiresAt: now.Add(ChallengeLifetime),
	}); err != nil {
		return "", fmt.Errorf("mfa: create challenge: %w", err)
	}
	return token, nil
}

// ErrChallenge is the answer to an unknown, expired, used or exhausted challenge.
const ErrChallenge = "The sign-in challenge is invalid or has expired; sign in again"

// BadCode is the answer to a wrong, replayed or spent code.
const BadCode = "Invalid authentication code"

// loadChallenge returns the live challenge of token and kind.
func (s *Service) loadChallenge(ctx context.Context, token, kind string) (*storage.MFAChallenge, error) {
	if len(token) != 43 {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	c, err := s.Store.MFAChallengeByID(ctx, Digest(token), s.now())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.Kind != kind) {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: challenge: %w", err)
	}
	return c, nil
}

// CompleteLogin answers a login challenge with a TOTP code or a recovery
// code. A wrong code counts against the challenge (MaxChallengeAttempts)
// and against the user's sign-in throttle; a code is accepted once; the
// challenge is spent by the first right answer.
func (s *Service) CompleteLogin(ctx context.Context, token, code string) (*Proof, error) {
	c, err := s.loadChallenge(ctx, token, KindLogin)
	if err != nil {
		return nil, err
	}
	throttleKey := "mfa:" + c.UserID
	if s.Throttle != nil {
		if err := s.Throttle.Attempt(ctx, throttleKey); err != nil {
			return nil, err
		}
	}
	n, err := s.Store.CountMFAChallengeAttempt(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: complete login: %w", err)
	}
	if n > MaxChallengeAttempts {
		_, _ = s.Store.ConsumeMFAChallenge(ctx, c.ID)
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	factor, ok, err := s.checkCode(ctx, c.UserID, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.record(ctx, audit.Event{Type: audit.MFAFailed, Actor: audit.User(c.UserID), Subject: audit.User(c.UserID),
			Details: map[string]string{"factor": factor}})
		return nil, problem.Unauthenticatedf(BadCode)
	}
	u, err := s.Store.UserByID(ctx, c.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		_, _ = s.Store.ConsumeMFAChallenge(ctx, c.ID)
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: complete login: %w", err)
	}
	won, err := s.Store.ConsumeMFAChallenge(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: complete login: %w", err)
	}
	if !won {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if s.Throttle != nil {
		_ = s.Throttle.Succeeded(ctx, throttleKey)
	}
	s.record(ctx, audit.Event{Type: audit.MFAFactorUsed, Actor: audit.User(c.UserID), Subject: audit.User(c.UserID),
		Details: map[string]string{"factor": factor}})
	amr := SplitAMR(c.AMR)
	amr = addAMR(amr, AMROTP, AMRMulti)
	return &Proof{UserID: c.UserID, User: u, AMR: amr, Factor: factor}, nil
}

// checkCode checks code as a TOTP code (digits) or a recovery code, and
// spends it. factor says which it was taken for.
func (s *Service) checkCode(ctx context.Context, userID, code string) (factor string, ok bool, err error) {
	if rc, isRecovery := normalizeRecoveryCode(code); isRecovery {
		ok, err := s.Store.UseRecoveryCode(ctx, userID, recoveryHash(userID, rc), s.now())
		if err != nil {
			return FactorRecoveryCode, false, fmt.Errorf("mfa: recovery code: %w", err)
		}
		return FactorRecoveryCode, ok, nil
	}
	f, err := s.Store.TOTPByUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && f.ConfirmedAt == nil) {
		return FactorTOTP, false, nil
	}
	if err != nil {
		return FactorTOTP, false, fmt.Errorf("mfa: totp: %w", err)
	}
	secret, err := s.Box.Open(userID, f.SecretSealed)
	if err != nil {
		return FactorTOTP, false, fmt.Errorf("mfa: totp: %w", err)
	}
	step, match := matchTOTP(string(secret), code, s.now())
	if !match {
		return FactorTOTP, false, nil
	}
	// Accepted once: the step must be newer than the last one used.
	fresh, err := s.Store.UseTOTPStep(ctx, userID, step)
	if err != nil {
		return FactorTOTP, false, fmt.Errorf("mfa: totp: %w", err)
	}
	return FactorTOTP, fresh, nil
}

// addAMR appends the values amr lacks.
func addAMR(amr []string, values ...string) []string {
	out := slices.Clone(amr)
	for _, v := range values {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// randomToken is 32 random bytes, base64url (43 characters).
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("mfa: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Digest is the stored form of a challenge secret.
func Digest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// mustBase32 decodes a TOTP secret as pquerna/otp encodes it.
func mustBase32(secret string) []byte {
	b, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	return b
}

func problemNoTOTP() error {
	return problem.NotFoundf("No authenticator app is set up")
}
