// Package serviceaccount issues and authenticates service-account tokens as upstream does.
//
// Bound tokens (the TokenRequest API) are JWTs from the configured issuer with sub
// system:serviceaccount:<ns>:<name>, aud, exp, iat, nbf, jti and the private
// "kubernetes.io" claim naming the namespace, the service account and the pod, secret or
// node the token is bound to. Legacy tokens (kept in Secrets of type
// kubernetes.io/service-account-token) come from the issuer "kubernetes/serviceaccount"
// with the kubernetes.io/serviceaccount/* claims and never expire.
//
// The Authenticator verifies the signature, issuer, audiences and times, then checks that
// the objects a token names still exist with the same UIDs, through a Getter the caller
// provides (the API server's watch caches). It owns no keys: callers load them (internal/pki).
package serviceaccount
