package authentication

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry/registrytest"
	"capstan/internal/auth/authn"
)

// code is the HTTP status of an API error (0 for nil).
func code(err error) int32 {
	if err == nil {
		return 0
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return st.Status().Code
	}
	return -1
}

func TestPrepareTokenRequest(t *testing.T) {
	tests := []struct {
		name     string
		meta     metav1.ObjectMeta
		exp      *int64
		wantCode int32
		wantExp  int64
	}{
		{name: "an empty request gets an hour", wantExp: 3600},
		{name: "the URL's name and namespace may be repeated", meta: metav1.ObjectMeta{Name: "robot", Namespace: "ns"}, exp: ptr.To[int64](700), wantExp: 700},
		{name: "another name is invalid", meta: metav1.ObjectMeta{Name: "other"}, wantCode: http.StatusUnprocessableEntity},
		{name: "another namespace is invalid", meta: metav1.ObjectMeta{Namespace: "other"}, wantCode: http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &authenticationv1.TokenRequest{ObjectMeta: tt.meta, Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: tt.exp}}
			err := PrepareTokenRequest(tr, "robot", "ns")
			if code(err) != tt.wantCode {
				t.Fatalf("err = %v, want code %d", err, tt.wantCode)
			}
			if err == nil && *tr.Spec.ExpirationSeconds != tt.wantExp {
				t.Errorf("expirationSeconds = %d, want %d", *tr.Spec.ExpirationSeconds, tt.wantExp)
			}
		})
	}
}

func TestValidateTokenRequest(t *testing.T) {
	tests := []struct {
		name string
		spec authenticationv1.TokenRequestSpec
		want []registrytest.WantErr
	}{
		{name: "ten minutes is enough", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}},
		{name: "2^32 seconds is the most", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1 << 32)}},
		{name: "less than ten minutes is invalid", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](599)},
			want: []registrytest.WantErr{{Path: "spec.expirationSeconds", Type: field.ErrorTypeInvalid}}},
		{name: "zero is invalid", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](0)},
			want: []registrytest.WantErr{{Path: "spec.expirationSeconds", Type: field.ErrorTypeInvalid}}},
		{name: "no expiration at all is invalid", spec: authenticationv1.TokenRequestSpec{},
			want: []registrytest.WantErr{{Path: "spec.expirationSeconds", Type: field.ErrorTypeInvalid}}},
		{name: "more than 2^32 seconds is invalid", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1<<32 + 1)},
			want: []registrytest.WantErr{{Path: "spec.expirationSeconds", Type: field.ErrorTypeInvalid}}},
		{name: "attestations are invalid without a webhook binding", spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600),
			Attestations: map[string]authenticationv1.AttestationValue{"admissionReviewAPIGroups": {"apps"}}},
			want: []registrytest.WantErr{{Path: "spec.attestations", Type: field.ErrorTypeInvalid}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registrytest.CheckErrs(t, ValidateTokenRequest(&authenticationv1.TokenRequest{Spec: tt.spec}), tt.want...)
		})
	}
}

func TestBoundObjectChecks(t *testing.T) {
	kinds := []struct {
		apiVersion, kind string
		want             string
		wantCode         int32
	}{
		{"v1", "Pod", "Pod", 0},
		{"v1", "Secret", "Secret", 0},
		{"v1", "Node", "Node", 0},
		{"", "Pod", "Pod", 0},
		{"v1", "ConfigMap", "", http.StatusBadRequest},
		{"apps/v1", "Deployment", "", http.StatusBadRequest},
		{"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", http.StatusBadRequest},
		{"example.com/v1", "Pod", "", http.StatusBadRequest},
		{"v1", "", "", http.StatusBadRequest},
	}
	for _, k := range kinds {
		got, err := BoundKind(&authenticationv1.BoundObjectReference{APIVersion: k.apiVersion, Kind: k.kind, Name: "x"})
		if got != k.want || code(err) != k.wantCode {
			t.Errorf("BoundKind(%s %s) = %q %v, want %q code %d", k.apiVersion, k.kind, got, err, k.want, k.wantCode)
		}
	}
	ref := &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "a"}
	if err := CheckBoundUID(ref, "a"); err != nil {
		t.Errorf("matching UID: %v", err)
	}
	if err := CheckBoundUID(ref, "b"); code(err) != http.StatusConflict {
		t.Errorf("other UID: %v, want 409", err)
	}
	if err := CheckBoundUID(&authenticationv1.BoundObjectReference{Kind: "Pod", Name: "web"}, "b"); err != nil {
		t.Errorf("no UID in the reference: %v", err)
	}
	if err := CheckPodServiceAccount("robot", "default"); code(err) != http.StatusBadRequest {
		t.Errorf("pod of another account: %v, want 400", err)
	}
	tr := &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{UID: "old"}}
	if err := CheckServiceAccountUID(tr, "robot", "new"); code(err) != http.StatusConflict {
		t.Errorf("request for another incarnation: %v, want 409", err)
	}
	if err := CheckServiceAccountUID(&authenticationv1.TokenRequest{}, "robot", "new"); err != nil {
		t.Errorf("request without UID: %v", err)
	}
}

