package serviceaccount_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"

	"capstan/internal/auth/authn"
	"capstan/internal/auth/jwt"
	sa "capstan/internal/auth/serviceaccount"
)

var (
	rsaOnce sync.Once
	rsaKeys [2]crypto.Signer
)

// keys returns two RSA keys, made once (generation is slow).
func keys(t *testing.T) [2]crypto.Signer {
	t.Helper()
	rsaOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
		}
	})
	return rsaKeys
}

// fakeGetter holds objects by "namespace/name" (nodes by name).
type fakeGetter struct {
	accounts map[string]*corev1.ServiceAccount
	pods     map[string]*corev1.Pod
	secrets  map[string]*corev1.Secret
	nodes    map[string]*corev1.Node
}

func lookup[T any](m map[string]*T, resource, key string) (*T, error) {
	if o, ok := m[key]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resource}, key)
}

func (g *fakeGetter) GetServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	return lookup(g.accounts, "serviceaccounts", ns+"/"+name)
}
func (g *fakeGetter) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	return lookup(g.pods, "pods", ns+"/"+name)
}
func (g *fakeGetter) GetSecret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	return lookup(g.secrets, "secrets", ns+"/"+name)
}
func (g *fakeGetter) GetNode(_ context.Context, name string) (*corev1.Node, error) {
	return lookup(g.nodes, "nodes", name)
}

var (
	start   = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	account = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "robot", UID: "sa-uid"}}
)

func meta(ns, name, uid string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}
}

// world is a getter with the account, a pod web on node n1, a secret s and node n1.
func world() *fakeGetter {
	return &fakeGetter{
		accounts: map[string]*corev1.ServiceAccount{"ns/robot": account.DeepCopy()},
		pods:     map[string]*corev1.Pod{"ns/web": {ObjectMeta: meta("ns", "web", "pod-uid")}},
		secrets:  map[string]*corev1.Secret{"ns/s": {ObjectMeta: meta("ns", "s", "secret-uid")}},
		nodes:    map[string]*corev1.Node{"n1": {ObjectMeta: meta("", "n1", "node-uid")}},
	}
}

