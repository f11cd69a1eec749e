// Package jwt signs and verifies JSON Web Tokens in the compact JWS form with the
// algorithms Kubernetes uses for service-account tokens: RS256 for RSA keys and
// ES256/ES384/ES512 for ECDSA P-256/P-384/P-521 keys. A key is named by its key ID, the
// unpadded base64url SHA-256 of its PKIX (DER) public key, as upstream derives it. The
// package also renders and reads JSON Web Key Sets for OIDC discovery.
//
// It knows nothing of claims beyond the registered time claims (exp, nbf, iat) that
// ValidateTime checks; what a token means is the caller's business. It does no I/O.
package jwt
