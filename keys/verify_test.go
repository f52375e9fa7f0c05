package keys

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

const (
	testIssuer   = "https://id.example.com"
	testAudience = "https://api.example.com"
)

// signAccessToken signs a typical access-token claim set (RFC 9068 §2.2).
func signAccessToken(t testing.TB, m *Manager, iat time.Time, lifetime time.Duration) string {
	t.Helper()
	token, err := m.Sign(accessTokenClaims(iat, lifetime), "at+jwt")
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return token
}

func accessTokenClaims(iat time.Time, lifetime time.Duration) map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "usr_01HZY3K2M9V6Q8R4T7W1X5B0CD",
		"aud":       []string{testAudience},
		"client_id": "app_01HZY3K9F2G7H4J6K8L0M1N3PQ",
		"scope":     "openid profile email read:projects write:projects",
		"org_id":    "org_01HZY3KA7B8C9D0E1F2G3H4J5K",
		"jti":       "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
		"iat":       iat.Unix(),
		"nbf":       iat.Unix(),
		"exp":       iat.Add(lifetime).Unix(),
	}
}

var attackerKey = func() func() *rsa.PrivateKey {
	var k atomic.Pointer[rsa.PrivateKey]
	return func() *rsa.PrivateKey {
		if p := k.Load(); p != nil {
			return p
		}
		p, err := generateRSA(MinKeySize)
		if err != nil {
			panic(err)
		}
		k.CompareAndSwap(nil, p)
		return k.Load()
	}
}()

// forge builds a compact JWS from a header, payload and signing function,
// bypassing any library that would refuse to build a bad token.
func forge(header, payload map[string]any, sign func(input []byte) []byte) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func rsaSign(k *rsa.PrivateKey, h crypto.Hash) func([]byte) []byte {
	return func(in []byte) []byte {
		var d []byte
		switch h {
		case crypto.SHA512:
			s := sha512.Sum512(in)
			d = s[:]
		default:
			s := sha256.Sum256(in)
			d = s[:]
		}
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, h, d)
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func hmacSign(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write(in)
		return mac.Sum(nil)
	}
}

