package integration

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"capstan/internal/auth/jwt"
	"capstan/internal/pki"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

const defaultIssuer = "https://kubernetes.default.svc.cluster.local"

// bearerClient is a client that authenticates with token only (no client certificate).
func bearerClient(t *testing.T, s *capstantesting.Server, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = token
	return kubernetes.NewForConfigOrDie(cfg)
}

// whoami asks the server who the token is (a SelfSubjectReview).
func whoami(t *testing.T, s *capstantesting.Server, token string) (authenticationv1.UserInfo, error) {
	t.Helper()
	r, err := bearerClient(t, s, token).AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// claimsOf decodes a token's payload.
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	p, err := jwt.Parse(token)
	if err != nil {
		t.Fatalf("parsing token: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(p.Payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntegrationServiceAccountTokens(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	admin := s.Client
	sa, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod, err := admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podRef := &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web", UID: pod.UID}
	before := time.Now().Truncate(time.Second)
	tr, err := admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: podRef},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	token := tr.Status.Token

	t.Run("the token request is answered with an hour-long bound token", func(t *testing.T) {
		exp := tr.Status.ExpirationTimestamp.Time
		if exp.Before(before.Add(time.Hour)) || exp.After(time.Now().Add(time.Hour+time.Second)) {
			t.Errorf("expirationTimestamp %v, want about an hour from now", exp)
		}
		if tr.Name != "robot" || tr.Namespace != "default" || *tr.Spec.ExpirationSeconds != 3600 || !slices.Equal(tr.Spec.Audiences, []string{defaultIssuer}) {
			t.Errorf("answer %+v", tr)
		}
		c := claimsOf(t, token)
		k, _ := c["kubernetes.io"].(map[string]any)
		podClaim, _ := k["pod"].(map[string]any)
		saClaim, _ := k["serviceaccount"].(map[string]any)
		if c["iss"] != defaultIssuer || c["sub"] != "system:serviceaccount:default:robot" || k["namespace"] != "default" ||
			podClaim["uid"] != string(pod.UID) || saClaim["uid"] != string(sa.UID) || c["jti"] == nil || c["nbf"] == nil {
			t.Errorf("claims %v", c)
		}
	})

	t.Run("the token authenticates as the service account", func(t *testing.T) {
		if _, err := bearerClient(t, s, token).CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatalf("listing pods with the token: %v", err)
		}
		u, err := whoami(t, s, token)
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "system:serviceaccount:default:robot" || u.UID != string(sa.UID) ||
			!slices.Equal(u.Groups, []string{"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"}) ||
			!slices.Equal(u.Extra["authentication.kubernetes.io/pod-name"], []string{"web"}) ||
			!slices.Equal(u.Extra["authentication.kubernetes.io/pod-uid"], []string{string(pod.UID)}) {
			t.Errorf("whoami = %+v", u)
		}
	})

	t.Run("a token review reports the token's user and audiences", func(t *testing.T) {
		rev := review(t, s, token, nil)
		if !rev.Authenticated || rev.User.Username != "system:serviceaccount:default:robot" ||
			!slices.Contains(rev.User.Groups, "system:authenticated") || !slices.Equal(rev.Audiences, []string{defaultIssuer}) || rev.Error != "" {
			t.Errorf("review %+v", rev)
		}
		rev = review(t, s, token, []string{"vault"})
		if rev.Authenticated || !strings.Contains(rev.Error, "invalid for the target audiences") {
			t.Errorf("review for another audience %+v", rev)
		}
		rev = review(t, s, "not-a-token", nil)
		if rev.Authenticated || rev.Error != "invalid bearer token" {
			t.Errorf("review of garbage %+v", rev)
		}
	})

	t.Run("OIDC discovery documents parse and their keys verify the token", func(t *testing.T) {
		body := getRaw(t, admin, "/.well-known/openid-configuration")
		var doc struct {
			Issuer  string   `json:"issuer"`
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
			Types   []string `json:"response_types_supported"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if doc.Issuer != defaultIssuer || !strings.HasPrefix(doc.JWKSURI, "https://127.0.0.1:") || !strings.HasSuffix(doc.JWKSURI, "/openid/v1/jwks") ||
			!slices.Equal(doc.Algs, []string{"RS256"}) || !slices.Equal(doc.Types, []string{"id_token"}) {
			t.Errorf("discovery document %s", body)
		}
		var set jwt.JWKS
		if err := json.Unmarshal(getRaw(t, admin, "/openid/v1/jwks"), &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("key set %+v: %v", set, err)
		}
		key, err := set.Keys[0].PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := jwt.Parse(token)
		if err := p.Verify([]jwt.PublicKey{key}); err != nil {
			t.Errorf("the published key does not verify the token: %v", err)
		}
		// The documents are for authenticated users only.
		if code, _ := anonymousGet(t, s, "/openid/v1/jwks", ""); code != http.StatusUnauthorized {
			t.Errorf("anonymous GET of the key set: %d, want 401", code)
		}
		if code, _ := anonymousGet(t, s, "/.well-known/openid-configuration", token); code != http.StatusOK {
			t.Errorf("a service account's GET of discovery: %d, want 200", code)
		}
	})

	t.Run("bad bearer tokens are 401 Unauthorized statuses", func(t *testing.T) {
		parts := strings.Split(token, ".")
		for name, bad := range map[string]string{
			"garbage":          "garbage",
			"a forged payload": parts[0] + "." + parts[2] + "." + parts[2],
			"a cut signature":  parts[0] + "." + parts[1] + "." + parts[2][:10],
		} {
			code, body := anonymousGet(t, s, "/api/v1/namespaces/default/pods", bad)
			if code != http.StatusUnauthorized || !strings.Contains(body, `"reason":"Unauthorized"`) {
				t.Errorf("%s: %d %s, want a 401 Status", name, code, body)
			}
		}
	})

	t.Run("kubectl create token issues a usable token", func(t *testing.T) {
		out, errOut, err := s.Kubectl("", "create", "token", "robot", "--duration=20m", "--audience="+defaultIssuer)
		if err != nil {
			t.Fatalf("kubectl create token: %v: %s", err, errOut)
		}
		tok := strings.TrimSpace(out)
		c := claimsOf(t, tok)
		iat, _ := c["iat"].(float64)
		exp, _ := c["exp"].(float64)
		if exp-iat != 1200 {
			t.Errorf("lifetime %v s, want 1200", exp-iat)
		}
		kubeconfig := filepath.Join(t.TempDir(), "token.yaml")
		caPEM, _ := os.ReadFile(s.Config.CAFile)
		if len(caPEM) == 0 {
			caPEM = s.Config.CAData
		}
		if err := pki.WriteKubeconfig(kubeconfig, pki.KubeconfigSpec{Server: s.Config.Host, CAPEM: caPEM, Token: tok}, 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, err = s.KubectlWithEnv([]string{"KUBECONFIG=" + kubeconfig}, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		if err != nil || out != "system:serviceaccount:default:robot" {
			t.Errorf("kubectl auth whoami with the token: %q %v %s", out, err, errOut)
		}
	})

	t.Run("deleting the bound pod invalidates the token", func(t *testing.T) {
		if err := admin.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		poll(t, 20*time.Second, "the token to be rejected", func() bool {
			_, err := whoami(t, s, token)
			return apierrors.IsUnauthorized(err)
		})
		rev := review(t, s, token, nil)
		if rev.Authenticated || rev.Error != "[invalid bearer token, service account token has been invalidated]" {
			t.Errorf("review after deletion %+v", rev)
		}
	})
}

// review runs a TokenReview as admin.
func review(t *testing.T, s *capstantesting.Server, token string, auds []string) authenticationv1.TokenReviewStatus {
	t.Helper()
	r, err := s.Client.AuthenticationV1().TokenReviews().Create(t.Context(), &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: auds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenReview: %v", err)
	}
	if r.Spec.Token != token {
		t.Errorf("the review does not echo its spec: %+v", r.Spec)
	}
	return r.Status
}

// getRaw GETs a non-resource path as the client.
func getRaw(t *testing.T, c kubernetes.Interface, path string) []byte {
	t.Helper()
	body, err := c.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return body
}

// anonymousGet GETs path without client certificate, with a bearer token when given.
func anonymousGet(t *testing.T, s *capstantesting.Server, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.Config.Host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// tokenRequestCode is the HTTP status of a token request (0 when it succeeds).
func tokenRequestCode(t *testing.T, s *capstantesting.Server, account string, tr *authenticationv1.TokenRequest) int32 {
	t.Helper()
	_, err := s.Client.CoreV1().ServiceAccounts("default").CreateToken(t.Context(), account, tr, metav1.CreateOptions{})
	if err == nil {
		return 0
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		t.Fatalf("%s: not an API error: %v", account, err)
	}
	return st.Status().Code
}

func TestIntegrationServiceAccountTokenBadRequests(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	admin := s.Client
	if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "other-account"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := func(f func(*authenticationv1.TokenRequestSpec)) *authenticationv1.TokenRequest {
		tr := &authenticationv1.TokenRequest{}
		f(&tr.Spec)
		return tr
	}
	ref := func(apiVersion, kind, name, uid string) func(*authenticationv1.TokenRequestSpec) {
		return func(s *authenticationv1.TokenRequestSpec) {
			s.BoundObjectRef = &authenticationv1.BoundObjectReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID(uid)}
		}
	}
	tests := []struct {
		name    string
		account string
		req     *authenticationv1.TokenRequest
		want    int32
	}{
		{"a plain request succeeds", "robot", &authenticationv1.TokenRequest{}, 0},
		{"a missing service account is 404", "nobody", &authenticationv1.TokenRequest{}, http.StatusNotFound},
		{"less than ten minutes is 422", "robot", spec(func(s *authenticationv1.TokenRequestSpec) { s.ExpirationSeconds = ptr.To[int64](599) }), http.StatusUnprocessableEntity},
		{"more than 2^32 seconds is 422", "robot", spec(func(s *authenticationv1.TokenRequestSpec) { s.ExpirationSeconds = ptr.To[int64](1<<32 + 1) }), http.StatusUnprocessableEntity},
		{"attestations are 422", "robot", spec(func(s *authenticationv1.TokenRequestSpec) {
			s.Attestations = map[string]authenticationv1.AttestationValue{"admissionReviewAPIGroups": {"apps"}}
		}), http.StatusUnprocessableEntity},
		{"another name in the body is 422", "robot", &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, http.StatusUnprocessableEntity},
		{"another incarnation of the account is 409", "robot", &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{UID: "stale"}}, http.StatusConflict},
		{"binding to a ConfigMap is 400", "robot", spec(ref("v1", "ConfigMap", "x", "")), http.StatusBadRequest},
		{"binding to a missing pod is 404", "robot", spec(ref("v1", "Pod", "missing", "")), http.StatusNotFound},
		{"binding to a missing secret is 404", "robot", spec(ref("v1", "Secret", "missing", "")), http.StatusNotFound},
		{"binding to a missing node is 404", "robot", spec(ref("v1", "Node", "missing", "")), http.StatusNotFound},
		{"binding to a pod of another account is 400", "robot", spec(ref("v1", "Pod", pod.Name, "")), http.StatusBadRequest},
		{"binding to a pod with another UID is 409", "default", spec(ref("v1", "Pod", pod.Name, "stale")), http.StatusConflict},
		{"binding to the pod with its UID succeeds", "default", spec(ref("v1", "Pod", pod.Name, string(pod.UID))), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokenRequestCode(t, s, tt.account, tt.req); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}

	raw := []struct {
		name, method, path, body string
		want                     int
	}{
		{"GET of the token subresource is 405", "GET", "/api/v1/namespaces/default/serviceaccounts/robot/token", "", http.StatusMethodNotAllowed},
		{"a token request that is not JSON is 400", "POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", "{", http.StatusBadRequest},
		{"a token request of another kind is 400", "POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", `{"apiVersion":"v1","kind":"Pod"}`, http.StatusBadRequest},
		{"a token review without token is 400", "POST", "/apis/authentication.k8s.io/v1/tokenreviews", `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{}}`, http.StatusBadRequest},
		{"an empty token review body is 400", "POST", "/apis/authentication.k8s.io/v1/tokenreviews", "", http.StatusBadRequest},
		{"listing token reviews is 405", "GET", "/apis/authentication.k8s.io/v1/tokenreviews", "", http.StatusMethodNotAllowed},
		{"a named token review is 404", "POST", "/apis/authentication.k8s.io/v1/tokenreviews/x", `{}`, http.StatusNotFound},
		{"a namespaced token review is 404", "POST", "/apis/authentication.k8s.io/v1/namespaces/default/tokenreviews", `{}`, http.StatusNotFound},
		{"a self subject review of another kind is 400", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", `{"apiVersion":"v1","kind":"Pod"}`, http.StatusBadRequest},
		{"writing the discovery document is 405", "POST", "/.well-known/openid-configuration", "{}", http.StatusMethodNotAllowed},
	}
	for _, tt := range raw {
		t.Run(tt.name, func(t *testing.T) {
			res := admin.CoreV1().RESTClient().Verb(tt.method).AbsPath(tt.path).SetHeader("Content-Type", "application/json").Body([]byte(tt.body)).Do(ctx)
			var code int
			res.StatusCode(&code)
			if code != tt.want {
				raw, _ := res.Raw()
				t.Errorf("status %d, want %d: %s", code, tt.want, raw)
			}
		})
	}

	t.Run("a dry-run token request is validated and answered like any other", func(t *testing.T) {
		// Upstream's TokenREST does not look at dryRun: it stores nothing either way, so a
		// dry run still signs the token it would issue.
		dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
		tr, err := admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", &authenticationv1.TokenRequest{}, dry)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := whoami(t, s, tr.Status.Token); err != nil || u.Username != "system:serviceaccount:default:robot" {
			t.Errorf("the dry-run token is %+v, %v; want the robot account", u, err)
		}
		_, err = admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", spec(func(s *authenticationv1.TokenRequestSpec) { s.ExpirationSeconds = ptr.To[int64](599) }), dry)
		if !apierrors.IsInvalid(err) {
			t.Errorf("a dry run of an invalid request: %v, want 422", err)
		}
		if _, err := admin.CoreV1().ServiceAccounts("default").CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{}, dry); !apierrors.IsNotFound(err) {
			t.Errorf("a dry run for a missing account: %v, want 404", err)
		}
		err = admin.CoreV1().RESTClient().Post().AbsPath("/api/v1/namespaces/default/serviceaccounts/robot/token").Param("dryRun", "Some").
			SetHeader("Content-Type", "application/json").Body([]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest"}`)).Do(ctx).Error()
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Some"]: supported values: "All"`) {
			t.Errorf("an unknown dryRun: %v, want 422 as for any create", err)
		}
	})

	t.Run("pods mount a token volume unless they or their account opt out", func(t *testing.T) {
		if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{
			ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, AutomountServiceAccountToken: ptr.To(false),
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, account string
			automount     *bool
			want          bool
		}{
			{"mounted", "default", nil, true},
			{"account-opts-out", "quiet", nil, false},
			{"pod-opts-in", "quiet", ptr.To(true), true},
			{"pod-opts-out", "default", ptr.To(false), false},
		} {
			p, err := admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: tt.name},
				Spec: corev1.PodSpec{ServiceAccountName: tt.account, AutomountServiceAccountToken: tt.automount,
					Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mounted := len(p.Spec.Volumes) == 1 && strings.HasPrefix(p.Spec.Volumes[0].Name, "kube-api-access-") &&
				len(p.Spec.Containers[0].VolumeMounts) == 1 && p.Spec.Containers[0].VolumeMounts[0].MountPath == "/var/run/secrets/kubernetes.io/serviceaccount"
			if mounted != tt.want || (!tt.want && len(p.Spec.Volumes) != 0) {
				t.Errorf("%s: volumes %+v mounts %+v, want mounted=%v", tt.name, p.Spec.Volumes, p.Spec.Containers[0].VolumeMounts, tt.want)
			}
		}
	})

	t.Run("discovery lists the token subresource and the reviews", func(t *testing.T) {
		core, err := admin.Discovery().ServerResourcesForGroupVersion("v1")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range core.APIResources {
			if r.Name == "serviceaccounts/token" {
				found = r.Kind == "TokenRequest" && r.Group == "authentication.k8s.io" && slices.Equal(r.Verbs, []string{"create"})
			}
		}
		if !found {
			t.Error("v1 does not list serviceaccounts/token as a create-only TokenRequest")
		}
		authn, err := admin.Discovery().ServerResourcesForGroupVersion("authentication.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range authn.APIResources {
			if !r.Namespaced && slices.Equal(r.Verbs, []string{"create"}) {
				names = append(names, r.Name)
			}
		}
		if !slices.Equal(names, []string{"selfsubjectreviews", "tokenreviews"}) {
			t.Errorf("authentication.k8s.io/v1 resources %v", names)
		}
	})
}

func TestIntegrationServiceAccountTokenOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		o.ServiceAccount.Issuers = []string{"https://issuer.example/cluster", defaultIssuer}
		o.ServiceAccount.MaxTokenExpiration = 20 * time.Minute
	})
	ctx := t.Context()
	tr, err := s.Client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, tr.Status.Token)
	iat, _ := c["iat"].(float64)
	exp, _ := c["exp"].(float64)
	if c["iss"] != "https://issuer.example/cluster" || exp-iat != 1200 || *tr.Spec.ExpirationSeconds != 1200 {
		t.Errorf("iss %v, lifetime %v s (%d), want the first issuer and the 20 min maximum", c["iss"], exp-iat, *tr.Spec.ExpirationSeconds)
	}
	if aud, _ := c["aud"].([]any); len(aud) != 2 {
		t.Errorf("aud %v, want both issuers (the API audiences)", c["aud"])
	}
	if _, err := whoami(t, s, tr.Status.Token); err != nil {
		t.Errorf("the token of the first issuer: %v", err)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(getRaw(t, s.Client, "/.well-known/openid-configuration"), &doc); err != nil || doc.Issuer != "https://issuer.example/cluster" {
		t.Errorf("discovery issuer %q %v", doc.Issuer, err)
	}
}

func TestIntegrationLegacyServiceAccountTokenSecrets(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	admin := s.Client
	sa, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "legacy"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var secret *corev1.Secret
	poll(t, 20*time.Second, "the token controller to fill the secret", func() bool {
		secret, err = admin.CoreV1().Secrets("default").Get(ctx, "legacy-token", metav1.GetOptions{})
		return err == nil && len(secret.Data["token"]) > 0
	})
	caPEM := s.Config.CAData
	if len(caPEM) == 0 {
		caPEM, _ = os.ReadFile(s.Config.CAFile)
	}
	if string(secret.Data["namespace"]) != "default" || string(secret.Data["ca.crt"]) != string(caPEM) ||
		secret.Annotations[corev1.ServiceAccountUIDKey] != string(sa.UID) {
		t.Errorf("secret data keys %v, annotations %v", maps.Keys(secret.Data), secret.Annotations)
	}
	token := string(secret.Data["token"])
	c := claimsOf(t, token)
	if c["iss"] != "kubernetes/serviceaccount" || c["kubernetes.io/serviceaccount/secret.name"] != "legacy-token" || c["exp"] != nil {
		t.Errorf("legacy claims %v", c)
	}
	u, err := whoami(t, s, token)
	if err != nil || u.Username != "system:serviceaccount:default:legacy" || u.UID != string(sa.UID) {
		t.Fatalf("whoami with the legacy token: %+v %v", u, err)
	}
	if err := admin.CoreV1().Secrets("default").Delete(ctx, "legacy-token", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 20*time.Second, "the legacy token to be rejected", func() bool {
		_, err := whoami(t, s, token)
		return apierrors.IsUnauthorized(err)
	})

	t.Run("the secret of a deleted account is deleted", func(t *testing.T) {
		if _, err := admin.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "orphan", Annotations: map[string]string{corev1.ServiceAccountNameKey: "legacy"}},
			Type:       corev1.SecretTypeServiceAccountToken,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := admin.CoreV1().ServiceAccounts("default").Delete(ctx, "legacy", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, 20*time.Second, "the orphaned token secret to go", func() bool {
			_, err := admin.CoreV1().Secrets("default").Get(ctx, "orphan", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	})
}
