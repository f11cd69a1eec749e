package authn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"capstan/internal/auth/authn"
)

// tokens is a fake token authenticator: "good" is alice, "bad" is known and rejected,
// anything else is unknown.
type tokens struct{}

func (tokens) AuthenticateToken(ctx context.Context, token string) (*authn.Response, bool, error) {
	switch token {
	case "good":
		return &authn.Response{User: authn.User{Name: "alice", Groups: []string{"devs"}}, Audiences: []string{"api"}}, true, nil
	case "bad":
		return nil, false, errors.New("token has expired")
	}
	return nil, false, nil
}

func TestAuthenticateRequest(t *testing.T) {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "system:admin", Organization: []string{"system:masters"}}}
	tests := []struct {
		name    string
		header  string
		cert    *x509.Certificate
		tokens  authn.Token
		user    string
		groups  []string
		wantErr string
		// none: no credentials at all (ok=false, no error).
		none bool
	}{
		{name: "a verified certificate names the user and groups", cert: cert, tokens: tokens{},
			user: "system:admin", groups: []string{"system:masters", "system:authenticated"}},
		{name: "a certificate wins over a rejected bearer token", cert: cert, header: "Bearer bad", tokens: tokens{},
			user: "system:admin", groups: []string{"system:masters", "system:authenticated"}},
		{name: "a certificate without common name is no credential", cert: &x509.Certificate{}, none: true},
		{name: "a good bearer token authenticates", header: "Bearer good", tokens: tokens{},
			user: "alice", groups: []string{"devs", "system:authenticated"}},
		{name: "the bearer scheme is case-insensitive", header: "bearer good", tokens: tokens{},
			user: "alice", groups: []string{"devs", "system:authenticated"}},
		{name: "a rejected token reads like upstream", header: "Bearer bad", tokens: tokens{},
			wantErr: "[invalid bearer token, token has expired]"},
		{name: "an unknown token is an invalid bearer token", header: "Bearer who", tokens: tokens{},
			wantErr: "invalid bearer token"},
		{name: "without token authenticators every token is invalid", header: "Bearer good",
			wantErr: "invalid bearer token"},
		{name: "no header is no credential", tokens: tokens{}, none: true},
		{name: "basic auth is no credential", header: "Basic YTpi", tokens: tokens{}, none: true},
		{name: "an empty bearer token is no credential", header: "Bearer ", tokens: tokens{}, none: true},
		{name: "a token after two spaces is no credential", header: "Bearer  good", tokens: tokens{}, none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.cert != nil {
				r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{tt.cert}}}
			}
			resp, ok, err := authn.New(authn.Options{Tokens: tt.tokens}).AuthenticateRequest(r)
			switch {
			case tt.none:
				if ok || err != nil {
					t.Errorf("got ok=%v err=%v, want no credentials", ok, err)
				}
			case tt.wantErr != "":
				if ok || err == nil || err.Error() != tt.wantErr || !errors.Is(err, authn.ErrInvalidToken) {
					t.Errorf("got ok=%v err=%v, want %q", ok, err, tt.wantErr)
				}
			default:
				if !ok || err != nil || resp.User.Name != tt.user || !slices.Equal(resp.User.Groups, tt.groups) {
					t.Errorf("got %+v ok=%v err=%v, want %s %v", resp, ok, err, tt.user, tt.groups)
				}
			}
		})
	}
}

func TestUnionAndAudiences(t *testing.T) {
	u := authn.Union{tokens{}, tokens{}}
	if resp, ok, err := u.AuthenticateToken(t.Context(), "good"); !ok || err != nil || resp.User.Name != "alice" {
		t.Errorf("good: %v %v %v", resp, ok, err)
	}
	if _, ok, err := u.AuthenticateToken(t.Context(), "bad"); ok || err == nil {
		t.Errorf("bad: ok=%v err=%v", ok, err)
	}
	if _, ok, err := u.AuthenticateToken(t.Context(), "other"); ok || err != nil {
		t.Errorf("unknown: ok=%v err=%v", ok, err)
	}
	if got := authn.Intersect([]string{"a", "b", "a", "c"}, []string{"c", "a"}); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("Intersect = %v", got)
	}
	if _, ok := authn.AudiencesFrom(t.Context()); ok {
		t.Error("audiences without WithAudiences")
	}
	if auds, ok := authn.AudiencesFrom(authn.WithAudiences(t.Context(), []string{"x"})); !ok || !slices.Equal(auds, []string{"x"}) {
		t.Errorf("AudiencesFrom = %v %v", auds, ok)
	}
	// The user keeps system:authenticated once.
	a := authn.New(authn.Options{Tokens: authn.Union{tokens{}}})
	resp, _, _ := a.AuthenticateToken(t.Context(), "good")
	resp2, _, _ := a.AuthenticateToken(t.Context(), "good")
	if !slices.Equal(resp.User.Groups, resp2.User.Groups) || len(resp.User.Groups) != 2 {
		t.Errorf("groups %v / %v", resp.User.Groups, resp2.User.Groups)
	}
}
