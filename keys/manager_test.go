package keys

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name, errMsg string
		cfg          Config
	}{
		{"defaults", "", Config{MaxTokenLifetime: time.Hour}},
		{"no token lifetime", "MaxTokenLifetime", Config{}},
		{"pre-publish within cache lifetime", "PrePublish", Config{MaxTokenLifetime: time.Hour, JWKSMaxAge: time.Hour, PrePublish: time.Hour}},
		{"pre-publish ignores refresh lag", "PrePublish", Config{MaxTokenLifetime: time.Hour, PrePublish: 15 * time.Minute}},
		{"rotation shorter than pre-publish", "RotationPeriod", Config{MaxTokenLifetime: time.Hour, RotationPeriod: 20 * time.Minute}},
		{"key too small", "KeySize", Config{MaxTokenLifetime: time.Hour, KeySize: 1024}},
		{"key too large", "KeySize", Config{MaxTokenLifetime: time.Hour, KeySize: 16384}},
		{"negative", "negative", Config{MaxTokenLifetime: time.Hour, Leeway: -time.Second}},
		{"sub-second max-age", "JWKSMaxAge", Config{MaxTokenLifetime: time.Hour, JWKSMaxAge: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.errMsg == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tc.errMsg)
			}
		})
	}
}

func TestFirstStartCreatesActiveAndNextKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		m := e.open(t)
		infos, err := m.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 2 {
			t.Fatalf("got %d keys, want active + next", len(infos))
		}
		byState := map[string]KeyInfo{}
		for _, k := range infos {
			byState[k.State] = k
			if k.Algorithm != "RS256" {
				t.Errorf("key %s algorithm %q", k.KID, k.Algorithm)
			}
		}
		active, next := byState[storage.KeyStateActive], byState[storage.KeyStateNext]
		if active.ActivatedAt == nil || !active.ActivatedAt.Equal(e.clock.Now()) {
			t.Errorf("active key activated at %v, want now (nobody has cached anything yet)", active.ActivatedAt)
		}
		if next.KID == "" || next.ActivatedAt != nil {
			t.Errorf("next key = %+v", next)
		}
		if m.ActiveKID() != active.KID {
			t.Errorf("signing with %s, want %s", m.ActiveKID(), active.KID)
		}
		if got := publishedKIDs(m); len(got) != 2 {
			t.Errorf("published %v, want both keys", got)
		}
	})
}

// TestKeyLifecycle follows one key from next to removed (docs/security.md, "Tokens and keys").
func TestKeyLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.open(t)
		a := m.ActiveKID()
		var b string
		for kid, s := range states(t, m) {
			if s == storage.KeyStateNext {
				b = kid
			}
		}

		e.clock.Advance(e.cfg.withDefaults().RotationPeriod - time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if m.ActiveKID() != a {
			t.Fatal("rotated before RotationPeriod")
		}

		e.clock.Advance(time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		rotatedAt := e.clock.Now()
		if m.ActiveKID() != b {
			t.Fatalf("active = %s, want the next key %s", m.ActiveKID(), b)
		}
		st := states(t, m)
		if st[a] != storage.KeyStateRetired || st[b] != storage.KeyStateActive || len(st) != 3 {
			t.Fatalf("states after rotation = %v, want a retired, b active, a new next", st)
		}
		infos, _ := m.List(ctx)
		grace := time.Second*5 + time.Hour + 5*time.Minute // RefreshInterval + MaxTokenLifetime + Leeway
		for _, k := range infos {
			if k.KID == a && (k.RetiredAt == nil || !k.RetiredAt.Equal(rotatedAt) || !k.RemoveAfter.Equal(rotatedAt.Add(grace))) {
				t.Errorf("retired key times = %v, %v; want %v, %v", k.RetiredAt, k.RemoveAfter, rotatedAt, rotatedAt.Add(grace))
			}
			if k.KID == b && !k.ActivatedAt.Equal(rotatedAt) {
				t.Errorf("activated at %v, want %v", k.ActivatedAt, rotatedAt)
			}
		}

		e.clock.Advance(grace - time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.set.Load().published[a]; !ok {
			t.Fatal("retired key unpublished before its grace ended")
		}

		e.clock.Advance(2 * time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.set.Load().published[a]; ok {
			t.Fatal("retired key still published after RemoveAfter")
		}
		if _, ok := states(t, m)[a]; ok {
			t.Fatal("retired key row not deleted after RemoveAfter")
		}
	})
}

// TestRetiredKeyOutlivesItsLastToken signs a token at the last moment a key
// is active and checks the key stays published until that token has expired
// (plus leeway), and not much longer.
func TestRetiredKeyOutlivesItsLastToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.open(t)
		cfg := e.cfg.withDefaults()
		e.clock.Advance(cfg.RotationPeriod - time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		old := m.ActiveKID()
		token := signAccessToken(t, m, e.clock.Now(), cfg.MaxTokenLifetime)
		exp := e.clock.Now().Add(cfg.MaxTokenLifetime)

		e.clock.Advance(time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if m.ActiveKID() == old {
			t.Fatal("no rotation")
		}
		// A resource server accepts the token until exp + Leeway.
		e.clock.Advance(exp.Add(cfg.Leeway).Sub(e.clock.Now()))
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		want := Expected{Issuer: testIssuer, Audience: testAudience, Type: "at+jwt", Leeway: cfg.Leeway}
		if _, err := m.Verifier().VerifyJWT(token, want); err != nil {
			t.Fatalf("token still within exp + leeway fails: %v", err)
		}
		if !strings.Contains(string(m.set.Load().jwks), old) {
			t.Fatal("JWKS dropped the key before its last token expired")
		}

		e.clock.Advance(cfg.RefreshInterval + time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(m.set.Load().jwks), old) {
			t.Fatal("JWKS still lists the key after its last token expired")
		}
		if _, err := m.Verifier().Verify(token); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("token of a removed key: %v", err)
		}
	})
}

