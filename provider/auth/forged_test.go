package auth_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

const bodyInvalidToken = `{"detail":"Invalid or expired token"}`

var b64 = base64.RawURLEncoding

func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// compact builds header.payload.signature with sign over "header.payload".
func compact(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	input := encodeJSON(t, header) + "." + encodeJSON(t, claims)
	return input + "." + b64.EncodeToString(sign([]byte(input)))
}

func rs256(key crypto.Signer) func([]byte) []byte {
	return func(input []byte) []byte {
		digest := sha256.Sum256(input)
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func hs256(key []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(input)
		return m.Sum(nil)
	}
}

// with returns a copy of m with the changes applied (a nil value deletes).
func with(m map[string]any, changes ...any) map[string]any {
	c := map[string]any{}
	for k, v := range m {
		c[k] = v
	}
	for i := 0; i+1 < len(changes); i += 2 {
		if changes[i+1] == nil {
			delete(c, changes[i].(string))
		} else {
			c[changes[i].(string)] = changes[i+1]
		}
	}
	return c
}

// publicKey reads the active key from the JWKS, as an attacker would.
func publicKey(t *testing.T, e *apptest.Env, kid string) *rsa.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct{ KID, N, E string } `json:"keys"`
	}
	e.Do(http.MethodGet, "/.well-known/jwks.json", nil).JSON(t, &set)
	for _, k := range set.Keys {
		if k.KID == kid {
			n, _ := b64.DecodeString(k.N)
			ex, _ := b64.DecodeString(k.E)
			return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
		}
	}
	t.Fatalf("kid %s not in the JWKS", kid)
	return nil
}

