package keys

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	fositejwt "github.com/ory/fosite/token/jwt"

	"github.com/arsaka/puguh/storage"
)

var allAlgorithms = []string{AlgRS256, AlgES256, AlgEdDSA}

// Every enabled algorithm gets a chain of its own, on both databases (the
// one-active and one-next indexes hold per algorithm), published in the JWKS
// with the right key type, and rotated on the same schedule.
func TestEachAlgorithmHasItsOwnChain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.cfg.Algorithms = allAlgorithms
		m := e.open(t)
		byAlg := func() map[string]map[string]int {
			infos, err := m.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]map[string]int{}
			for _, k := range infos {
				if out[k.Algorithm] == nil {
					out[k.Algorithm] = map[string]int{}
				}
				out[k.Algorithm][k.State]++
			}
			return out
		}
		for _, alg := range allAlgorithms {
			if got := byAlg()[alg]; got[storage.KeyStateActive] != 1 || got[storage.KeyStateNext] != 1 {
				t.Fatalf("%s: states %v, want one active and one next key", alg, got)
			}
		}

		var doc struct {
			Keys []publicJWK `json:"keys"`
		}
		if err := json.Unmarshal(m.JWKS().Body, &doc); err != nil {
			t.Fatal(err)
		}
		kty := map[string]string{}
		for _, k := range doc.Keys {
			kty[k.Alg] = k.Kty + "/" + k.Crv
			// go-jose reads every key back, and the kid is its thumbprint.
			var j jose.JSONWebKey
			raw, _ := json.Marshal(k)
			if err := j.UnmarshalJSON(raw); err != nil {
				t.Fatalf("%s key does not parse as a JWK: %v", k.Alg, err)
			}
			tp, err := j.Thumbprint(crypto.SHA256)
			if err != nil || base64.RawURLEncoding.EncodeToString(tp) != k.Kid {
				t.Fatalf("%s kid %s is not its RFC 7638 thumbprint (%v)", k.Alg, k.Kid, err)
			}
		}
		if len(doc.Keys) != 6 || kty[AlgRS256] != "RSA/" || kty[AlgES256] != "EC/P-256" || kty[AlgEdDSA] != "OKP/Ed25519" {
			t.Fatalf("JWKS has %d keys, types %v", len(doc.Keys), kty)
		}

		e.clock.Advance(e.cfg.withDefaults().RotationPeriod)
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, alg := range allAlgorithms {
			if got := byAlg()[alg]; got[storage.KeyStateActive] != 1 || got[storage.KeyStateNext] != 1 || got[storage.KeyStateRetired] != 1 {
				t.Fatalf("%s after a rotation period: states %v, want one of each", alg, got)
			}
		}
		rot, err := m.RotateAlgorithm(ctx, AlgES256, true)
		if err != nil {
			t.Fatal(err)
		}
		if m.set.Load().byAlg[AlgES256].kid != rot.ActiveKID || m.ActiveKID() == rot.ActiveKID {
			t.Fatalf("forced ES256 rotation: ES256 signs with %s, want %s; RS256 must not move", m.set.Load().byAlg[AlgES256].kid, rot.ActiveKID)
		}
		if _, err := m.RotateAlgorithm(ctx, "HS256", false); err == nil {
			t.Fatal("rotating a disabled algorithm succeeded")
		}
	})
}

