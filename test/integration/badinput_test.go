package integration

import (
	"net/http"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestIntegrationBadInput sends malformed and invalid requests: each gets a clear 4xx
// metav1.Status, never a 500, and writes nothing.
func TestIntegrationBadInput(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	rc := s.Client.CoreV1().RESTClient()
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"x":"` + strings.Repeat("a", 4<<20) + `"}}`
	cases := []struct {
		name, method, path, contentType, body string
		wantCode                              int
		wantReason                            metav1.StatusReason
	}{
		{"malformed JSON", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1",`, 400, metav1.StatusReasonBadRequest},
		{"malformed YAML", "POST", "/api/v1/namespaces/default/configmaps", "application/yaml", "kind: [\n", 400, metav1.StatusReasonBadRequest},
		{"garbage protobuf", "POST", "/api/v1/namespaces/default/configmaps", "application/vnd.kubernetes.protobuf", "k8s\x00\x0a\x02", 400, metav1.StatusReasonBadRequest},
		{"kind not matching the URL", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"apiVersion not matching the URL", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"unknown resource", "GET", "/api/v1/namespaces/default/widgets", "", "", 404, metav1.StatusReasonNotFound},
		{"unknown group", "GET", "/apis/example.com/v1/widgets", "", "", 404, metav1.StatusReasonNotFound},
		{"bad label selector", "GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(", "", "", 400, metav1.StatusReasonBadRequest},
		{"unsupported field selector", "GET", "/api/v1/namespaces/default/configmaps?fieldSelector=spec.foo%3Dbar", "", "", 400, metav1.StatusReasonBadRequest},
		{"body over 3 MiB", "POST", "/api/v1/namespaces/default/configmaps", "application/json", big, 413, metav1.StatusReasonRequestEntityTooLarge},
		{"namespace mismatched with the URL", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}`, 400, metav1.StatusReasonBadRequest},
		{"name mismatched with the URL", "PUT", "/api/v1/namespaces/default/configmaps/one", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"two"}}`, 400, metav1.StatusReasonBadRequest},
		{"invalid name", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`, 422, metav1.StatusReasonInvalid},
		{"invalid label", "POST", "/api/v1/namespaces/default/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a b":"c"}}}`, 422, metav1.StatusReasonInvalid},
		{"pod without containers", "POST", "/api/v1/namespaces/default/pods", "application/json", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[]}}`, 422, metav1.StatusReasonInvalid},
		{"unknown field with strict validation", "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"bogus":1}`, 400, metav1.StatusReasonBadRequest},
		{"unsupported media type", "POST", "/api/v1/namespaces/default/configmaps", "text/plain", `hello`, 415, metav1.StatusReasonUnsupportedMediaType},
		{"missing namespace", "POST", "/api/v1/namespaces/nope/configmaps", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 404, metav1.StatusReasonNotFound},
		{"malformed JSON patch", "PATCH", "/api/v1/namespaces/default/configmaps/kept", "application/json-patch+json", `[{"op":`, 400, metav1.StatusReasonBadRequest},
		{"unsupported patch type", "PATCH", "/api/v1/namespaces/default/configmaps/kept", "application/foo-patch+json", `{}`, 415, metav1.StatusReasonUnsupportedMediaType},
		{"patch of a missing object", "PATCH", "/api/v1/namespaces/default/configmaps/missing", "application/merge-patch+json", `{}`, 404, metav1.StatusReasonNotFound},
		{"bad resourceVersion", "GET", "/api/v1/namespaces/default/configmaps?resourceVersion=abc", "", "", 400, metav1.StatusReasonBadRequest},
		{"resourceVersionMatch without resourceVersion", "GET", "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact", "", "", 422, metav1.StatusReasonInvalid},
		{"bad continue token", "GET", "/api/v1/namespaces/default/configmaps?limit=1&continue=%21%21", "", "", 400, metav1.StatusReasonBadRequest},
		{"empty body", "POST", "/api/v1/namespaces/default/configmaps", "application/json", "", 400, metav1.StatusReasonBadRequest},
	}
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1ConfigMap, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Client.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			req := rc.Verb(tc.method).AbsPath(pathOnly(tc.path))
			for k, vs := range queryOf(tc.path) {
				for _, v := range vs {
					req = req.Param(k, v)
				}
			}
			if tc.body != "" || tc.method != "GET" {
				req = req.Body([]byte(tc.body)).SetHeader("Content-Type", tc.contentType)
			}
			res := req.Do(ctx)
			var code int
			res.StatusCode(&code)
			err := res.Error()
			if code != tc.wantCode {
				t.Fatalf("status %d (%v), want %d", code, err, tc.wantCode)
			}
			if reason := apierrors.ReasonForError(err); reason != tc.wantReason {
				t.Errorf("reason %q (%v), want %q", reason, err, tc.wantReason)
			}
		})
	}
	after, err := s.Client.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// (The root CA publisher adds kube-root-ca.crt to namespaces meanwhile: not counted.)
	if b, a := cmNames(before.Items), cmNames(after.Items); len(a) != len(b) {
		t.Errorf("bad requests wrote objects: configmaps %v before, %v after", b, a)
	}
	// Unauthenticated clients get 401 except on the health and version endpoints.
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	for path, want := range map[string]int{"/api/v1/namespaces": 401, "/healthz": 200, "/livez": 200, "/readyz?verbose": 200, "/version": 200} {
		resp, err := anon.Get(strings.TrimSuffix(s.Config.Host, "/") + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("anonymous GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