func TestRotateOnDemand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.open(t)
		a := m.ActiveKID()

		_, err := m.Rotate(ctx, false)
		var nr *NotReadyError
		if !errors.As(err, &nr) || !errors.Is(err, ErrNotReady) {
			t.Fatalf("Rotate of a fresh next key = %v, want NotReadyError", err)
		}
		if want := e.clock.Now().Add(e.cfg.withDefaults().PrePublish); !nr.ReadyAt.Equal(want) {
			t.Errorf("ReadyAt = %v, want %v", nr.ReadyAt, want)
		}
		if m.ActiveKID() != a {
			t.Fatal("a refused rotation changed the active key")
		}

		e.clock.Advance(e.cfg.withDefaults().PrePublish)
		r, err := m.Rotate(ctx, false)
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if r.RetiredKID != a || r.ActiveKID != m.ActiveKID() || r.NextKID == "" || r.NextKID == r.ActiveKID {
			t.Fatalf("rotation = %+v, active %s", r, m.ActiveKID())
		}
		if !r.RetiredRemoveAfter.After(e.clock.Now().Add(time.Hour)) {
			t.Errorf("retired key leaves at %v, before its tokens expire", r.RetiredRemoveAfter)
		}
		if _, ok := m.set.Load().published[a]; !ok {
			t.Error("retired key left the JWKS at once")
		}
		if _, err := m.Rotate(ctx, false); !errors.Is(err, ErrNotReady) {
			t.Fatalf("second Rotate right away = %v, want ErrNotReady", err)
		}
	})
}

// TestForceRotateUnpublishesOldKey covers the compromised-key path.
func TestForceRotateUnpublishesOldKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.open(t)
		a := m.ActiveKID()
		token := signAccessToken(t, m, e.clock.Now(), time.Hour)

		r, err := m.Rotate(ctx, true)
		if err != nil {
			t.Fatalf("forced Rotate: %v", err)
		}
		if r.RetiredKID != a || m.ActiveKID() == a {
			t.Fatalf("rotation = %+v", r)
		}
		if _, ok := m.set.Load().published[a]; ok {
			t.Fatal("compromised key still published")
		}
		if _, err := m.Verifier().Verify(token); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("token of the compromised key verifies: %v", err)
		}
		e.clock.Advance(time.Second)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok := states(t, m)[a]; ok {
			t.Fatal("compromised key row not deleted")
		}
	})
}

