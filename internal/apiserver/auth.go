package apiserver

import (
	"context"
	"net/http"
)

// userInfo is an authenticated identity.
type userInfo struct {
	Name   string
	UID    string
	Groups []string
}

type userKey struct{}

func withUser(ctx context.Context, u userInfo) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom returns the request's user; the zero value when none.
func userFrom(ctx context.Context) userInfo {
	u, _ := ctx.Value(userKey{}).(userInfo)
	return u
}

// authenticate identifies the client by its verified certificate: the common name is the
// user and the organizations are its groups, as upstream's x509 authenticator does. The TLS
// layer has already verified the chain against the client CA.
func authenticate(r *http.Request) (userInfo, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return userInfo{}, false
	}
	cert := r.TLS.VerifiedChains[0][0]
	if cert.Subject.CommonName == "" {
		return userInfo{}, false
	}
	groups := append([]string{}, cert.Subject.Organization...)
	groups = append(groups, "system:authenticated")
	return userInfo{Name: cert.Subject.CommonName, Groups: groups}, true
}
