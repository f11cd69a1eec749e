package authn

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// AllAuthenticated is the group of every authenticated user.
const AllAuthenticated = "system:authenticated"

// ErrInvalidToken is the error of a bearer token no authenticator recognizes.
var ErrInvalidToken = errors.New("invalid bearer token")

// User is an authenticated identity (upstream's user.Info).
type User struct {
	Name   string
	UID    string
	Groups []string
	// Extra holds additional attributes, e.g. the pod a service-account token is bound to.
	Extra map[string][]string
}

// Response is a successful authentication.
type Response struct {
	User User
	// Audiences the credential is valid for among those the request targets; empty for
	// credentials that are not audience-bound (client certificates).
	Audiences []string
}

// Token authenticates bearer tokens. It returns ok=false and no error for a token it does
// not know (another authenticator may), and an error for one it knows but rejects.
type Token interface {
	AuthenticateToken(ctx context.Context, token string) (*Response, bool, error)
}

// Union tries its authenticators in order: the first to accept the token wins; when none
// does, the errors of those that rejected it are returned together.
type Union []Token

// AuthenticateToken implements Token.
func (u Union) AuthenticateToken(ctx context.Context, token string) (*Response, bool, error) {
	var errs []error
	for _, a := range u {
		resp, ok, err := a.AuthenticateToken(ctx, token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return resp, true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}

type audiencesKey struct{}

// WithAudiences records the audiences a request targets (a TokenReview's spec.audiences).
func WithAudiences(ctx context.Context, auds []string) context.Context {
	return context.WithValue(ctx, audiencesKey{}, auds)
}

// AudiencesFrom returns the audiences recorded with WithAudiences.
func AudiencesFrom(ctx context.Context) ([]string, bool) {
	auds, ok := ctx.Value(audiencesKey{}).([]string)
	return auds, ok
}

// Intersect returns the audiences in both lists, in the order of a.
func Intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Options configures an Authenticator.
type Options struct {
	// Tokens authenticates bearer tokens. Nil: bearer tokens are never accepted.
	Tokens Token
}

// Authenticator authenticates requests.
type Authenticator struct {
	tokens Token
}

// New returns an Authenticator.
func New(opts Options) *Authenticator { return &Authenticator{tokens: opts.Tokens} }

// AuthenticateRequest identifies the client by its verified certificate, else by its
// bearer token. ok=false with no error: the request carries no credentials; with an
// error: the credentials it carries are rejected.
func (a *Authenticator) AuthenticateRequest(r *http.Request) (*Response, bool, error) {
	if u, ok := certificateUser(r); ok {
		return &Response{User: withAuthenticated(u)}, true, nil
	}
	token, ok := BearerToken(r)
	if !ok {
		return nil, false, nil
	}
	return a.AuthenticateToken(r.Context(), token)
}

// AuthenticateToken authenticates a bearer token alone (what a TokenReview asks). The
// error of a rejected token reads like upstream's: "[invalid bearer token, <reason>]".
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*Response, bool, error) {
	if a.tokens == nil || token == "" {
		return nil, false, ErrInvalidToken
	}
	resp, ok, err := a.tokens.AuthenticateToken(ctx, token)
	switch {
	case ok:
		resp.User = withAuthenticated(resp.User)
		return resp, true, nil
	case err != nil:
		return nil, false, &rejected{err: err}
	}
	return nil, false, ErrInvalidToken
}

// rejected is a token an authenticator knew and refused.
type rejected struct{ err error }

func (e *rejected) Error() string {
	return "[" + ErrInvalidToken.Error() + ", " + strings.ReplaceAll(e.err.Error(), "\n", ", ") + "]"
}

func (e *rejected) Unwrap() []error { return []error{ErrInvalidToken, e.err} }

// BearerToken returns the token of an "Authorization: Bearer <token>" header (scheme case
// insensitive); false when there is none or it is empty.
func BearerToken(r *http.Request) (string, bool) {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	// Like upstream, only the first word after the scheme is the token.
	token, _, _ = strings.Cut(token, " ")
	return token, token != ""
}

// certificateUser is upstream's x509 authenticator: the TLS layer verified the chain
// against the client CA; the common name is the user and the organizations its groups.
func certificateUser(r *http.Request) (User, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return User{}, false
	}
	cert := r.TLS.VerifiedChains[0][0]
	if cert.Subject.CommonName == "" {
		return User{}, false
	}
	return User{Name: cert.Subject.CommonName, Groups: append([]string{}, cert.Subject.Organization...)}, true
}

// withAuthenticated adds system:authenticated to the user's groups, once.
func withAuthenticated(u User) User {
	if !slices.Contains(u.Groups, AllAuthenticated) {
		u.Groups = append(slices.Clip(u.Groups), AllAuthenticated)
	}
	return u
}