func TestWrongSecretFailsLoudly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.open(t)
		_, err := open(context.Background(), e.store, []byte("another secret, same length ok!!"), e.cfg, e.gen.generate)
		if !errors.Is(err, ErrWrongSecret) {
			t.Fatalf("Open with the wrong secret = %v, want ErrWrongSecret", err)
		}
		if !strings.Contains(err.Error(), "PUGUH_SECRET") {
			t.Errorf("error %q does not tell the operator what to check", err)
		}
	})
}

// TestSealedKeysAreBoundToTheirKID swaps the sealed blobs of two rows: the
// kid is GCM additional data, so neither opens.
func TestSealedKeysAreBoundToTheirKID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.open(t)
		rows, err := e.store.SigningKeys(ctx)
		if err != nil || len(rows) != 2 {
			t.Fatalf("rows = %d, %v", len(rows), err)
		}
		db := e.store.DB()
		for i, j := range []int{1, 0} {
			if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE signing_keys SET private_key_sealed = ? WHERE kid = ?`),
				rows[j].PrivateKeySealed, rows[i].KID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := open(ctx, e.store, testSecret, e.cfg, e.gen.generate); !errors.Is(err, ErrWrongSecret) {
			t.Fatalf("Open after swapping sealed keys = %v, want ErrWrongSecret", err)
		}
	})
}

func TestPrivateKeysAreNotStoredInClear(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		m := e.open(t)
		rows, err := e.store.SigningKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, signer := m.Signer()
		der, _ := x509.MarshalPKCS8PrivateKey(signer)
		for _, r := range rows {
			if bytes.Contains(r.PrivateKeySealed, der[len(der)-64:]) {
				t.Errorf("key %s: private key bytes stored in clear", r.KID)
			}
		}
	})
}

func TestShortSecretRejected(t *testing.T) {
	clock := newFakeClock()
	_, err := open(context.Background(), &memStore{}, []byte("short"), testConfig(clock), (&keyGen{}).generate)
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open with a 5-byte secret = %v", err)
	}
}

// TestReplicasRaceToRotate starts two Managers on one database, as two
// processes would, and lets them rotate at the same instant.
func TestReplicasRaceToRotate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m1, m2 := e.open(t), e.openReplica(t)
		if m1.ActiveKID() != m2.ActiveKID() {
			t.Fatal("replicas disagree on the first key")
		}
		next := ""
		for kid, s := range states(t, m1) {
			if s == storage.KeyStateNext {
				next = kid
			}
		}

		// Scheduled rotation, both replicas at once.
		e.clock.Advance(e.cfg.withDefaults().RotationPeriod)
		for _, err := range runBoth(t, func(m *Manager) error { return m.Refresh(ctx) }, m1, m2) {
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		}
		if got := countStates(t, m1); got[storage.KeyStateActive] != 1 || got[storage.KeyStateRetired] != 1 || got[storage.KeyStateNext] != 1 {
			t.Fatalf("after racing refreshes: %v, want one of each", got)
		}
		if m1.ActiveKID() != next || m2.ActiveKID() != next {
			t.Fatalf("replicas sign with %s and %s, want %s", m1.ActiveKID(), m2.ActiveKID(), next)
		}

		// On-demand rotation, both replicas at once: exactly one succeeds.
		e.clock.Advance(e.cfg.withDefaults().PrePublish)
		errs := runBoth(t, func(m *Manager) error { _, err := m.Rotate(ctx, false); return err }, m1, m2)
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case lostRace(err), errors.Is(err, ErrNotReady):
			default:
				t.Errorf("Rotate: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d rotations succeeded (%v), want exactly 1", ok, errs)
		}
		if got := countStates(t, m1); got[storage.KeyStateActive] != 1 || got[storage.KeyStateRetired] != 2 || got[storage.KeyStateNext] != 1 {
			t.Fatalf("after racing Rotate: %v", got)
		}
		for _, m := range []*Manager{m1, m2} {
			if err := m.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if m1.ActiveKID() != m2.ActiveKID() {
			t.Fatal("replicas disagree after a refresh")
		}
	})
}

// runBoth calls fn on each manager concurrently, released together.
func runBoth(t *testing.T, fn func(*Manager) error, ms ...*Manager) []error {
	t.Helper()
	errs := make([]error, len(ms))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			<-start
			errs[i] = fn(m)
		})
	}
	close(start)
	wg.Wait()
	return errs
}
