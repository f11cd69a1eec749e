// Package authentication holds the rules of authentication.k8s.io/v1, whose objects are
// never stored: TokenRequest (the serviceaccounts/token subresource), TokenReview and
// SelfSubjectReview. It defaults and validates requests and decides a token's lifetime and
// binding as upstream does; issuing tokens and authenticating them is internal/auth's job,
// reading the objects they name the API server's.
package authentication
