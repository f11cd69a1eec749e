package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	authreg "capstan/internal/apiserver/registry/authentication"
	"capstan/internal/auth/serviceaccount"
	"capstan/internal/storage"
)

// serveTokenRequest is serviceaccounts/token: a TokenRequest in, the same request with a
// signed bound token in its status out (201), as upstream's TokenREST. Nothing is stored,
// so like upstream it ignores dryRun=All (the request is checked and a token still signed);
// any other dryRun value was refused (422) with the other creates' options.
func (h *resourceHandler) serveTokenRequest(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	if info.Verb != "create" {
		return apierrors.NewMethodNotSupported(schemaGR(authenticationv1.GroupName, "tokenrequests"), info.Verb)
	}
	s := h.s
	tr := &authenticationv1.TokenRequest{}
	if err := s.decodeBody(w, r, authreg.TokenRequestGVK, tr); err != nil {
		return err
	}
	if err := authreg.PrepareTokenRequest(tr, info.Name, info.Namespace); err != nil {
		return err
	}
	obj, err := h.store.Get(ctx, h.key(info.Namespace, info.Name), storage.GetOptions{})
	if err != nil {
		return err
	}
	sa := obj.(*corev1.ServiceAccount)
	if err := authreg.CheckServiceAccountUID(tr, info.Name, sa.UID); err != nil {
		return err
	}
	if len(tr.Spec.Audiences) == 0 {
		tr.Spec.Audiences = s.opts.APIAudiences
	}
	tr.Name, tr.Namespace, tr.UID = sa.Name, sa.Namespace, sa.UID
	tr.CreationTimestamp = metav1.NewTime(s.clock.Now())
	tr.Status = authenticationv1.TokenRequestStatus{}
	if errs := authreg.ValidateTokenRequest(tr); len(errs) > 0 {
		return apierrors.NewInvalid(authreg.TokenRequestGVK.GroupKind(), "", errs)
	}
	bound, err := s.bindToken(ctx, sa, tr.Spec.BoundObjectRef)
	if err != nil {
		return err
	}
	life := authreg.TokenLifetime(*tr.Spec.ExpirationSeconds, s.opts.ServiceAccountMaxTokenExpiration,
		!s.opts.DisableServiceAccountTokenExtension, bound.Pod != nil, tr.Spec.Audiences, s.opts.APIAudiences)
	if life.Warning != "" {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", life.Warning))
	}
	bound.ServiceAccount, bound.Audiences, bound.Lifetime, bound.WarnAfter = sa, tr.Spec.Audiences, life.Token, life.WarnAfter
	token, issued, err := s.tokenIssuer.IssueBound(bound)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err))
	}
	tr.Spec.ExpirationSeconds = ptr.To(int64(life.Granted / time.Second))
	tr.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(issued.Add(life.Granted))}
	s.writeObject(w, r, http.StatusCreated, authenticationv1.SchemeGroupVersion, tr)
	return nil
}

// bindToken reads the object a token is to be bound to (consistently: it may be brand
// new) and returns its reference, and for a pod its node's. The object must exist, have the
// reference's UID when one is given, and a pod must run as the service account.
func (s *Server) bindToken(ctx context.Context, sa *corev1.ServiceAccount, ref *authenticationv1.BoundObjectReference) (serviceaccount.BoundToken, error) {
	var b serviceaccount.BoundToken
	if ref == nil {
		return b, nil
	}
	kind, err := authreg.BoundKind(ref)
	if err != nil {
		return b, err
	}
	get := storeGetter{s: s, consistent: true}
	var uid types.UID
	switch kind {
	case "Pod":
		pod, err := get.GetPod(ctx, sa.Namespace, ref.Name)
		if err != nil {
			return b, err
		}
		if err := authreg.CheckPodServiceAccount(sa.Name, pod.Spec.ServiceAccountName); err != nil {
			return b, err
		}
		uid, b.Pod = pod.UID, &serviceaccount.Ref{Name: pod.Name, UID: string(pod.UID)}
		if pod.Spec.NodeName != "" {
			// The node is named even when it is gone, so the token still tells where the
			// pod was assigned.
			b.Node = &serviceaccount.Ref{Name: pod.Spec.NodeName}
			node, err := storeGetter{s: s}.GetNode(ctx, pod.Spec.NodeName)
			switch {
			case err == nil:
				b.Node.UID = string(node.UID)
			case !apierrors.IsNotFound(err):
				return b, apierrors.NewInternalError(err)
			}
		}
	case "Secret":
		secret, err := get.GetSecret(ctx, sa.Namespace, ref.Name)
		if err != nil {
			return b, err
		}
		uid, b.Secret = secret.UID, &serviceaccount.Ref{Name: secret.Name, UID: string(secret.UID)}
	case "Node":
		node, err := get.GetNode(ctx, ref.Name)
		if err != nil {
			return b, err
		}
		uid, b.Node = node.UID, &serviceaccount.Ref{Name: node.Name, UID: string(node.UID)}
	}
	return b, authreg.CheckBoundUID(ref, uid)
}
