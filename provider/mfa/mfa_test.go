package mfa

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// recorder keeps the audit events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, string(e.Type)+":"+e.Details["factor"])
	}
	return out
}

// passwords accepts "right password" for any stored user.
type passwords struct{ s *sqlstore.Store }

func (p passwords) CheckPassword(ctx context.Context, email, pw string) (*storage.User, error) {
	u, err := p.s.UserByEmail(ctx, email)
	if err != nil || pw != "right password" {
		return nil, problem.Unauthenticatedf("Invalid email or password")
	}
	return u, nil
}

// throttle counts attempts per key and refuses beyond limit.
type throttle struct {
	mu    sync.Mutex
	n     map[string]int
	limit int
}

func (t *throttle) Attempt(_ context.Context, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n[key] >= t.limit {
		return problem.Throttle(60)
	}
	t.n[key]++
	return nil
}

func (t *throttle) Succeeded(_ context.Context, key string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[key]--
	return nil
}

type fixture struct {
	svc   *Service
	store *sqlstore.Store
	clock *clock
	audit *recorder
	thr   *throttle
	user  *authz.Principal
}

func newFixture(t *testing.T, s *sqlstore.Store) *fixture {
	t.Helper()
	box, err := keys.NewBox([]byte("0123456789abcdef0123456789abcdef"), "totp")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 12, 3, 12, 0, 10, 0, time.UTC)}
	f := &fixture{store: s, clock: c, audit: &recorder{}, thr: &throttle{n: map[string]int{}, limit: 1000}}
	f.svc = &Service{Store: s, Box: box, Passwords: passwords{s}, Throttle: f.thr, Audit: f.audit, Issuer: "puguh.test", Now: c.Now}
	u := &storage.User{ID: "u-" + strings.ReplaceAll(t.Name(), "/", "-"), Email: strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "@example.com",
		PasswordHash: "x", CreatedAt: c.Now(), UpdatedAt: c.Now()}
	org := &storage.Organization{ID: "o-" + u.ID, Name: "p", Plan: storage.PlanFree, Personal: true, CreatedAt: c.Now(), UpdatedAt: c.Now()}
	if err := s.Register(context.Background(), u, org); err != nil {
		t.Fatal(err)
	}
	f.user = &authz.Principal{Type: authz.TypeUser, ID: u.ID}
	return f
}

func ptr(s string) *string { return &s }

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol turns TOTP on and returns the secret and the recovery codes.
func (f *fixture) enrol(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	e, err := f.svc.BeginTOTP(ctx, f.user)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.ConfirmTOTP(ctx, f.user, ptr(codeAt(t, e.Secret, f.clock.Now())))
	if err != nil {
		t.Fatal(err)
	}
	// The confirmation code's step is spent: move past it.
	f.clock.Add(30 * time.Second)
	return e.Secret, codes
}

func wantProblem(t *testing.T, what string, err error, kind problem.Kind, detail string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Kind != kind || (detail != "" && p.Detail != detail) {
		t.Fatalf("%s: error %v (%+v), want kind %d %q", what, err, p, kind, detail)
	}
}

