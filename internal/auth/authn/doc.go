// Package authn identifies the client of an API request, as upstream's request
// authenticators do: a client certificate the TLS layer verified (common name is the user,
// organizations the groups), else an "Authorization: Bearer" token that one of the token
// authenticators recognizes. Every authenticated user is in system:authenticated.
//
// Token authenticators are audience-aware: the audiences a request targets travel in the
// context (WithAudiences); by default they are the API server's. The package owns no
// credentials and does no I/O itself; token authenticators (internal/auth/serviceaccount)
// read what they need through their own getters.
package authn