// The fosite signer signs with the algorithm the context chooses, by token
// type; both verifiers accept the tokens; a token whose header names another
// algorithm than its key's is refused.
func TestSignWithChosenAlgorithm(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	cfg := testConfig(clock)
	cfg.Algorithms = allAlgorithms
	m, err := open(ctx, &memStore{}, testSecret, cfg, (&keyGen{}).generate)
	if err != nil {
		t.Fatal(err)
	}
	fs := m.FositeSigner()
	now := time.Now()
	claims := fositejwt.MapClaims{"iss": testIssuer, "sub": "usr_1", "aud": []string{"app_1"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	at := &fositejwt.Headers{Extra: map[string]any{"typ": "at+jwt"}}

	for _, tc := range []struct {
		choice         AlgorithmChoice
		wantAT, wantID string
		hashLen        int
	}{
		{AlgorithmChoice{}, AlgRS256, AlgRS256, 32},
		{AlgorithmChoice{AccessToken: AlgES256, IDToken: AlgEdDSA}, AlgES256, AlgEdDSA, 64},
		{AlgorithmChoice{AccessToken: AlgEdDSA, IDToken: AlgES256}, AlgEdDSA, AlgES256, 32},
	} {
		cctx := WithAlgorithms(ctx, tc.choice)
		for _, c := range []struct {
			header fositejwt.Mapper
			want   string
		}{{at, tc.wantAT}, {fositejwt.NewHeaders(), tc.wantID}} {
			token, _, err := fs.Generate(cctx, claims, c.header)
			if err != nil {
				t.Fatalf("%+v: %v", tc.choice, err)
			}
			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(c.want)})
			if err != nil {
				t.Fatalf("%+v: want %s: %v", tc.choice, c.want, err)
			}
			h := jws.Signatures[0].Protected
			if k := m.set.Load().byAlg[c.want]; h.KeyID != k.kid {
				t.Fatalf("kid %s, want the active %s key %s", h.KeyID, c.want, k.kid)
			}
			if _, err := jws.Verify(m.set.Load().byAlg[c.want].pub); err != nil {
				t.Fatalf("%s signature does not verify with go-jose: %v", c.want, err)
			}
			if _, err := m.Verifier().Verify(token); err != nil {
				t.Fatalf("Verifier rejects %s: %v", c.want, err)
			}
			if _, err := fs.Validate(ctx, token); err != nil {
				t.Fatalf("fosite signer rejects %s: %v", c.want, err)
			}
			// The same signature under another alg header (the key stays):
			// refused by both, before any signature check.
			parts := strings.Split(token, ".")
			var hdr map[string]any
			raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
			_ = json.Unmarshal(raw, &hdr)
			for _, other := range allAlgorithms {
				if other == c.want {
					continue
				}
				hdr["alg"] = other
				hb, _ := json.Marshal(hdr)
				forged := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1] + "." + parts[2]
				if _, err := m.Verifier().Verify(forged); err == nil || !strings.Contains(err.Error(), "algorithm is not the key's") {
					t.Fatalf("Verifier: %s key with alg %s: %v", c.want, other, err)
				}
				if _, err := fs.Validate(ctx, forged); err == nil {
					t.Fatalf("fosite signer accepted a %s key with alg %s", c.want, other)
				}
			}
		}
		if n := fs.GetSigningMethodLength(cctx); n != tc.hashLen {
			t.Errorf("%+v: at_hash length %d, want %d", tc.choice, n, tc.hashLen)
		}
		sum, _ := fs.Hash(cctx, []byte("token"))
		want := sha256.Sum256([]byte("token"))
		if tc.hashLen == 64 {
			w := sha512.Sum512([]byte("token"))
			if string(sum) != string(w[:]) {
				t.Errorf("%+v: Hash is not SHA-512", tc.choice)
			}
		} else if string(sum) != string(want[:]) {
			t.Errorf("%+v: Hash is not SHA-256", tc.choice)
		}
	}

	// An algorithm without keys is an error, not a silent RS256 token.
	rsOnly, _ := newMemManager(t)
	if _, _, err := rsOnly.FositeSigner().Generate(WithAlgorithms(ctx, AlgorithmChoice{IDToken: AlgES256}), claims, nil); err == nil {
		t.Fatal("signed ES256 without an ES256 key")
	}
}

func TestParseAlgorithms(t *testing.T) {
	for in, want := range map[string]string{
		"RS256":                 "RS256",
		" RS256 , ES256,ES256 ": "RS256,ES256",
		"EdDSA,RS256,ES256":     "EdDSA,RS256,ES256",
		"ES256":                 "error: RS256 must stay enabled: it is the default algorithm",
		"RS256,HS256":           `error: unsupported signing algorithm "HS256" (supported: RS256, ES256, EdDSA)`,
		"RS256,none":            `error: unsupported signing algorithm "none" (supported: RS256, ES256, EdDSA)`,
	} {
		got, err := ParseAlgorithms(in)
		s := strings.Join(got, ",")
		if err != nil {
			s = "error: " + err.Error()
		}
		if s != want {
			t.Errorf("ParseAlgorithms(%q) = %s, want %s", in, s, want)
		}
	}
}
