package jwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517), in the field order upstream
// serves.
type JWK struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	Alg string `json:"alg"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// KeySet renders public keys as a key set, each for signatures ("use": "sig").
func KeySet(keys []PublicKey) (JWKS, error) {
	set := JWKS{Keys: []JWK{}}
	for _, k := range keys {
		j := JWK{Use: "sig", Kid: k.ID, Alg: k.Alg}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			j.Kty = "RSA"
			j.N = b64(pub.N.Bytes())
			j.E = b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			n := curveBytes(pub.Curve)
			j.Kty, j.Crv = "EC", pub.Curve.Params().Name
			j.X = b64(pub.X.FillBytes(make([]byte, n)))
			j.Y = b64(pub.Y.FillBytes(make([]byte, n)))
		default:
			return JWKS{}, fmt.Errorf("jwt: key %s: unsupported key type %T", k.ID, k.Key)
		}
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}

// PublicKey decodes the key; its ID and algorithm are those the set states.
func (j JWK) PublicKey() (PublicKey, error) {
	num := func(s string) (*big.Int, error) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("jwt: key %s: bad number %q", j.Kid, s)
		}
		return new(big.Int).SetBytes(b), nil
	}
	switch j.Kty {
	case "RSA":
		n, err := num(j.N)
		if err != nil {
			return PublicKey{}, err
		}
		e, err := num(j.E)
		if err != nil {
			return PublicKey{}, err
		}
		if !e.IsInt64() || e.Int64() > 1<<31 {
			return PublicKey{}, fmt.Errorf("jwt: key %s: exponent too large", j.Kid)
		}
		return PublicKey{ID: j.Kid, Alg: j.Alg, Key: &rsa.PublicKey{N: n, E: int(e.Int64())}}, nil
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[j.Crv]
		if curve == nil {
			return PublicKey{}, fmt.Errorf("jwt: key %s: unsupported curve %q", j.Kid, j.Crv)
		}
		x, err := num(j.X)
		if err != nil {
			return PublicKey{}, err
		}
		y, err := num(j.Y)
		if err != nil {
			return PublicKey{}, err
		}
		return PublicKey{ID: j.Kid, Alg: j.Alg, Key: &ecdsa.PublicKey{Curve: curve, X: x, Y: y}}, nil
	}
	return PublicKey{}, errors.New("jwt: unsupported key type " + j.Kty)
}
