package mfa

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// The relying party of these tests.
const (
	testIssuer = "https://puguh.test:8443"
	testOrigin = "https://puguh.test:8443"
	testRPID   = "puguh.test"
)

var b64 = base64.RawURLEncoding

// softKey is a software authenticator: a P-256 key, a signature counter,
// and the flags it reports (WebAuthn §6.1 authenticator data).
type softKey struct {
	id      []byte
	key     *ecdsa.PrivateKey
	counter uint32
	synced  bool // backup eligible and backed up
	noUV    bool // reports no user verification
	origin  string
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &softKey{id: id, key: key, origin: testOrigin}
}

func (k *softKey) authData(t *testing.T, rpID string, attested bool) []byte {
	t.Helper()
	h := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) // UP
	if !k.noUV {
		flags |= 0x04
	}
	if k.synced {
		flags |= 0x08 | 0x10
	}
	if attested {
		flags |= 0x40
	}
	out := append(append([]byte{}, h[:]...), flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID: none
		out = binary.BigEndian.AppendUint16(out, uint16(len(k.id)))
		out = append(out, k.id...)
		pub, err := k.key.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
			PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
			Curve:         int64(webauthncose.P256), XCoord: pub[1:33], YCoord: pub[33:65],
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cose...)
	}
	return out
}

