package apiserver

import (
	"context"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"

	authreg "capstan/internal/apiserver/registry/authentication"
	"capstan/internal/auth/authn"
)

// installReviews adds the create-only, never stored authentication.k8s.io/v1 resources:
// tokenreviews and selfsubjectreviews. They have no store; create serves them.
func (s *Server) installReviews() {
	for _, res := range authreg.Reviews() {
		h := &resourceHandler{s: s, res: res, gv: res.GVK.GroupVersion(), verbs: []string{"create"}}
		switch res.Plural {
		case "tokenreviews":
			h.unstored = s.serveTokenReview
		case "selfsubjectreviews":
			h.unstored = s.serveSelfSubjectReview
		default:
			continue
		}
		s.handlers[res.GVK.Group+"/"+res.GVK.Version+"/"+res.Plural] = h
	}
}

// serveTokenReview authenticates the review's token for its audiences (default: the API
// server's) and answers with the outcome (201), as upstream: the error of a rejected token
// goes into status.error, never into the response code.
func (s *Server) serveTokenReview(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	tr := &authenticationv1.TokenReview{}
	if err := s.decodeBody(w, r, authenticationv1.SchemeGroupVersion.WithKind("TokenReview"), tr); err != nil {
		return err
	}
	if err := authreg.CheckTokenReview(tr); err != nil {
		return err
	}
	auds := authreg.ReviewAudiences(tr, s.opts.APIAudiences)
	resp, ok, err := s.authn.AuthenticateToken(authn.WithAudiences(ctx, auds), tr.Spec.Token)
	tr.Status = authreg.TokenReviewStatus(resp, ok, err)
	s.writeObject(w, r, http.StatusCreated, authenticationv1.SchemeGroupVersion, tr)
	return nil
}

// serveSelfSubjectReview tells the caller who the server takes it for (kubectl auth whoami).
func (s *Server) serveSelfSubjectReview(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	in := &authenticationv1.SelfSubjectReview{}
	if err := s.decodeBody(w, r, authenticationv1.SchemeGroupVersion.WithKind("SelfSubjectReview"), in); err != nil {
		return err
	}
	out := authreg.SelfSubjectReview(userFrom(ctx), s.clock.Now())
	s.writeObject(w, r, http.StatusCreated, authenticationv1.SchemeGroupVersion, out)
	return nil
}
