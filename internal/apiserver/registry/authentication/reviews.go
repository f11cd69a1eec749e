package authentication

import (
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/apiserver/registry"
	"capstan/internal/auth/authn"
)

// Reviews are the create-only, never stored authentication.k8s.io/v1 resources:
// selfsubjectreviews and tokenreviews. They are not storage resources (no list kind), so
// they are not in the store's resource list; the API server serves them itself.
func Reviews() []registry.Resource {
	gv := authenticationv1.SchemeGroupVersion
	return []registry.Resource{
		{GVK: gv.WithKind("SelfSubjectReview"), Plural: "selfsubjectreviews", Singular: "selfsubjectreview"},
		{GVK: gv.WithKind("TokenReview"), Plural: "tokenreviews", Singular: "tokenreview"},
	}
}

// CheckTokenReview refuses a review without a token, as upstream.
func CheckTokenReview(tr *authenticationv1.TokenReview) error {
	if tr.Spec.Token == "" {
		return apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	return nil
}

// ReviewAudiences are the audiences a review checks the token for: its own, else the API
// server's.
func ReviewAudiences(tr *authenticationv1.TokenReview, apiAudiences []string) []string {
	if len(tr.Spec.Audiences) > 0 {
		return tr.Spec.Audiences
	}
	return apiAudiences
}

// TokenReviewStatus is a review's answer for an authentication's outcome.
func TokenReviewStatus(resp *authn.Response, ok bool, err error) authenticationv1.TokenReviewStatus {
	st := authenticationv1.TokenReviewStatus{Authenticated: ok}
	if err != nil {
		st.Error = err.Error()
	}
	if ok && resp != nil {
		st.User = UserInfo(resp.User)
		st.Audiences = resp.Audiences
	}
	return st
}

// SelfSubjectReview answers who the caller is.
func SelfSubjectReview(u authn.User, now time.Time) *authenticationv1.SelfSubjectReview {
	return &authenticationv1.SelfSubjectReview{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now)},
		Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: UserInfo(u)},
	}
}

// UserInfo is the API form of a user.
func UserInfo(u authn.User) authenticationv1.UserInfo {
	info := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			info.Extra[k] = v
		}
	}
	return info
}