// TestForgedTokensAreRejected is docs/security.md, "Tokens and keys" at the REST API: every
// forgery is 401 {"detail":"Invalid or expired token"} with a Bearer
// challenge, never 5xx, and no header makes Puguh fetch a key. A control
// token built the same way but honestly is accepted, so each case fails for
// its own reason.
func TestForgedTokensAreRejected(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	u := e.NewUser()
	kid, ourKey := e.App.Keys().Signer()
	pub := publicKey(t, e, kid)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int32
	keyServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(keyServer.Close)

	now := time.Now()
	claims := map[string]any{
		"iss": e.URL, "sub": u.ID, "aud": []string{e.URL + "/api"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": uuid.NewString(), "client_id": "puguh", "scope": "offline_access", "org_id": u.OrganizationID, "kind": "user",
	}
	header := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": kid}
	sign := func(c map[string]any) string { // with the app's active key, through its own signer
		tok, err := e.App.Keys().Sign(c, "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(pub))})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
	control := sign(claims)
	parts := strings.Split(control, ".")

	get := func(t *testing.T, authorization string) *apptest.Response {
		t.Helper()
		c := *e
		c.T = t
		return c.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "Authorization", authorization)
	}
	t.Run("controls are accepted", func(t *testing.T) {
		for name, h := range map[string]string{
			"Sign":                   "Bearer " + control,
			"hand-built":             "Bearer " + compact(t, header, claims, rs256(ourKey)),
			"scheme in lower case":   "bearer " + control,
			"jku/x5u/jwk ignored":    "Bearer " + compact(t, with(header, "jku", keyServer.URL, "x5u", keyServer.URL), claims, rs256(ourKey)),
			"login's access token":   "Bearer " + u.AccessToken,
			"typ application/at+jwt": "Bearer " + compact(t, with(header, "typ", "application/at+jwt"), claims, rs256(ourKey)),
		} {
			if r := get(t, h); r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
		}
	})

	for _, tc := range []struct{ name, authorization string }{
		{"alg none", "Bearer " + compact(t, with(header, "alg", "none"), claims, func([]byte) []byte { return nil })},
		{"alg None with a signature", "Bearer " + compact(t, with(header, "alg", "None"), claims, rs256(ourKey))},
		{"HS256 keyed with the PEM public key", "Bearer " + compact(t, with(header, "alg", "HS256"), claims, hs256(pemKey))},
		{"HS256 keyed with the PKCS#1 public key", "Bearer " + compact(t, with(header, "alg", "HS256"), claims, hs256(pkcs1))},
		{"HS256 keyed with the modulus", "Bearer " + compact(t, with(header, "alg", "HS256"), claims, hs256(pub.N.Bytes()))},
		{"RS512", "Bearer " + compact(t, with(header, "alg", "RS512"), claims, rs256(ourKey))},
		{"another key under our kid", "Bearer " + compact(t, header, claims, rs256(attacker))},
		{"unknown kid", "Bearer " + compact(t, with(header, "kid", "unknown-kid-0123456789"), claims, rs256(attacker))},
		{"unknown kid, our signature", "Bearer " + compact(t, with(header, "kid", "unknown-kid-0123456789"), claims, rs256(ourKey))},
		{"no kid", "Bearer " + compact(t, with(header, "kid", nil), claims, rs256(ourKey))},
		{"path-like kid", "Bearer " + compact(t, with(header, "kid", "../../../../etc/passwd"), claims, rs256(ourKey))},
		{"oversized kid", "Bearer " + compact(t, with(header, "kid", strings.Repeat("k", 4096)), claims, rs256(ourKey))},
		{"jku to the attacker's keys", "Bearer " + compact(t, with(header, "kid", "attacker", "jku", keyServer.URL), claims, rs256(attacker))},
		{"x5u to the attacker's keys", "Bearer " + compact(t, with(header, "kid", "attacker", "x5u", keyServer.URL), claims, rs256(attacker))},
		{"embedded jwk", "Bearer " + compact(t, with(header, "kid", "attacker", "jwk", map[string]any{"kty": "RSA",
			"n": b64.EncodeToString(attacker.N.Bytes()), "e": "AQAB"}), claims, rs256(attacker))},
		{"expired", "Bearer " + sign(with(claims, "iat", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-2*time.Minute).Unix()))},
		{"no exp", "Bearer " + sign(with(claims, "exp", nil))},
		{"nbf in the future", "Bearer " + sign(with(claims, "nbf", now.Add(10*time.Minute).Unix()))},
		{"iat in the future", "Bearer " + sign(with(claims, "iat", now.Add(10*time.Minute).Unix()))},
		{"wrong issuer", "Bearer " + sign(with(claims, "iss", "https://evil.example"))},
		{"issuer with a trailing slash", "Bearer " + sign(with(claims, "iss", e.URL+"/"))},
		{"no issuer", "Bearer " + sign(with(claims, "iss", nil))},
		{"wrong audience", "Bearer " + sign(with(claims, "aud", []string{"some-application"}))},
		{"the issuer as audience", "Bearer " + sign(with(claims, "aud", e.URL))},
		{"no audience", "Bearer " + sign(with(claims, "aud", nil))},
		{"ID-token typ JWT", "Bearer " + compact(t, with(header, "typ", "JWT"), claims, rs256(ourKey))},
		{"no typ", "Bearer " + compact(t, with(header, "typ", nil), claims, rs256(ourKey))},
		{"no sub", "Bearer " + sign(with(claims, "sub", nil))},
		{"no jti", "Bearer " + sign(with(claims, "jti", nil))},
		{"payload swapped", "Bearer " + parts[0] + "." + encodeJSON(t, with(claims, "sub", uuid.NewString())) + "." + parts[2]},
		{"signature stripped", "Bearer " + parts[0] + "." + parts[1] + "."},
		{"two tokens", "Bearer " + control + " " + control},
		{"not a JWT", "Bearer not-a-jwt"},
		{"empty segments", "Bearer .."},
		{"20 KB", "Bearer " + strings.Repeat("A", 20<<10)},
		{"scheme Basic", "Basic " + control},
		{"scheme only", "Bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, tc.authorization)
			if r.Status != http.StatusUnauthorized || string(r.Body) != bodyInvalidToken {
				t.Fatalf("%d %s, want 401 %s", r.Status, r.Body, bodyInvalidToken)
			}
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
				t.Fatalf("WWW-Authenticate %q", h)
			}
		})
	}
	t.Cleanup(func() {
		if n := fetches.Load(); n != 0 {
			t.Errorf("Puguh fetched keys from a URL in a token header %d times", n)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