func TestTokenLifetime(t *testing.T) {
	api := []string{"https://kubernetes.default.svc.cluster.local"}
	tests := []struct {
		name     string
		exp      int64
		max      time.Duration
		extend   bool
		podBound bool
		auds     []string
		want     Lifetime
	}{
		{name: "the asked-for lifetime is granted", exp: 3600, auds: api, want: Lifetime{Granted: time.Hour, Token: time.Hour}},
		{name: "a maximum shortens the request with a warning", exp: 7200, max: time.Hour, auds: api,
			want: Lifetime{Granted: time.Hour, Token: time.Hour, Warning: "requested expiration of 7200 seconds shortened to 3600 seconds"}},
		{name: "the kubelet's pod tokens are extended", exp: 3607, extend: true, podBound: true, auds: api,
			want: Lifetime{Granted: 3607 * time.Second, Token: 365 * 24 * time.Hour, WarnAfter: 3607 * time.Second}},
		{name: "tokens not bound to a pod are not extended", exp: 3607, extend: true, auds: api,
			want: Lifetime{Granted: 3607 * time.Second, Token: 3607 * time.Second}},
		{name: "tokens for other audiences are not extended", exp: 3607, extend: true, podBound: true, auds: []string{"vault"},
			want: Lifetime{Granted: 3607 * time.Second, Token: 3607 * time.Second}},
		{name: "nothing is extended when extension is off", exp: 3607, podBound: true, auds: api,
			want: Lifetime{Granted: 3607 * time.Second, Token: 3607 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenLifetime(tt.exp, tt.max, tt.extend, tt.podBound, tt.auds, api); got != tt.want {
				t.Errorf("TokenLifetime = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReviews(t *testing.T) {
	if err := CheckTokenReview(&authenticationv1.TokenReview{}); code(err) != http.StatusBadRequest {
		t.Errorf("review without token: %v, want 400", err)
	}
	if err := CheckTokenReview(&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "t"}}); err != nil {
		t.Errorf("review with token: %v", err)
	}
	api := []string{"api"}
	if got := ReviewAudiences(&authenticationv1.TokenReview{}, api); !slices.Equal(got, api) {
		t.Errorf("default audiences %v", got)
	}
	own := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Audiences: []string{"vault"}}}
	if got := ReviewAudiences(own, api); !slices.Equal(got, []string{"vault"}) {
		t.Errorf("own audiences %v", got)
	}
	u := authn.User{Name: "n", UID: "u", Groups: []string{"g"}, Extra: map[string][]string{"k": {"v"}}}
	st := TokenReviewStatus(&authn.Response{User: u, Audiences: api}, true, nil)
	if !st.Authenticated || st.User.Username != "n" || st.User.UID != "u" || len(st.User.Extra["k"]) != 1 || !slices.Equal(st.Audiences, api) {
		t.Errorf("status %+v", st)
	}
	st = TokenReviewStatus(nil, false, errors.New("[invalid bearer token, expired]"))
	if st.Authenticated || st.Error != "[invalid bearer token, expired]" || st.User.Username != "" {
		t.Errorf("failed status %+v", st)
	}
	now := time.Unix(100, 0)
	ssr := SelfSubjectReview(u, now)
	if ssr.Status.UserInfo.Username != "n" || !ssr.CreationTimestamp.Time.Equal(now) {
		t.Errorf("self review %+v", ssr)
	}
	if r := Reviews(); len(r) != 2 || r[0].Plural != "selfsubjectreviews" || r[1].Namespaced {
		t.Errorf("Reviews() = %+v", r)
	}
}