// optionsOf reads the challenge and relying party id of a ceremony's options.
func optionsOf(t *testing.T, c *Ceremony) (challenge, rpID string) {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RPID      string `json:"rpId"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(c.Options, &o); err != nil {
		t.Fatal(err)
	}
	rpID = o.PublicKey.RPID
	if rpID == "" {
		rpID = o.PublicKey.RP.ID
	}
	return o.PublicKey.Challenge, rpID
}

func (k *softKey) clientData(t *testing.T, typ, challenge string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create answers navigator.credentials.create() for the ceremony c.
func (k *softKey) create(t *testing.T, c *Ceremony) []byte {
	t.Helper()
	challenge, rpID := optionsOf(t, c)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(t, rpID, true)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData(t, "webauthn.create", challenge)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}

// get answers navigator.credentials.get() for the ceremony c, as the
// passkey of userID, after moving the counter by step.
func (k *softKey) get(t *testing.T, c *Ceremony, userID string, step int) []byte {
	t.Helper()
	k.counter = uint32(int(k.counter) + step)
	challenge, rpID := optionsOf(t, c)
	ad := k.authData(t, rpID, false)
	cd := k.clientData(t, "webauthn.get", challenge)
	h := sha256.Sum256(cd)
	signed := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString([]byte(userID)),
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}

func newPasskeys(t *testing.T, f *fixture) *Passkeys {
	t.Helper()
	rp, err := NewRelyingParty(testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	return &Passkeys{MFA: f.svc, Store: f.store, RP: rp}
}

// wantProblem fails unless err is a problem with this detail.
func wantDetail(t *testing.T, what string, err error, detail string) {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Detail != detail {
		t.Fatalf("%s: %v, want %q", what, err, detail)
	}
}

// register adds k as a passkey of the fixture's user.
func register(t *testing.T, f *fixture, pk *Passkeys, k *softKey, name string) *storage.WebAuthnCredential {
	t.Helper()
	ctx := context.Background()
	c, err := pk.BeginRegistration(ctx, f.user)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := pk.FinishRegistration(ctx, f.user, c.Token, ptr(name), ptr("right password"), k.create(t, c))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return cred
}

func TestNewRelyingParty(t *testing.T) {
	rp, err := NewRelyingParty("https://id.example.com:8443/")
	if err != nil || rp.Config.RPID != "id.example.com" || !slices.Equal(rp.Config.RPOrigins, []string{"https://id.example.com:8443"}) {
		t.Fatalf("relying party of an https issuer: %+v, %v", rp, err)
	}
	rp, err = NewRelyingParty("http://localhost:8080")
	if err != nil || rp.Config.RPID != "localhost" || rp.Config.RPOrigins[0] != "http://localhost:8080" {
		t.Fatalf("relying party of the default issuer: %+v, %v", rp, err)
	}
	for _, issuer := range []string{"http://127.0.0.1:8080", "http://[::1]:8080"} {
		if _, err := NewRelyingParty(issuer); !errors.Is(err, ErrNoRelyingParty) {
			t.Errorf("NewRelyingParty(%s) = %v, want ErrNoRelyingParty", issuer, err)
		}
	}
}

func TestPasskeyRegistration(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		pk := newPasskeys(t, f)
		k := newSoftKey(t)

		c, err := pk.BeginRegistration(ctx, f.user)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"residentKey":"required"`, `"userVerification":"required"`, `"id":"puguh.test"`, `"attestation":"none"`} {
			if !strings.Contains(string(c.Options), want) {
				t.Errorf("creation options lack %s: %s", want, c.Options)
			}
		}
		// A bad name is refused before the ceremony is spent.
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("  "), ptr("right password"), k.create(t, c))
		wantInvalid(t, err, "name")
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr(strings.Repeat("x", MaxPasskeyName+1)), ptr("right password"), k.create(t, c))
		wantInvalid(t, err, "name")
		// Without the password, or with a wrong one, an open session cannot add a passkey.
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("Laptop"), nil, k.create(t, c))
		wantInvalid(t, err, "password")
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("Laptop"), ptr("wrong"), k.create(t, c))
		wantDetail(t, "register with a wrong password", err, "The password is not correct")
		// Another user cannot finish it.
		_, err = pk.FinishRegistration(ctx, otherUser(t, f), c.Token, ptr("Laptop"), ptr("right password"), k.create(t, c))
		wantDetail(t, "another user's ceremony", err, ErrChallenge)

		c, _ = pk.BeginRegistration(ctx, f.user)
		cred, err := pk.FinishRegistration(ctx, f.user, c.Token, ptr(" Laptop "), ptr("right password"), k.create(t, c))
		if err != nil {
			t.Fatal(err)
		}
		if cred.Name != "Laptop" || cred.ID != b64.EncodeToString(k.id) || cred.Transports != "internal hybrid" ||
			cred.BackupEligible || cred.AttestationType != "none" || len(cred.AAGUID) != 16 {
			t.Fatalf("stored passkey %+v", cred)
		}
		// Single use: the same answer again finds no ceremony.
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("Laptop"), ptr("right password"), k.create(t, c))
		wantDetail(t, "ceremony answered twice", err, ErrChallenge)
		// The new ceremony excludes the registered passkey.
		c, _ = pk.BeginRegistration(ctx, f.user)
		if !strings.Contains(string(c.Options), b64.EncodeToString(k.id)) {
			t.Errorf("excludeCredentials lacks the registered passkey: %s", c.Options)
		}
		// An answer from another origin, or without user verification, is refused.
		evil := newSoftKey(t)
		evil.origin = "https://evil.example"
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("Evil"), ptr("right password"), evil.create(t, c))
		wantDetail(t, "another origin", err, BadPasskey)
		noUV := newSoftKey(t)
		noUV.noUV = true
		c, _ = pk.BeginRegistration(ctx, f.user)
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("No UV"), ptr("right password"), noUV.create(t, c))
		wantDetail(t, "no user verification", err, BadPasskey)
		c, _ = pk.BeginRegistration(ctx, f.user)
		_, err = pk.FinishRegistration(ctx, f.user, c.Token, ptr("Junk"), ptr("right password"), []byte(`{"id":`))
		wantDetail(t, "unreadable answer", err, BadPasskey)

		st, _ := f.svc.StatusOf(ctx, f.user.ID)
		if st.Passkeys != 1 || !st.Enabled() {
			t.Fatalf("status %+v, want one passkey", st)
		}
		if got := f.audit.types(); !slices.Equal(got, []string{"mfa.factor_added:passkey"}) {
			t.Fatalf("audit %v", got)
		}
	})
}

