package apiserver

import (
	"context"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/auth/authn"
	"capstan/internal/auth/jwt"
	"capstan/internal/auth/serviceaccount"
	"capstan/internal/storage"
)

// userInfo is an authenticated identity.
type userInfo = authn.User

type userKey struct{}

func withUser(ctx context.Context, u userInfo) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom returns the request's user; the zero value when none.
func userFrom(ctx context.Context) userInfo {
	u, _ := ctx.Value(userKey{}).(userInfo)
	return u
}

// setupAuthentication builds the request authenticator (internal/auth/authn): client
// certificates always; bearer service-account tokens when a service-account key signs or
// verifies them. With a signing key the server also issues tokens (serviceaccounts/token).
func (s *Server) setupAuthentication() error {
	o := &s.opts
	if len(o.ServiceAccountIssuers) == 0 {
		o.ServiceAccountIssuers = []string{serviceaccount.DefaultIssuer}
	}
	if len(o.APIAudiences) == 0 {
		o.APIAudiences = o.ServiceAccountIssuers
	}
	if o.ServiceAccountKey != nil {
		issuer, err := serviceaccount.NewIssuer(serviceaccount.IssuerOptions{
			Issuer: o.ServiceAccountIssuers[0], Key: o.ServiceAccountKey, Clock: s.clock,
		})
		if err != nil {
			return fmt.Errorf("apiserver: %w", err)
		}
		s.tokenIssuer = issuer
		s.serviceAccountKeys = append(s.serviceAccountKeys, issuer.PublicKey())
	}
	for _, k := range o.ServiceAccountPublicKeys {
		pk, err := jwt.NewPublicKey(k)
		if err != nil {
			return fmt.Errorf("apiserver: service-account key: %w", err)
		}
		s.serviceAccountKeys = append(s.serviceAccountKeys, pk)
	}
	var tokens authn.Token
	if len(s.serviceAccountKeys) > 0 {
		sa, err := serviceaccount.NewAuthenticator(serviceaccount.AuthenticatorOptions{
			Issuers: o.ServiceAccountIssuers, Keys: s.serviceAccountKeys, APIAudiences: o.APIAudiences,
			Getter: storeGetter{s: s}, Clock: s.clock,
		})
		if err != nil {
			return fmt.Errorf("apiserver: %w", err)
		}
		tokens = sa
	}
	s.authn = authn.New(authn.Options{Tokens: tokens})
	return nil
}

// authenticate identifies the client. A rejected credential is logged (at debug: clients
// with stale tokens are common) and answered 401 like no credential.
func (s *Server) authenticate(r *http.Request) (userInfo, bool) {
	resp, ok, err := s.authn.AuthenticateRequest(r)
	if err != nil {
		s.logger.Debug("unable to authenticate the request", "err", err, "path", r.URL.Path)
	}
	if !ok {
		return userInfo{}, false
	}
	return resp.User, true
}

// storeGetter reads what service-account tokens name. The authenticator's reads come from
// the watch caches, falling back to a consistent read for objects the cache does not have
// yet (created a moment ago), as upstream's token getter falls back from its informers to
// the API; with consistent set every read is consistent (issuing tokens).
type storeGetter struct {
	s          *Server
	consistent bool
}

func (g storeGetter) get(ctx context.Context, handler, ns, name string) (runtime.Object, error) {
	h := g.s.handlers[handler]
	if h == nil || h.store == nil {
		return nil, apierrors.NewNotFound(registryGR(handler), name)
	}
	key := h.key(ns, name)
	if !g.consistent {
		obj, err := h.store.Get(ctx, key, storage.GetOptions{ResourceVersion: "0"})
		if !apierrors.IsNotFound(err) {
			return obj, err
		}
	}
	return h.store.Get(ctx, key, storage.GetOptions{})
}

func getAs[T runtime.Object](g storeGetter, ctx context.Context, handler, ns, name string) (T, error) {
	obj, err := g.get(ctx, handler, ns, name)
	if err != nil {
		var zero T
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		return t, fmt.Errorf("apiserver: %s %s/%s is a %T", handler, ns, name, obj)
	}
	return t, nil
}

func (g storeGetter) GetServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	return getAs[*corev1.ServiceAccount](g, ctx, "/v1/serviceaccounts", ns, name)
}

func (g storeGetter) GetPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	return getAs[*corev1.Pod](g, ctx, "/v1/pods", ns, name)
}

func (g storeGetter) GetSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return getAs[*corev1.Secret](g, ctx, "/v1/secrets", ns, name)
}

func (g storeGetter) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	return getAs[*corev1.Node](g, ctx, "/v1/nodes", "", name)
}