func TestTOTPEnrolment(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		e, err := f.svc.BeginTOTP(ctx, f.user)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.URI, "otpauth://totp/puguh.test:") || !strings.Contains(e.URI, "secret="+e.Secret) || !strings.HasPrefix(e.QRSVG, "<svg") {
			t.Fatalf("enrolment = %+v", e)
		}
		// The secret is sealed at rest.
		row, _ := s.TOTPByUser(ctx, f.user.ID)
		if strings.Contains(string(row.SecretSealed), e.Secret) || len(row.SecretSealed) < 40 {
			t.Fatalf("the stored secret is not sealed: %q", row.SecretSealed)
		}
		// Pending again shows the same secret.
		again, err := f.svc.PendingTOTP(ctx, f.user)
		if err != nil || again.Secret != e.Secret {
			t.Fatalf("PendingTOTP = %+v, %v", again, err)
		}
		// Bad confirmation codes.
		_, err = f.svc.ConfirmTOTP(ctx, f.user, nil)
		wantProblem(t, "no code", err, problem.Invalid, "")
		_, err = f.svc.ConfirmTOTP(ctx, f.user, ptr("000000x"))
		wantProblem(t, "malformed code", err, problem.Invalid, "")
		_, err = f.svc.ConfirmTOTP(ctx, f.user, ptr(codeAt(t, e.Secret, f.clock.Now().Add(-90*time.Second))))
		wantProblem(t, "code three steps old", err, problem.Invalid, "")
		if st, _ := f.svc.Status(ctx, f.user); st.TOTP {
			t.Fatal("TOTP is on after wrong codes")
		}
		// ±1 step: the next step's code confirms.
		codes, err := f.svc.ConfirmTOTP(ctx, f.user, ptr(codeAt(t, e.Secret, f.clock.Now().Add(30*time.Second))))
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != RecoveryCodeCount || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != RecoveryCodeCount {
			t.Fatalf("recovery codes = %v", codes)
		}
		st, _ := f.svc.Status(ctx, f.user)
		if !st.TOTP || st.RecoveryCodesLeft != 10 || !st.Enabled() {
			t.Fatalf("status = %+v", st)
		}
		_, err = f.svc.BeginTOTP(ctx, f.user)
		wantProblem(t, "second enrolment", err, problem.Conflict, "")
		_, err = f.svc.ConfirmTOTP(ctx, f.user, ptr(codeAt(t, e.Secret, f.clock.Now())))
		wantProblem(t, "confirm twice", err, problem.Conflict, "")

		// Removing asks for the password.
		wantProblem(t, "remove without password", f.svc.RemoveTOTP(ctx, f.user, nil), problem.Invalid, "")
		wantProblem(t, "remove with a wrong password", f.svc.RemoveTOTP(ctx, f.user, ptr("wrong")), problem.Forbidden, "The password is not correct")
		if err := f.svc.RemoveTOTP(ctx, f.user, ptr("right password")); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, "remove twice", f.svc.RemoveTOTP(ctx, f.user, ptr("right password")), problem.NotFound, "")
		if got, want := f.audit.types(), []string{"mfa.factor_added:totp", "mfa.factor_removed:totp"}; !slices.Equal(got, want) {
			t.Fatalf("audit = %v, want %v", got, want)
		}
		// Others may not.
		_, err = f.svc.BeginTOTP(ctx, &authz.Principal{Type: authz.TypeServiceAccount, ID: "sa"})
		wantProblem(t, "service account", err, problem.Forbidden, "")
	})
}

func TestTOTPEnrolmentExpires(t *testing.T) {
	f := newFixture(t, sqltest.Open(t, sqltest.Backends()[0]))
	ctx := context.Background()
	e, err := f.svc.BeginTOTP(ctx, f.user)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(EnrolmentLifetime + time.Second)
	_, err = f.svc.ConfirmTOTP(ctx, f.user, ptr(codeAt(t, e.Secret, f.clock.Now())))
	wantProblem(t, "expired enrolment", err, problem.NotFound, "")
}

func TestLoginChallenge(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		secret, recovery := f.enrol(t)
		p, err := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Methods, []string{FactorTOTP, FactorRecoveryCode}) || len(p.Token) != 43 {
			t.Fatalf("pending = %+v", p)
		}
		// Wrong code, malformed challenge, unknown challenge.
		_, err = f.svc.CompleteLogin(ctx, p.Token, "000000")
		wantProblem(t, "wrong code", err, problem.Unauthenticated, BadCode)
		_, err = f.svc.CompleteLogin(ctx, "short", codeAt(t, secret, f.clock.Now()))
		wantProblem(t, "malformed challenge", err, problem.Unauthenticated, ErrChallenge)
		other, _ := randomToken()
		_, err = f.svc.CompleteLogin(ctx, other, codeAt(t, secret, f.clock.Now()))
		wantProblem(t, "unknown challenge", err, problem.Unauthenticated, ErrChallenge)

		code := codeAt(t, secret, f.clock.Now())
		proof, err := f.svc.CompleteLogin(ctx, p.Token, code)
		if err != nil {
			t.Fatal(err)
		}
		if proof.UserID != f.user.ID || !slices.Equal(proof.AMR, []string{"pwd", "otp", "mfa"}) || ACROf(proof.AMR) != ACRMulti {
			t.Fatalf("proof = %+v", proof)
		}
		// The challenge is spent.
		_, err = f.svc.CompleteLogin(ctx, p.Token, code)
		wantProblem(t, "used challenge", err, problem.Unauthenticated, ErrChallenge)
		// The code is spent: a new challenge with the same code is refused,
		// and so is the previous step's code.
		p2, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		_, err = f.svc.CompleteLogin(ctx, p2.Token, code)
		wantProblem(t, "replayed code", err, problem.Unauthenticated, BadCode)
		_, err = f.svc.CompleteLogin(ctx, p2.Token, codeAt(t, secret, f.clock.Now().Add(-30*time.Second)))
		wantProblem(t, "older code", err, problem.Unauthenticated, BadCode)
		// A recovery code works once, in any case and with spaces.
		rc := strings.ToUpper(strings.ReplaceAll(recovery[3], "-", " "))
		if proof, err = f.svc.CompleteLogin(ctx, p2.Token, rc); err != nil || proof.Factor != FactorRecoveryCode {
			t.Fatalf("recovery code: %+v, %v", proof, err)
		}
		p3, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		_, err = f.svc.CompleteLogin(ctx, p3.Token, recovery[3])
		wantProblem(t, "reused recovery code", err, problem.Unauthenticated, BadCode)
		if st, _ := f.svc.StatusOf(ctx, f.user.ID); st.RecoveryCodesLeft != 9 {
			t.Fatalf("recovery codes left = %d, want 9", st.RecoveryCodesLeft)
		}
		// An expired challenge.
		f.clock.Add(ChallengeLifetime)
		_, err = f.svc.CompleteLogin(ctx, p3.Token, codeAt(t, secret, f.clock.Now()))
		wantProblem(t, "expired challenge", err, problem.Unauthenticated, ErrChallenge)

		want := []string{"mfa.factor_added:totp", "mfa.failed:totp", "mfa.factor_used:totp", "mfa.failed:totp", "mfa.failed:totp",
			"mfa.factor_used:recovery_code", "mfa.failed:recovery_code"}
		if got := f.audit.types(); !slices.Equal(got, want) {
			t.Fatalf("audit = %v\nwant    %v", got, want)
		}
	})
}