// otherUser registers a second user beside the fixture's.
func otherUser(t *testing.T, f *fixture) *authz.Principal {
	t.Helper()
	now := f.clock.Now()
	u := &storage.User{ID: "other-" + f.user.ID, Email: "other-" + strings.ToLower(f.user.ID) + "@example.com",
		PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: "o-" + u.ID, Name: "p", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := f.store.Register(context.Background(), u, org); err != nil {
		t.Fatal(err)
	}
	return &authz.Principal{Type: authz.TypeUser, ID: u.ID}
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.Invalid || len(pe.Issues) != 1 || pe.Issues[0].Loc[0] != field {
		t.Fatalf("%v, want 422 at %s", err, field)
	}
}

func TestPasskeySignIn(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		pk := newPasskeys(t, f)
		device, synced := newSoftKey(t), newSoftKey(t)
		synced.synced = true
		register(t, f, pk, device, "Laptop")
		register(t, f, pk, synced, "Phone")
		f.audit.events = nil

		c, err := pk.BeginLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(c.Options), "allowCredentials") || !strings.Contains(string(c.Options), `"userVerification":"required"`) {
			t.Errorf("discoverable request options: %s", c.Options)
		}
		proof, err := pk.FinishLogin(ctx, c.Token, device.get(t, c, f.user.ID, 1))
		if err != nil {
			t.Fatal(err)
		}
		if proof.UserID != f.user.ID || !slices.Equal(proof.AMR, []string{"hwk", "user", "mfa"}) || ACROf(proof.AMR) != ACRMulti {
			t.Fatalf("proof %+v", proof)
		}
		_, err = pk.FinishLogin(ctx, c.Token, device.get(t, c, f.user.ID, 1))
		wantDetail(t, "sign-in ceremony answered twice", err, ErrChallenge)

		c, _ = pk.BeginLogin(ctx)
		proof, err = pk.FinishLogin(ctx, c.Token, synced.get(t, c, f.user.ID, 1))
		if err != nil || !slices.Equal(proof.AMR, []string{"swk", "user", "mfa"}) {
			t.Fatalf("synced passkey: %+v, %v", proof, err)
		}
		got, _ := s.WebAuthnCredentialByID(ctx, b64.EncodeToString(device.id))
		if got.SignCount != 1 || got.LastUsedAt == nil || !got.LastUsedAt.Equal(f.clock.Now()) || got.CloneWarning {
			t.Fatalf("after a sign-in: %+v", got)
		}

		// Refusals: a user handle that is not the passkey's, an unknown
		// passkey, a bad signature, a ceremony of another kind.
		c, _ = pk.BeginLogin(ctx)
		_, err = pk.FinishLogin(ctx, c.Token, device.get(t, c, "someone-else", 1))
		wantDetail(t, "foreign user handle", err, BadPasskey)
		c, _ = pk.BeginLogin(ctx)
		_, err = pk.FinishLogin(ctx, c.Token, newSoftKey(t).get(t, c, f.user.ID, 1))
		wantDetail(t, "unknown passkey", err, BadPasskey)
		c, _ = pk.BeginLogin(ctx)
		forged := newSoftKey(t)
		forged.id = device.id
		forged.counter = 100
		_, err = pk.FinishLogin(ctx, c.Token, forged.get(t, c, f.user.ID, 1))
		wantDetail(t, "a signature by another key", err, BadPasskey)
		reg, _ := pk.BeginRegistration(ctx, f.user)
		_, err = pk.FinishLogin(ctx, reg.Token, device.get(t, reg, f.user.ID, 1))
		wantDetail(t, "a registration ceremony", err, ErrChallenge)

		// Clone detection: a counter that goes back refuses the passkey now
		// and later, and is an audit event.
		c, _ = pk.BeginLogin(ctx)
		device.counter = 1 // the stored counter: the next one says 0
		_, err = pk.FinishLogin(ctx, c.Token, device.get(t, c, f.user.ID, -1))
		wantDetail(t, "counter going back", err, ClonedPasskey)
		got, _ = s.WebAuthnCredentialByID(ctx, b64.EncodeToString(device.id))
		if !got.CloneWarning {
			t.Fatalf("no clone warning stored: %+v", got)
		}
		c, _ = pk.BeginLogin(ctx)
		_, err = pk.FinishLogin(ctx, c.Token, device.get(t, c, f.user.ID, 10))
		wantDetail(t, "a flagged passkey", err, ClonedPasskey)

		want := []string{"mfa.factor_used:passkey", "sign_in.succeeded:", "mfa.factor_used:passkey", "sign_in.succeeded:",
			"mfa.failed:passkey", "sign_in.failed:", "mfa.failed:passkey",
			"mfa.passkey_clone_warning:passkey", "mfa.passkey_clone_warning:passkey"}
		if got := f.audit.types(); !slices.Equal(got, want) {
			t.Fatalf("audit\n got %v\nwant %v", got, want)
		}

		// A disabled user cannot sign in.
		if err := s.SetUserDisabled(ctx, f.user.ID, true); err != nil {
			t.Fatal(err)
		}
		c, _ = pk.BeginLogin(ctx)
		_, err = pk.FinishLogin(ctx, c.Token, synced.get(t, c, f.user.ID, 1))
		wantDetail(t, "disabled user", err, BadPasskey)
	})
}

