// Package auth is the parent of the API server's authentication packages: authn (who is
// asking: client certificates and bearer tokens, one user per request), jwt (compact JWS
// signing and verification with the service-account keys) and serviceaccount (the claims of
// bound and legacy service-account tokens, issuing them and checking them against the
// objects they name). It holds no code itself.
package auth