type fixture struct {
	clock  *testingclock.FakePassiveClock
	issuer *sa.Issuer
	getter *fakeGetter
	auth   *sa.Authenticator
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: testingclock.NewFakePassiveClock(start), getter: world()}
	var err error
	f.issuer, err = sa.NewIssuer(sa.IssuerOptions{Key: keys(t)[0], Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.auth, err = sa.NewAuthenticator(sa.AuthenticatorOptions{Keys: []jwt.PublicKey{f.issuer.PublicKey()}, Getter: f.getter, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) bound(t *testing.T, b sa.BoundToken) string {
	t.Helper()
	if b.ServiceAccount == nil {
		b.ServiceAccount = account
	}
	if b.Audiences == nil {
		b.Audiences = []string{sa.DefaultIssuer}
	}
	if b.Lifetime == 0 {
		b.Lifetime = time.Hour
	}
	tok, _, err := f.issuer.IssueBound(b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// authenticate authenticates tok for auds (the API's when nil) and checks the outcome:
// an error containing wantErr (nil response), or success.
func authenticate(t *testing.T, f *fixture, tok string, auds []string, wantErr string) *authn.Response {
	t.Helper()
	ctx := t.Context()
	if auds != nil {
		ctx = authn.WithAudiences(ctx, auds)
	}
	resp, ok, err := f.auth.AuthenticateToken(ctx, tok)
	if wantErr != "" {
		if ok || err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got ok=%v err=%v, want error %q", ok, err, wantErr)
		}
		return nil
	}
	if !ok || err != nil {
		t.Fatalf("got ok=%v err=%v, want authenticated", ok, err)
	}
	return resp
}

func TestBoundTokenClaims(t *testing.T) {
	f := newFixture(t)
	tok := f.bound(t, sa.BoundToken{Pod: &sa.Ref{Name: "web", UID: "pod-uid"}, Node: &sa.Ref{Name: "n1", UID: "node-uid"}, WarnAfter: time.Minute})
	p, err := jwt.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Alg != "RS256" || p.KeyID != f.issuer.PublicKey().ID {
		t.Errorf("header alg=%s kid=%s", p.Alg, p.KeyID)
	}
	var c map[string]any
	if err := json.Unmarshal(p.Payload, &c); err != nil {
		t.Fatal(err)
	}
	now := float64(start.Unix())
	want := map[string]any{
		"iss": sa.DefaultIssuer, "sub": "system:serviceaccount:ns:robot", "aud": []any{sa.DefaultIssuer},
		"iat": now, "nbf": now, "exp": now + 3600,
		"kubernetes.io": map[string]any{
			"namespace":      "ns",
			"serviceaccount": map[string]any{"name": "robot", "uid": "sa-uid"},
			"pod":            map[string]any{"name": "web", "uid": "pod-uid"},
			"node":           map[string]any{"name": "n1", "uid": "node-uid"},
			"warnafter":      now + 60,
		},
	}
	jti, _ := c["jti"].(string)
	delete(c, "jti")
	if len(jti) != 36 {
		t.Errorf("jti %q is not a UUID", jti)
	}
	got, _ := json.Marshal(c)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("claims\n got %s\nwant %s", got, wantJSON)
	}
}

func TestLegacyTokenClaims(t *testing.T) {
	f := newFixture(t)
	tok, err := f.issuer.IssueLegacy(account, "robot-token")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := jwt.Parse(tok)
	want := `{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"ns",` +
		`"kubernetes.io/serviceaccount/secret.name":"robot-token","kubernetes.io/serviceaccount/service-account.name":"robot",` +
		`"kubernetes.io/serviceaccount/service-account.uid":"sa-uid","sub":"system:serviceaccount:ns:robot"}`
	if string(p.Payload) != want {
		t.Errorf("payload\n got %s\nwant %s", p.Payload, want)
	}
}

func TestIssuerRejectsIncompleteRequests(t *testing.T) {
	f := newFixture(t)
	for name, b := range map[string]sa.BoundToken{
		"no service account": {Audiences: []string{"a"}, Lifetime: time.Hour},
		"no audiences":       {ServiceAccount: account, Lifetime: time.Hour},
		"no lifetime":        {ServiceAccount: account, Audiences: []string{"a"}},
	} {
		if _, _, err := f.issuer.IssueBound(b); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
	if _, err := sa.NewIssuer(sa.IssuerOptions{}); err == nil {
		t.Error("NewIssuer without a key succeeded")
	}
	if _, err := sa.NewAuthenticator(sa.AuthenticatorOptions{}); err == nil {
		t.Error("NewAuthenticator without keys succeeded")
	}
}

func TestAuthenticateBoundTokens(t *testing.T) {
	podRef := &sa.Ref{Name: "web", UID: "pod-uid"}
	tests := []struct {
		name  string
		token func(t *testing.T, f *fixture) string
		// change alters the world (clock, objects) after the token is issued.
		change  func(f *fixture)
		auds    []string // the request's audiences, when set
		wantErr string   // "" = authenticated
		extra   map[string][]string
	}{
		{name: "an unbound token authenticates as its service account",
			token: func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			extra: map[string][]string{}},
		{name: "a pod-bound token carries the pod and node in extra",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Pod: podRef, Node: &sa.Ref{Name: "n1", UID: "node-uid"}})
			},
			extra: map[string][]string{sa.PodNameKey: {"web"}, sa.PodUIDKey: {"pod-uid"}, sa.NodeNameKey: {"n1"}, sa.NodeUIDKey: {"node-uid"}}},
		{name: "a secret-bound token is valid while the secret lives",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Secret: &sa.Ref{Name: "s", UID: "secret-uid"}})
			},
			extra: map[string][]string{}},
		{name: "a node-bound token is valid while the node lives",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Node: &sa.Ref{Name: "n1", UID: "node-uid"}})
			},
			extra: map[string][]string{sa.NodeNameKey: {"n1"}, sa.NodeUIDKey: {"node-uid"}}},
		{name: "a token for another audience is refused",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{Audiences: []string{"vault"}}) },
			wantErr: `token audiences ["vault"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]`},
		{name: "a token for another audience is accepted when the review asks for it",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Audiences: []string{"vault", "x"}})
			},
			auds: []string{"vault"}, extra: map[string][]string{}},
		{name: "an API token is refused for another reviewed audience",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			auds:    []string{"vault"},
			wantErr: "is invalid for the target audiences"},
		{name: "an expired token is refused",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			change:  func(f *fixture) { f.clock.SetTime(start.Add(time.Hour + 2*time.Minute)) },
			wantErr: "service account token has expired"},
		{name: "a just-expired token is accepted within the leeway",
			token:  func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			change: func(f *fixture) { f.clock.SetTime(start.Add(time.Hour + 30*time.Second)) },
			extra:  map[string][]string{}},
		{name: "a token from the future is refused",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			change:  func(f *fixture) { f.clock.SetTime(start.Add(-5 * time.Minute)) },
			wantErr: "service account token is not valid yet"},
		{name: "a deleted service account invalidates its tokens",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			change:  func(f *fixture) { delete(f.getter.accounts, "ns/robot") },
			wantErr: `serviceaccounts "ns/robot" not found`},
		{name: "a recreated service account does not inherit tokens",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			change:  func(f *fixture) { f.getter.accounts["ns/robot"].UID = "new" },
			wantErr: "service account UID (new) does not match claim (sa-uid)"},
		{name: "a service account deleted long ago invalidates its tokens",
			token: func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{}) },
			change: func(f *fixture) {
				f.getter.accounts["ns/robot"].DeletionTimestamp = &metav1.Time{Time: start.Add(-2 * time.Minute)}
			},
			wantErr: "service account ns/robot has been deleted"},
		{name: "a deleted pod invalidates its tokens",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{Pod: podRef}) },
			change:  func(f *fixture) { delete(f.getter.pods, "ns/web") },
			wantErr: "service account token has been invalidated"},
		{name: "a recreated pod does not inherit tokens",
			token:   func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{Pod: podRef}) },
			change:  func(f *fixture) { f.getter.pods["ns/web"].UID = "other" },
			wantErr: "pod UID (other) does not match service account pod ref claim (pod-uid)"},
		{name: "a pod terminating beyond the leeway invalidates its tokens",
			token: func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{Pod: podRef}) },
			change: func(f *fixture) {
				f.getter.pods["ns/web"].DeletionTimestamp = &metav1.Time{Time: start.Add(-61 * time.Second)}
			},
			wantErr: "service account token has been invalidated"},
		{name: "a pod that just started terminating keeps its tokens",
			token: func(t *testing.T, f *fixture) string { return f.bound(t, sa.BoundToken{Pod: podRef}) },
			change: func(f *fixture) {
				f.getter.pods["ns/web"].DeletionTimestamp = &metav1.Time{Time: start.Add(-10 * time.Second)}
			},
			extra: map[string][]string{sa.PodNameKey: {"web"}, sa.PodUIDKey: {"pod-uid"}}},
		{name: "a deleted secret invalidates its tokens",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Secret: &sa.Ref{Name: "s", UID: "secret-uid"}})
			},
			change:  func(f *fixture) { delete(f.getter.secrets, "ns/s") },
			wantErr: "service account token has been invalidated"},
		{name: "a deleted node invalidates its node-bound tokens",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Node: &sa.Ref{Name: "n1", UID: "node-uid"}})
			},
			change:  func(f *fixture) { delete(f.getter.nodes, "n1") },
			wantErr: "service account token has been invalidated"},
		{name: "a recreated node does not inherit tokens",
			token: func(t *testing.T, f *fixture) string {
				return f.bound(t, sa.BoundToken{Node: &sa.Ref{Name: "n1", UID: "node-uid"}})
			},
			change:  func(f *fixture) { f.getter.nodes["n1"].UID = "n2" },
			wantErr: "node UID (n2) does not match service account node ref claim (node-uid)"},
		{name: "a token signed by another key is refused",
			token: func(t *testing.T, f *fixture) string {
				other, _ := sa.NewIssuer(sa.IssuerOptions{Key: keys(t)[1], Clock: f.clock})
				tok, _, _ := other.IssueBound(sa.BoundToken{ServiceAccount: account, Audiences: []string{sa.DefaultIssuer}, Lifetime: time.Hour})
				return tok
			},
			wantErr: jwt.ErrUnknownKey.Error()},
		{name: "a token whose payload was changed is refused",
			token: func(t *testing.T, f *fixture) string {
				parts := strings.Split(f.bound(t, sa.BoundToken{}), ".")
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				payload = []byte(strings.Replace(string(payload), "robot", "admin", -1))
				return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
			},
			wantErr: jwt.ErrSignature.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok := tt.token(t, f)
			if tt.change != nil {
				tt.change(f)
			}
			resp := authenticate(t, f, tok, tt.auds, tt.wantErr)
			if resp == nil {
				return
			}
			u := resp.User
			if u.Name != "system:serviceaccount:ns:robot" || u.UID != "sa-uid" ||
				!slices.Equal(u.Groups, []string{"system:serviceaccounts", "system:serviceaccounts:ns"}) {
				t.Errorf("user %+v", u)
			}
			cred := u.Extra[sa.CredentialIDKey]
			if len(cred) != 1 || !strings.HasPrefix(cred[0], "JTI=") {
				t.Errorf("credential-id %v", cred)
			}
			delete(u.Extra, sa.CredentialIDKey)
			if !maps.EqualFunc(u.Extra, tt.extra, slices.Equal) {
				t.Errorf("extra %v, want %v", u.Extra, tt.extra)
			}
			wantAuds := tt.auds
			if wantAuds == nil {
				wantAuds = []string{sa.DefaultIssuer}
			}
			if !slices.Equal(resp.Audiences, wantAuds) {
				t.Errorf("audiences %v, want %v", resp.Audiences, wantAuds)
			}
		})
	}
}

