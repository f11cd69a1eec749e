package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"capstan/internal/auth/jwt"
)

var (
	keysOnce sync.Once
	keys     map[string]crypto.Signer
)

// testKeys are made once: RSA key generation is slow.
func testKeys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	keysOnce.Do(func() {
		keys = map[string]crypto.Signer{}
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys["RS256"], keys["RS256-other"] = rsaKey, mustRSA()
		for alg, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				panic(err)
			}
			keys[alg] = k
		}
	})
	return keys
}

func mustRSA() crypto.Signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func signer(t *testing.T, name string) *jwt.Signer {
	t.Helper()
	s, err := jwt.NewSigner(testKeys(t)[name])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignAndVerifyEachAlgorithm(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "ES384", "ES512"} {
		t.Run(alg+" tokens verify with their own key", func(t *testing.T) {
			s := signer(t, alg)
			tok, err := s.Sign(map[string]string{"sub": "me"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := jwt.Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			if p.Alg != alg || p.KeyID != s.PublicKey().ID {
				t.Errorf("header alg=%q kid=%q, want %q %q", p.Alg, p.KeyID, alg, s.PublicKey().ID)
			}
			if err := p.Verify([]jwt.PublicKey{s.PublicKey()}); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if string(p.Payload) != `{"sub":"me"}` {
				t.Errorf("payload %s", p.Payload)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	rs := signer(t, "RS256")
	other := signer(t, "RS256-other")
	es := signer(t, "ES256")
	good, err := rs.Sign(map[string]string{"sub": "me"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	forged := parts[0] + "." + b64(`{"sub":"admin"}`) + "." + parts[2]
	noKid := signRS256(t, testKeys(t)["RS256"].(*rsa.PrivateKey), `{"alg":"RS256"}`, `{"sub":"me"}`)
	none := b64(`{"alg":"none","kid":"`+rs.PublicKey().ID+`"}`) + "." + parts[1] + "."
	// An ES256 header on a token verified with the RSA key's ID: algorithms must match.
	esHeader := b64(`{"alg":"ES256","kid":"`+rs.PublicKey().ID+`"}`) + "." + parts[1] + "." + parts[2]
	otherTok, _ := other.Sign(map[string]string{"sub": "me"})
	otherParts := strings.Split(otherTok, ".")
	// A token from another key that claims our key's ID.
	stolenKid := parts[0] + "." + otherParts[1] + "." + otherParts[2]

	tests := []struct {
		name  string
		token string
		keys  []jwt.PublicKey
		want  error
	}{
		{"a changed payload breaks the signature", forged, []jwt.PublicKey{rs.PublicKey()}, jwt.ErrSignature},
		{"an unknown key ID is refused", good, []jwt.PublicKey{other.PublicKey(), es.PublicKey()}, jwt.ErrUnknownKey},
		{"no keys at all is refused", good, nil, jwt.ErrUnknownKey},
		{"a token without key ID tries every key", noKid, []jwt.PublicKey{other.PublicKey(), rs.PublicKey()}, nil},
		{"a token without key ID fails when no key verifies it", noKid, []jwt.PublicKey{other.PublicKey()}, jwt.ErrSignature},
		{"alg none never verifies", none, []jwt.PublicKey{rs.PublicKey()}, jwt.ErrSignature},
		{"a header algorithm other than the key's is refused", esHeader, []jwt.PublicKey{rs.PublicKey()}, jwt.ErrSignature},
		{"another key's signature under our key ID is refused", stolenKid, []jwt.PublicKey{rs.PublicKey()}, jwt.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := jwt.Parse(tt.token)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := p.Verify(tt.keys); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseRejectsMalformedTokens(t *testing.T) {
	header := b64(`{"alg":"RS256"}`)
	tests := map[string]string{
		"empty":                       "",
		"one part":                    "abc",
		"two parts":                   header + "." + b64(`{}`),
		"four parts":                  header + "." + b64(`{}`) + ".sig.more",
		"a header that is not base64": "!!!." + b64(`{}`) + ".c2ln",
		"a header that is not JSON":   b64("nope") + "." + b64(`{}`) + ".c2ln",
		"a header without alg":        b64(`{"kid":"x"}`) + "." + b64(`{}`) + ".c2ln",
		"a payload that is not JSON":  header + "." + b64("nope") + ".c2ln",
		"a signature that is not b64": header + "." + b64(`{}`) + ".%%%",
		"padded base64":               header + "." + base64.URLEncoding.EncodeToString([]byte(`{"a":1}`)) + ".c2ln",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := jwt.Parse(tok); !errors.Is(err, jwt.ErrMalformed) {
				t.Errorf("Parse(%q) = %v, want ErrMalformed", tok, err)
			}
		})
	}
}

func TestKeyIDIsTheHashOfThePublicKey(t *testing.T) {
	k := testKeys(t)["RS256"]
	a, err := jwt.KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := jwt.KeyID(testKeys(t)["RS256-other"].Public())
	if len(a) != 43 || a == b {
		t.Errorf("key IDs %q and %q: want two distinct 43-character IDs", a, b)
	}
	pk, err := jwt.NewPublicKey(k) // a private key stands for its public half
	if err != nil || pk.ID != a || pk.Alg != jwt.RS256 {
		t.Errorf("NewPublicKey = %+v, %v", pk, err)
	}
	if _, err := jwt.NewPublicKey("not a key"); err == nil {
		t.Error("NewPublicKey accepted a string")
	}
	if _, err := jwt.NewSigner(nil); err == nil {
		t.Error("NewSigner accepted no key")
	}
}

func TestKeySetRoundTrip(t *testing.T) {
	var pubs []jwt.PublicKey
	for _, alg := range []string{"RS256", "ES256", "ES384", "ES512"} {
		pubs = append(pubs, signer(t, alg).PublicKey())
	}
	set, err := jwt.KeySet(pubs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var back jwt.JWKS
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for i, j := range back.Keys {
		if j.Use != "sig" || j.Kid != pubs[i].ID || j.Alg != pubs[i].Alg {
			t.Errorf("key %d = %+v", i, j)
		}
		pk, err := j.PublicKey()
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		tok, _ := signer(t, pubs[i].Alg).Sign(map[string]int{"n": i})
		p, _ := jwt.Parse(tok)
		if err := p.Verify([]jwt.PublicKey{pk}); err != nil {
			t.Errorf("%s: the decoded key does not verify: %v", pubs[i].Alg, err)
		}
	}
	if !strings.Contains(string(data), `"e":"AQAB"`) || !strings.Contains(string(data), `"crv":"P-256"`) {
		t.Errorf("key set lacks the RSA exponent or the curve name: %s", data)
	}
	bad := []jwt.JWK{{Kty: "oct"}, {Kty: "RSA", N: "", E: "AQAB"}, {Kty: "RSA", N: "AQAB", E: "!"}, {Kty: "EC", Crv: "P-999"}, {Kty: "EC", Crv: "P-256", X: "AQ"}}
	for _, j := range bad {
		if _, err := j.PublicKey(); err == nil {
			t.Errorf("%+v decoded", j)
		}
	}
}

func TestValidateTime(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	at := func(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(now.Add(d)) }
	tests := []struct {
		name string
		c    jwt.TimeClaims
		want error
	}{
		{"a current token passes", jwt.TimeClaims{Expiry: at(time.Hour), NotBefore: at(-time.Minute), IssuedAt: at(-time.Minute)}, nil},
		{"no time claims pass", jwt.TimeClaims{}, nil},
		{"expired beyond the leeway", jwt.TimeClaims{Expiry: at(-61 * time.Second)}, jwt.ErrExpired},
		{"expired within the leeway passes", jwt.TimeClaims{Expiry: at(-59 * time.Second)}, nil},
		{"not valid yet beyond the leeway", jwt.TimeClaims{NotBefore: at(61 * time.Second)}, jwt.ErrNotValidYet},
		{"not valid yet within the leeway passes", jwt.TimeClaims{NotBefore: at(59 * time.Second)}, nil},
		{"issued in the future", jwt.TimeClaims{IssuedAt: at(2 * time.Minute)}, jwt.ErrIssuedInTheFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := jwt.ValidateTime(tt.c, now, jwt.DefaultLeeway); !errors.Is(err, tt.want) {
				t.Errorf("ValidateTime = %v, want %v", err, tt.want)
			}
		})
	}
}

// signRS256 signs by hand, for headers the Signer never writes.
func signRS256(t *testing.T, key *rsa.PrivateKey, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