// TestVerifierRejectsForgedTokens covers docs/security.md, "Tokens and keys": each forgery is
// rejected by our Verifier and by the fosite adapter, and the key-URL
// headers cause no outbound request.
func TestVerifierRejectsForgedTokens(t *testing.T) {
	m, clock := newMemManager(t)
	kid, signer := m.Signer()
	ours := signer.(*rsa.PrivateKey)
	evil := attackerKey()
	evilKID := thumbprint(&evil.PublicKey)

	var fetched atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{}})
	}))
	defer trap.Close()

	pubDER, _ := x509.MarshalPKIXPublicKey(&ours.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&ours.PublicKey)})
	evilJWK := map[string]any{
		"kty": "RSA", "kid": kid, "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(evil.N.Bytes()),
		"e": "AQAB",
	}
	cert, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "id.example.com"},
		NotBefore: clock.Now().Add(-time.Hour), NotAfter: clock.Now().Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "id.example.com"}}, &evil.PublicKey, evil)
	if err != nil {
		t.Fatal(err)
	}

	claims := accessTokenClaims(clock.Now(), time.Hour)
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"typ": "at+jwt"}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i].(string)] = kv[i+1]
		}
		return h
	}
	valid := forge(hdr("alg", "RS256", "kid", kid), claims, rsaSign(ours, crypto.SHA256))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]

	for _, tc := range []struct{ name, token string }{
		{"alg none", forge(hdr("alg", "none", "kid", kid), claims, func([]byte) []byte { return nil })},
		{"alg None", forge(hdr("alg", "None", "kid", kid), claims, func([]byte) []byte { return nil })},
		{"HS256 keyed with public key PEM", forge(hdr("alg", "HS256", "kid", kid), claims, hmacSign(pubPEM))},
		{"HS256 keyed with public key DER", forge(hdr("alg", "HS256", "kid", kid), claims, hmacSign(pubDER))},
		{"HS256 keyed with PKCS1 PEM", forge(hdr("alg", "HS256", "kid", kid), claims, hmacSign(pkcs1PEM))},
		{"RS512 with our key", forge(hdr("alg", "RS512", "kid", kid), claims, rsaSign(ours, crypto.SHA512))},
		{"unknown kid", forge(hdr("alg", "RS256", "kid", evilKID), claims, rsaSign(evil, crypto.SHA256))},
		{"our kid, attacker key", forge(hdr("alg", "RS256", "kid", kid), claims, rsaSign(evil, crypto.SHA256))},
		{"no kid", forge(hdr("alg", "RS256"), claims, rsaSign(ours, crypto.SHA256))},
		{"path-like kid", forge(hdr("alg", "RS256", "kid", "../../../../etc/passwd"), claims, rsaSign(ours, crypto.SHA256))},
		{"1 KB kid", forge(hdr("alg", "RS256", "kid", strings.Repeat("A", 1024)), claims, rsaSign(ours, crypto.SHA256))},
		{"kid not a string", forge(hdr("alg", "RS256", "kid", 42), claims, rsaSign(ours, crypto.SHA256))},
		{"jku to attacker", forge(hdr("alg", "RS256", "kid", evilKID, "jku", trap.URL+"/jwks.json"), claims, rsaSign(evil, crypto.SHA256))},
		{"jku with our kid", forge(hdr("alg", "RS256", "kid", kid, "jku", trap.URL+"/jwks.json"), claims, rsaSign(evil, crypto.SHA256))},
		{"x5u to attacker", forge(hdr("alg", "RS256", "kid", evilKID, "x5u", trap.URL+"/cert.pem"), claims, rsaSign(evil, crypto.SHA256))},
		{"embedded jwk", forge(hdr("alg", "RS256", "kid", kid, "jwk", evilJWK), claims, rsaSign(evil, crypto.SHA256))},
		{"embedded x5c", forge(hdr("alg", "RS256", "kid", kid, "x5c", []string{base64.StdEncoding.EncodeToString(cert)}), claims, rsaSign(evil, crypto.SHA256))},
		{"tampered payload", tampered},
		{"signature stripped", parts[0] + "." + parts[1] + "."},
		{"empty", ""},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", valid + ".x"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","signatures":[]}`},
		{"oversized", valid[:len(valid)-1] + strings.Repeat("A", MaxTokenSize)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if vt, err := m.Verifier().Verify(tc.token); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %+v, %v; want ErrInvalidToken", vt, err)
			}
			if _, err := m.FositeSigner().Validate(context.Background(), tc.token); err == nil {
				t.Error("fosite adapter accepted the forgery")
			}
		})
	}
	if _, err := m.Verifier().Verify(valid); err != nil {
		t.Fatalf("control: a well-formed token of ours fails: %v", err)
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the verifier made %d requests to URLs named in token headers", n)
	}
}

// TestVerifyJWTChecksClaims covers the claim half of docs/security.md, "Tokens and keys".
func TestVerifyJWTChecksClaims(t *testing.T) {
	m, clock := newMemManager(t)
	now := clock.Now()
	want := Expected{Issuer: testIssuer, Audience: testAudience, Type: "at+jwt", Leeway: time.Minute}
	with := func(edit func(c map[string]any)) map[string]any {
		c := accessTokenClaims(now, time.Hour)
		edit(c)
		return c
	}
	for _, tc := range []struct {
		name   string
		claims map[string]any
		typ    string
		ok     bool
	}{
		{"valid", accessTokenClaims(now, time.Hour), "at+jwt", true},
		{"typ with application/ prefix", accessTokenClaims(now, time.Hour), "application/AT+JWT", true},
		{"audience as a string", with(func(c map[string]any) { c["aud"] = testAudience }), "at+jwt", true},
		{"expired within leeway", with(func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() }), "at+jwt", true},
		{"expired", with(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() }), "at+jwt", false},
		{"no exp", with(func(c map[string]any) { delete(c, "exp") }), "at+jwt", false},
		{"exp not a number", with(func(c map[string]any) { c["exp"] = "tomorrow" }), "at+jwt", false},
		{"nbf in the future", with(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }), "at+jwt", false},
		{"iat in the future", with(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }), "at+jwt", false},
		{"wrong issuer", with(func(c map[string]any) { c["iss"] = "https://evil.example.com" }), "at+jwt", false},
		{"no issuer", with(func(c map[string]any) { delete(c, "iss") }), "at+jwt", false},
		{"wrong audience", with(func(c map[string]any) { c["aud"] = []string{"https://other.example.com"} }), "at+jwt", false},
		{"no audience", with(func(c map[string]any) { delete(c, "aud") }), "at+jwt", false},
		{"ID token passed as access token", accessTokenClaims(now, time.Hour), "JWT", false},
		{"no typ", accessTokenClaims(now, time.Hour), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kid, signer := m.Signer()
			h := map[string]any{"alg": "RS256", "kid": kid}
			if tc.typ != "" {
				h["typ"] = tc.typ
			}
			token := forge(h, tc.claims, rsaSign(signer.(*rsa.PrivateKey), crypto.SHA256))
			_, err := m.Verifier().VerifyJWT(token, want)
			if tc.ok && err != nil {
				t.Fatalf("VerifyJWT: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyJWT = %v, want ErrInvalidToken", err)
			}
		})
	}
	if _, err := m.Verifier().VerifyJWT(signAccessToken(t, m, now, time.Hour), Expected{Audience: testAudience}); err == nil {
		t.Fatal("VerifyJWT without an expected issuer must refuse to run")
	}
}

// TestTokenSignedBeforeRotationVerifiesAfter checks, with go-oidc's remote
// key set fetching our JWKS over HTTP as a resource server would, that a
// rotation breaks neither old nor new tokens, and that the new key was in the
// very first JWKS the resource server cached (no refetch needed).
func TestTokenSignedBeforeRotationVerifiesAfter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.open(t)
		var fetches atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fetches.Add(1)
			jwksServer(m).ServeHTTP(w, r)
		}))
		defer srv.Close()
		rs := oidc.NewRemoteKeySet(ctx, srv.URL+"/.well-known/jwks.json")

		before := signAccessToken(t, m, e.clock.Now(), time.Hour)
		if _, err := rs.VerifySignature(ctx, before); err != nil {
			t.Fatalf("go-oidc rejects a fresh token: %v", err)
		}

		e.clock.Advance(e.cfg.withDefaults().RotationPeriod)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		after := signAccessToken(t, m, e.clock.Now(), time.Hour)
		for name, token := range map[string]string{"before": before, "after": after} {
			if _, err := rs.VerifySignature(ctx, token); err != nil {
				t.Errorf("go-oidc rejects the token signed %s the rotation: %v", name, err)
			}
			if _, err := m.Verifier().Verify(token); err != nil {
				t.Errorf("Verifier rejects the token signed %s the rotation: %v", name, err)
			}
		}
		if n := fetches.Load(); n != 1 {
			t.Errorf("go-oidc fetched the JWKS %d times; the new key should have been in its first copy", n)
		}
	})
}

// FuzzVerify feeds arbitrary strings to the Verifier and the fosite adapter:
// they must never panic, and must never accept anything we did not sign.
func FuzzVerify(f *testing.F) {
	m, clock := newMemManager(f)
	kid, signer := m.Signer()
	valid := signAccessToken(f, m, clock.Now(), time.Hour)
	f.Add(valid)
	f.Add(forge(map[string]any{"alg": "none", "kid": kid}, map[string]any{"sub": "x"}, func([]byte) []byte { return nil }))
	f.Add(forge(map[string]any{"alg": "HS256", "kid": kid}, map[string]any{"sub": "x"}, hmacSign([]byte("k"))))
	f.Add(forge(map[string]any{"alg": "RS256", "kid": kid, "crit": []string{"exp"}}, map[string]any{}, rsaSign(signer.(*rsa.PrivateKey), crypto.SHA256)))
	f.Add("..")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
	want, err := m.Verifier().Verify(valid)
	if err != nil {
		f.Fatal(err)
	}
	fs := m.FositeSigner()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		// Compare payloads, not strings: base64url has spare bits, so one
		// signed token has a few spellings, all carrying what we signed.
		vt, err := m.Verifier().Verify(token)
		if err == nil && string(vt.Payload) != string(want.Payload) {
			t.Fatalf("accepted a payload we did not sign: %q", token)
		}
		_, _ = m.Verifier().VerifyJWT(token, Expected{Issuer: testIssuer, Audience: testAudience, Type: "at+jwt"})
		_, _ = fs.Validate(ctx, token)
	})
}

// AnyAudience skips only the audience: issuer, expiry and typ still hold,
// and it must be asked for instead of an audience, not as well as one.
func TestVerifyJWTAnyAudience(t *testing.T) {
	m, clock := newMemManager(t)
	now := clock.Now()
	kid, signer := m.Signer()
	sign := func(edit func(c map[string]any)) string {
		c := accessTokenClaims(now, time.Hour)
		c["aud"] = []string{"some-client"}
		edit(c)
		return forge(map[string]any{"alg": "RS256", "kid": kid, "typ": "at+jwt"}, c, rsaSign(signer.(*rsa.PrivateKey), crypto.SHA256))
	}
	anyAud := Expected{Issuer: testIssuer, AnyAudience: true, Type: "at+jwt"}
	if _, err := m.Verifier().VerifyJWT(sign(func(map[string]any) {}), anyAud); err != nil {
		t.Fatalf("another client's audience with AnyAudience: %v", err)
	}
	for name, edit := range map[string]func(map[string]any){
		"wrong issuer": func(c map[string]any) { c["iss"] = "https://evil.example.com" },
		"expired":      func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() },
	} {
		if _, err := m.Verifier().VerifyJWT(sign(edit), anyAud); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s with AnyAudience: %v, want ErrInvalidToken", name, err)
		}
	}
	for name, want := range map[string]Expected{
		"neither audience nor AnyAudience": {Issuer: testIssuer},
		"both":                             {Issuer: testIssuer, Audience: testAudience, AnyAudience: true},
	} {
		if _, err := m.Verifier().VerifyJWT(sign(func(map[string]any) {}), want); err == nil || errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v, want a refusal to run", name, err)
		}
	}
}
