package jws

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func sign(t testing.TB, k *rsa.PrivateKey, header, payload string) string {
	in := b64(header) + "." + b64(payload)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

const goodHeader = `{"alg":"RS256","kid":"k1","typ":"at+jwt"}`

func TestParseAndVerify(t *testing.T) {
	tok := sign(t, testKey, goodHeader, `{"sub":"u"}`)
	p, err := Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Header != (Header{Alg: "RS256", Kid: "k1", Typ: "at+jwt"}) || p.Payload != `{"sub":"u"}` {
		t.Fatalf("parsed %+v", p)
	}
	if err := p.Verify(&testKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if err := p.Verify(&other.PublicKey); !errors.Is(err, ErrSignature) {
		t.Fatalf("another key: %v", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if err := p.Verify(&small.PublicKey); !errors.Is(err, ErrKeyTooSmall) {
		t.Fatalf("a 1024-bit key: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	good := sign(t, testKey, goodHeader, `{"sub":"u"}`)
	parts := strings.Split(good, ".")
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", good + ".x", ErrMalformed},
		{"empty signature", parts[0] + "." + parts[1] + ".", ErrMalformed},
		{"empty payload", parts[0] + ".." + parts[2], errEmptyPayload},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed},
		{"std alphabet", strings.ReplaceAll(good, "_", "/") + "+", ErrMalformed},
		{"alg none", b64(`{"alg":"none","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"alg HS256", b64(`{"alg":"HS256","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"alg lower case", b64(`{"alg":"rs256","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"no alg", b64(`{"kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"crit", b64(`{"alg":"RS256","kid":"k1","crit":["exp"]}`) + "." + parts[1] + "." + parts[2], ErrCritical},
		{"no kid", b64(`{"alg":"RS256"}`) + "." + parts[1] + "." + parts[2], ErrKeyID},
		{"path kid", b64(`{"alg":"RS256","kid":"../../etc/passwd"}`) + "." + parts[1] + "." + parts[2], ErrKeyID},
		{"long kid", b64(`{"alg":"RS256","kid":"`+strings.Repeat("a", 65)+`"}`) + "." + parts[1] + "." + parts[2], ErrKeyID},
		{"duplicate alg", b64(`{"alg":"none","alg":"RS256","kid":"k1"}`) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"header not an object", b64(`["RS256"]`) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"header trailing data", b64(`{"alg":"RS256","kid":"k1"}x`) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"too large", strings.Repeat("a", MaxTokenSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.token); !errors.Is(err, tt.want) {
				t.Fatalf("Parse: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTypeIs(t *testing.T) {
	for typ, want := range map[string]bool{"at+jwt": true, "AT+JWT": true, "application/at+jwt": true, "Application/At+JWT": true,
		"JWT": false, "": false, "application/": false, "at+jwt ": false, "xapplication/at+jwt": false} {
		if got := TypeIs(typ, "at+jwt"); got != want {
			t.Errorf("TypeIs(%q) = %v", typ, got)
		}
	}
}

// FuzzParse: no input panics; whatever Parse accepts has RS256, a valid kid,
// and a payload that is what the middle part encodes.
func FuzzParse(f *testing.F) {
	f.Add(sign(f, testKey, goodHeader, `{"sub":"u","aud":["a"],"exp":1}`))
	f.Add(b64(`{"alg":"RS256","kid":"k1","crit":[]}`) + "." + b64("{}") + ".AA")
	f.Add(b64(`{"alg":"RS256","kid":"k\u0031"}`) + "." + b64("x") + ".AAAA")
	f.Add("..")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := Parse(token)
		if err != nil {
			return
		}
		if p.Header.Alg != "RS256" || !ValidKeyID(p.Header.Kid) {
			t.Fatalf("accepted header %+v", p.Header)
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted %d parts", len(parts))
		}
		payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
		if err != nil || string(payload) != p.Payload {
			t.Fatalf("payload %q, std decodes %q (%v)", p.Payload, payload, err)
		}
		_ = p.Verify(&testKey.PublicKey)
	})
}

// FuzzBase64: decode agrees with encoding/base64's strict raw URL encoding,
// except that it refuses line breaks, which encoding/base64 skips.
func FuzzBase64(f *testing.F) {
	for _, s := range []string{"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "_-_-", "a+b/", "YQ==", "YWJj", "YWI"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, stdErr := base64.RawURLEncoding.Strict().DecodeString(s)
		n := decodedLen(len(s))
		ok := n >= 0
		var got []byte
		if ok {
			got = make([]byte, n)
			ok = decode(got, s)
		}
		if !ok && stdErr == nil && strings.ContainsAny(s, "\r\n") {
			return // encoding/base64 skips line breaks; a compact JWS has none
		}
		if ok != (stdErr == nil) {
			t.Fatalf("decode(%q) ok=%v, std err=%v", s, ok, stdErr)
		}
		if ok && string(got) != string(want) {
			t.Fatalf("decode(%q) = %x, std %x", s, got, want)
		}
	})
}

// FuzzScanObject: whatever ScanObject accepts is a JSON object that
// encoding/json reads with the same members and values.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, ` {"a":1} `, `{"a":"b\u00e9\n","c":[1,{"d":null}],"e":true,"f":-0.5e+3}`,
		`{"a":"\ud83d\ude00"}`, `{"a":01}`, `{"a":1,"a":2}`, `{"a":"\u00"}`, `{"a":[1,]}`, `{"\u0061":1}`, "{\"a\":\"\xff\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := map[string]Value{}
		err := ScanObject(s, func(k string, v Value) error {
			got[k] = v
			return nil
		})
		if err != nil {
			return
		}
		var std map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &std); err != nil || std == nil {
			t.Fatalf("ScanObject accepted %q, encoding/json: %v", s, err)
		}
		if len(std) != len(got) {
			t.Fatalf("%q: %d members, encoding/json %d", s, len(got), len(std))
		}
		for k, raw := range std {
			v, ok := got[k]
			if !ok || v.Raw != string(raw) {
				t.Fatalf("%q: member %q is %q, encoding/json %q", s, k, v.Raw, raw)
			}
			if v.Kind == KindString {
				str, err := v.Str()
				var want string
				if json.Unmarshal(raw, &want) != nil || err != nil || str != want {
					t.Fatalf("%q: string %q decodes to %q (%v), encoding/json %q", s, k, str, err, want)
				}
			}
		}
	})
}

// BenchmarkRSAVerify is crypto/rsa's RS256 check alone: the floor under
// BenchmarkVerifyCachedKey (verifier package).
func BenchmarkRSAVerify(b *testing.B) {
	tok, err := Parse(sign(b, testKey, goodHeader, `{"sub":"u"}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := tok.Verify(&testKey.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}