func TestPasskeySecondStepAndRemoval(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		pk := newPasskeys(t, f)
		k := newSoftKey(t)
		cred := register(t, f, pk, k, "Key")

		pending, err := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		if err != nil || !slices.Equal(pending.Methods, []string{FactorPasskey}) {
			t.Fatalf("StartLogin: %+v, %v", pending, err)
		}
		_, err = pk.BeginStep(ctx, "not-a-challenge")
		wantDetail(t, "step without a login challenge", err, ErrChallenge)
		step, err := pk.BeginStep(ctx, pending.Token)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(step.Options), cred.ID) {
			t.Errorf("allowCredentials lacks the user's passkey: %s", step.Options)
		}
		// The step ceremony does not answer another login challenge.
		otherPending, _ := f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		other := otherUser(t, f)
		otherUsers, _ := f.svc.StartLogin(ctx, other.ID, []string{AMRPassword})
		_, err = pk.CompleteStep(ctx, otherUsers.Token, step.Token, k.get(t, step, f.user.ID, 1))
		wantDetail(t, "another user's login challenge", err, ErrChallenge)

		step, _ = pk.BeginStep(ctx, pending.Token)
		proof, err := pk.CompleteStep(ctx, pending.Token, step.Token, k.get(t, step, f.user.ID, 1))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(proof.AMR, []string{"pwd", "hwk", "user", "mfa"}) || proof.UserID != f.user.ID {
			t.Fatalf("proof %+v", proof)
		}
		// Both challenges are spent.
		_, err = pk.BeginStep(ctx, pending.Token)
		wantDetail(t, "login challenge after the step", err, ErrChallenge)
		_, err = pk.CompleteStep(ctx, otherPending.Token, step.Token, k.get(t, step, f.user.ID, 1))
		wantDetail(t, "step answered twice", err, ErrChallenge)

		// Removal asks for the password, and only removes one's own.
		wantDetail(t, "remove with a wrong password", pk.Remove(ctx, f.user, cred.ID, ptr("wrong")), "The password is not correct")
		wantInvalid(t, pk.Remove(ctx, f.user, cred.ID, nil), "password")
		wantDetail(t, "remove another user's passkey", pk.Remove(ctx, other, cred.ID, ptr("right password")), "Passkey not found")
		if err := pk.Remove(ctx, f.user, cred.ID, ptr("right password")); err != nil {
			t.Fatal(err)
		}
		list, err := pk.List(ctx, f.user)
		if err != nil || len(list) != 0 {
			t.Fatalf("after removal: %v, %v", list, err)
		}
		wantDetail(t, "remove twice", pk.Remove(ctx, f.user, cred.ID, ptr("right password")), "Passkey not found")
		var removed bool
		for _, e := range f.audit.events {
			if e.Type == audit.MFAFactorRemoved && e.Details["credential_id"] == cred.ID && e.Details["factor"] == FactorPasskey {
				removed = true
			}
		}
		if !removed {
			t.Fatalf("no mfa.factor_removed event: %v", f.audit.types())
		}
		// Without passkeys, a step cannot begin.
		pending, _ = f.svc.StartLogin(ctx, f.user.ID, []string{AMRPassword})
		_, err = pk.BeginStep(ctx, pending.Token)
		wantDetail(t, "step without passkeys", err, "No passkey is registered for this account")
	})
}