func TestAuthenticateIgnoresForeignTokens(t *testing.T) {
	f := newFixture(t)
	otherIssuer, _ := sa.NewIssuer(sa.IssuerOptions{Issuer: "https://elsewhere", Key: keys(t)[0], Clock: f.clock})
	foreign, _, _ := otherIssuer.IssueBound(sa.BoundToken{ServiceAccount: account, Audiences: []string{sa.DefaultIssuer}, Lifetime: time.Hour})
	b := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, tok := range map[string]string{
		"a token of another issuer":      foreign,
		"not a JWT":                      "abcdef",
		"a JSON token":                   `{"iss":"kubernetes/serviceaccount"}`,
		"a payload that is not base64":   "a.!!!.c",
		"a payload that is not JSON":     "a." + b("x") + ".c",
		"a broken header from an issuer": "!!!." + b(`{"iss":"`+sa.DefaultIssuer+`"}`) + ".c",
	} {
		t.Run(name, func(t *testing.T) {
			if resp, ok, err := f.auth.AuthenticateToken(t.Context(), tok); ok || err != nil || resp != nil {
				t.Errorf("got %v %v %v, want not handled", resp, ok, err)
			}
		})
	}
}

func TestAuthenticateOtherIssuersAndKeys(t *testing.T) {
	f := newFixture(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := sa.NewIssuer(sa.IssuerOptions{Issuer: "https://new", Key: ec, Clock: f.clock})
	auth, err := sa.NewAuthenticator(sa.AuthenticatorOptions{
		Issuers: []string{"https://new", sa.DefaultIssuer}, APIAudiences: []string{"api"},
		Keys: []jwt.PublicKey{f.issuer.PublicKey(), iss.PublicKey()}, Getter: f.getter, Clock: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, i := range map[string]*sa.Issuer{"an ES256 token of the first issuer": iss, "an RS256 token of the second issuer": f.issuer} {
		tok, _, _ := i.IssueBound(sa.BoundToken{ServiceAccount: account, Audiences: []string{"api"}, Lifetime: time.Hour})
		if _, ok, err := auth.AuthenticateToken(t.Context(), tok); !ok || err != nil {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
	}
}

func TestAuthenticateLegacyTokens(t *testing.T) {
	legacySecret := func(f *fixture, tok string) {
		f.getter.secrets["ns/robot-token"] = &corev1.Secret{ObjectMeta: meta("ns", "robot-token", "sec"),
			Type: corev1.SecretTypeServiceAccountToken, Data: map[string][]byte{"token": []byte(tok)}}
	}
	tests := []struct {
		name    string
		change  func(f *fixture, tok string)
		forge   func(f *fixture) string
		auds    []string
		wantErr string
	}{
		{name: "a token kept in its secret authenticates"},
		{name: "a deleted secret invalidates the token", change: func(f *fixture, _ string) { delete(f.getter.secrets, "ns/robot-token") },
			wantErr: "Token has been invalidated"},
		{name: "a secret being deleted invalidates the token", change: func(f *fixture, _ string) {
			f.getter.secrets["ns/robot-token"].DeletionTimestamp = &metav1.Time{Time: start}
		}, wantErr: "Token has been invalidated"},
		{name: "a secret marked invalid invalidates the token", change: func(f *fixture, _ string) {
			f.getter.secrets["ns/robot-token"].Labels = map[string]string{"kubernetes.io/legacy-token-invalid-since": "2026-01-01"}
		}, wantErr: "Token has been invalidated"},
		{name: "a secret holding another token refuses this one", change: func(f *fixture, _ string) {
			f.getter.secrets["ns/robot-token"].Data["token"] = []byte("other")
		}, wantErr: "Token does not match server's copy"},
		{name: "a recreated service account does not inherit the token", change: func(f *fixture, _ string) {
			f.getter.accounts["ns/robot"].UID = "new"
		}, wantErr: "ServiceAccount UID (new) does not match claim (sa-uid)"},
		{name: "a deleted service account invalidates the token", change: func(f *fixture, _ string) { delete(f.getter.accounts, "ns/robot") },
			wantErr: "not found"},
		{name: "legacy tokens are for the API server only", auds: []string{"vault"}, wantErr: "is invalid for the target audiences"},
		{name: "a token without secret name is refused", forge: func(f *fixture) string {
			tok, _ := f.issuer.IssueLegacy(account, "")
			return tok
		}, wantErr: "secretName claim is missing"},
		{name: "a token without namespace is refused", forge: func(f *fixture) string {
			other := account.DeepCopy()
			other.Namespace = ""
			tok, _ := f.issuer.IssueLegacy(other, "robot-token")
			return tok
		}, wantErr: "namespace claim is missing"},
		{name: "a token whose subject disagrees with its claims is refused", forge: func(f *fixture) string {
			s, _ := jwt.NewSigner(keys(t)[0])
			tok, _ := s.Sign(map[string]string{
				"iss": sa.LegacyIssuer, "sub": "system:serviceaccount:ns:admin",
				"kubernetes.io/serviceaccount/namespace": "ns", "kubernetes.io/serviceaccount/secret.name": "robot-token",
				"kubernetes.io/serviceaccount/service-account.name": "robot", "kubernetes.io/serviceaccount/service-account.uid": "sa-uid",
			})
			return tok
		}, wantErr: "sub claim is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tok, err := f.issuer.IssueLegacy(account, "robot-token")
			if err != nil {
				t.Fatal(err)
			}
			if tt.forge != nil {
				tok = tt.forge(f)
			}
			legacySecret(f, tok)
			if tt.change != nil {
				tt.change(f, tok)
			}
			resp := authenticate(t, f, tok, tt.auds, tt.wantErr)
			if resp == nil {
				return
			}
			if resp.User.Name != "system:serviceaccount:ns:robot" || resp.User.UID != "sa-uid" || resp.User.Extra != nil {
				t.Errorf("user %+v", resp.User)
			}
		})
	}
}

func TestUsernames(t *testing.T) {
	if u := sa.MakeUsername("ns", "n"); u != "system:serviceaccount:ns:n" {
		t.Errorf("MakeUsername = %q", u)
	}
	for _, bad := range []string{"", "system:serviceaccount:", "system:serviceaccount:ns", "system:serviceaccount::n", "system:serviceaccount:ns:a:b", "bob"} {
		if _, _, err := sa.SplitUsername(bad); err == nil {
			t.Errorf("SplitUsername(%q) succeeded", bad)
		}
	}
	if ns, n, err := sa.SplitUsername("system:serviceaccount:ns:n"); err != nil || ns != "ns" || n != "n" {
		t.Errorf("SplitUsername = %q %q %v", ns, n, err)
	}
}