func TestLoginChallengeAttemptsAndThrottle(t *testing.T) {
	f := newFixture(t, sqltest.Open(t, sqltest.Backends()[0]))
	ctx := context.Background()
	secret, _ := f.enrol(t)
	p, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
	for range MaxChallengeAttempts {
		_, err := f.svc.CompleteLogin(ctx, p.Token, "123456")
		wantProblem(t, "wrong code", err, problem.Unauthenticated, BadCode)
	}
	// The challenge is used up even for the right code.
	_, err := f.svc.CompleteLogin(ctx, p.Token, codeAt(t, secret, f.clock.Now()))
	wantProblem(t, "exhausted challenge", err, problem.Unauthenticated, ErrChallenge)

	// The per-user throttle spans challenges.
	f.thr.limit = f.thr.n["mfa:"+f.user.ID]
	p2, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
	_, err = f.svc.CompleteLogin(ctx, p2.Token, codeAt(t, secret, f.clock.Now()))
	wantProblem(t, "throttled", err, problem.Throttled, "")
}

func TestConcurrentUseOfOneCode(t *testing.T) {
	f := newFixture(t, sqltest.Open(t, sqltest.Backends()[0]))
	ctx := context.Background()
	secret, _ := f.enrol(t)
	code := codeAt(t, secret, f.clock.Now())
	var tokens []string
	for range 6 {
		p, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		tokens = append(tokens, p.Token)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.CompleteLogin(ctx, tok, code); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !problem.Is(err, problem.Unauthenticated) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("one code signed in %d times, want 1", wins)
	}
}

func TestRegenerateRecoveryCodes(t *testing.T) {
	f := newFixture(t, sqltest.Open(t, sqltest.Backends()[0]))
	ctx := context.Background()
	_, err := f.svc.RegenerateRecoveryCodes(ctx, f.user, ptr("right password"))
	wantProblem(t, "without totp", err, problem.NotFound, "")
	_, old := f.enrol(t)
	_, err = f.svc.RegenerateRecoveryCodes(ctx, f.user, ptr("wrong"))
	wantProblem(t, "wrong password", err, problem.Forbidden, "")
	fresh, err := f.svc.RegenerateRecoveryCodes(ctx, f.user, ptr("right password"))
	if err != nil || len(fresh) != RecoveryCodeCount {
		t.Fatalf("RegenerateRecoveryCodes = %v, %v", fresh, err)
	}
	p, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
	_, err = f.svc.CompleteLogin(ctx, p.Token, old[0])
	wantProblem(t, "old recovery code", err, problem.Unauthenticated, BadCode)
	if _, err := f.svc.CompleteLogin(ctx, p.Token, fresh[0]); err != nil {
		t.Fatal(err)
	}
}

func TestWrongSecretFailsClosed(t *testing.T) {
	f := newFixture(t, sqltest.Open(t, sqltest.Backends()[0]))
	ctx := context.Background()
	secret, _ := f.enrol(t)
	other, _ := keys.NewBox([]byte("another secret of 32 bytes......"), "totp")
	f.svc.Box = other
	p, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
	_, err := f.svc.CompleteLogin(ctx, p.Token, codeAt(t, secret, f.clock.Now()))
	if err == nil || problem.As(err) != nil || !errors.Is(err, keys.ErrBoxOpen) {
		t.Fatalf("with another PUGUH_SECRET: %v, want a failure wrapping ErrBoxOpen", err)
	}
}
