package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// The signature algorithms (RFC 7518) the package signs and verifies with.
const (
	RS256 = "RS256"
	ES256 = "ES256"
	ES384 = "ES384"
	ES512 = "ES512"
)

// Errors of Parse and Verify; callers tell them apart with errors.Is.
var (
	// ErrMalformed: not three base64url parts, or a header or payload that is not JSON.
	ErrMalformed = errors.New("malformed token")
	// ErrUnknownKey: no key has the token's key ID (or no keys at all).
	ErrUnknownKey = errors.New("invalid signature, no keys found")
	// ErrSignature: no key with a fitting algorithm verifies the signature.
	ErrSignature = errors.New("invalid signature")
)

// PublicKey is a verification key with its key ID and algorithm.
type PublicKey struct {
	// ID is the key ID (see KeyID).
	ID string
	// Alg is the algorithm tokens signed with the key carry, e.g. RS256.
	Alg string
	// Key is an *rsa.PublicKey or *ecdsa.PublicKey.
	Key crypto.PublicKey
}

// NewPublicKey derives the key ID and algorithm of an RSA or ECDSA public key. A private key
// (anything with a Public method) stands for its public half.
func NewPublicKey(key crypto.PublicKey) (PublicKey, error) {
	if priv, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = priv.Public()
	}
	alg, err := algorithmOf(key)
	if err != nil {
		return PublicKey{}, err
	}
	id, err := KeyID(key)
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKey{ID: id, Alg: alg, Key: key}, nil
}

// KeyID is upstream's key ID: the unpadded base64url SHA-256 of the PKIX (DER) encoding of
// the public key. It names the key without revealing it.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key ID: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func algorithmOf(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		case elliptic.P521():
			return ES512, nil
		}
		return "", errors.New("unsupported ECDSA curve: must be P-256, P-384 or P-521")
	}
	return "", fmt.Errorf("unsupported key type %T: must be RSA or ECDSA", pub)
}

// hashOf is the digest each algorithm signs.
func hashOf(alg string) crypto.Hash {
	switch alg {
	case ES384:
		return crypto.SHA384
	case ES512:
		return crypto.SHA512
	}
	return crypto.SHA256
}

// Signer signs tokens with one private key.
type Signer struct {
	key crypto.Signer
	pub PublicKey
}

// NewSigner returns a Signer for an RSA or ECDSA private key.
func NewSigner(key crypto.Signer) (*Signer, error) {
	if key == nil {
		return nil, errors.New("jwt: no signing key")
	}
	pub, err := NewPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	return &Signer{key: key, pub: pub}, nil
}

// PublicKey is the verification key of the signer's tokens.
func (s *Signer) PublicKey() PublicKey { return s.pub }

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
}

// Sign encodes claims as JSON and returns the compact JWS, with alg and kid in the header.
func (s *Signer) Sign(claims any) (string, error) {
	h, err := json.Marshal(header{Alg: s.pub.Alg, Kid: s.pub.ID})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jwt: encoding claims: %w", err)
	}
	input := b64(h) + "." + b64(p)
	hash := hashOf(s.pub.Alg)
	d := hash.New()
	d.Write([]byte(input))
	sig, err := s.key.Sign(rand.Reader, d.Sum(nil), hash)
	if err != nil {
		return "", fmt.Errorf("jwt: signing: %w", err)
	}
	if ec, ok := s.pub.Key.(*ecdsa.PublicKey); ok {
		// JWS wants r||s, each as wide as the curve, not the ASN.1 a crypto.Signer returns.
		if sig, err = ecdsaRaw(sig, ec.Curve); err != nil {
			return "", fmt.Errorf("jwt: signing: %w", err)
		}
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func curveBytes(c elliptic.Curve) int { return (c.Params().BitSize + 7) / 8 }

func ecdsaRaw(der []byte, curve elliptic.Curve) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, err
	}
	n := curveBytes(curve)
	out := make([]byte, 2*n)
	sig.R.FillBytes(out[:n])
	sig.S.FillBytes(out[n:])
	return out, nil
}

// Token is a parsed token whose signature is not verified yet.
type Token struct {
	// Alg and KeyID from the header.
	Alg, KeyID string
	// Payload is the decoded JSON payload. Do not trust it before Verify succeeds.
	Payload []byte

	signingInput string
	signature    []byte
}

// Parse splits a compact JWS into its header, payload and signature. It verifies nothing.
func Parse(token string) (*Token, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrMalformed
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return nil, ErrMalformed
		}
		raw[i] = b
	}
	var h header
	if err := json.Unmarshal(raw[0], &h); err != nil || h.Alg == "" {
		return nil, ErrMalformed
	}
	if !json.Valid(raw[1]) {
		return nil, ErrMalformed
	}
	return &Token{Alg: h.Alg, KeyID: h.Kid, Payload: raw[1], signingInput: parts[0] + "." + parts[1], signature: raw[2]}, nil
}

// Verify checks the signature with the keys of the token's key ID, or with every key when
// the token names none. A key only verifies tokens of its own algorithm ("none" and HMAC
// never verify).
func (t *Token) Verify(keys []PublicKey) error {
	tried := false
	for _, k := range keys {
		if t.KeyID != "" && k.ID != t.KeyID {
			continue
		}
		tried = true
		if k.Alg == t.Alg && verify(k, t.signingInput, t.signature) {
			return nil
		}
	}
	if !tried {
		return ErrUnknownKey
	}
	return ErrSignature
}

func verify(k PublicKey, input string, sig []byte) bool {
	hash := hashOf(k.Alg)
	d := hash.New()
	d.Write([]byte(input))
	digest := d.Sum(nil)
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		n := curveBytes(pub.Curve)
		if len(sig) != 2*n {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}
