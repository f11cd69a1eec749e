package core

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testSecret(mutate ...func(*corev1.Secret)) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default", CreationTimestamp: testCreated},
		Data:       map[string][]byte{"user": []byte("admin")},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func TestSecretDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an untyped secret becomes Opaque", func(t *testing.T) {
		t.Parallel()
		s := testSecret()
		secretStrategy{}.Default(s)
		if s.Type != corev1.SecretTypeOpaque {
			t.Errorf("type = %q", s.Type)
		}
	})
	t.Run("stringData is folded into data and wins", func(t *testing.T) {
		t.Parallel()
		s := testSecret(func(s *corev1.Secret) { s.StringData = map[string]string{"user": "root", "password": "pw"} })
		secretStrategy{}.Default(s)
		if string(s.Data["user"]) != "root" || string(s.Data["password"]) != "pw" || s.StringData != nil {
			t.Errorf("data = %q, stringData = %q", s.Data, s.StringData)
		}
	})
	t.Run("stringData alone creates data", func(t *testing.T) {
		t.Parallel()
		s := testSecret(func(s *corev1.Secret) { s.Data = nil; s.StringData = map[string]string{"k": "v"} })
		secretStrategy{}.Default(s)
		if string(s.Data["k"]) != "v" {
			t.Errorf("data = %q", s.Data)
		}
	})
}

func TestSecretValidation(t *testing.T) {
	t.Parallel()
	typed := func(tp corev1.SecretType, data map[string][]byte) func(*corev1.Secret) {
		return func(s *corev1.Secret) { s.Type, s.Data = tp, data }
	}
	tests := []struct {
		name   string
		mutate func(*corev1.Secret)
		want   []string
	}{
		{"an Opaque secret is valid", func(*corev1.Secret) {}, nil},
		{"keys must be configmap keys", func(s *corev1.Secret) { s.Data["a b"] = nil }, []string{"Invalid value data[a b]"}},
		{"data may not exceed 1 MiB", func(s *corev1.Secret) { s.Data["big"] = []byte(strings.Repeat("x", corev1.MaxSecretSize)) },
			[]string{"Too long data"}},
		{"a custom type needs nothing", typed("example.com/token", nil), nil},
		{"a service account token needs the account annotation", typed(corev1.SecretTypeServiceAccountToken, nil),
			[]string{"Required value metadata.annotations[kubernetes.io/service-account.name]"}},
		{"a service account token with the annotation is valid", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeServiceAccountToken
			s.Annotations = map[string]string{corev1.ServiceAccountNameKey: "default"}
		}, nil},
		{"a dockercfg secret needs .dockercfg", typed(corev1.SecretTypeDockercfg, nil), []string{"Required value data[.dockercfg]"}},
		{"a dockerconfigjson secret needs valid JSON", typed(corev1.SecretTypeDockerConfigJson,
			map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}), []string{"Invalid value data[.dockerconfigjson]"}},
		{"a dockerconfigjson secret with a JSON object is valid", typed(corev1.SecretTypeDockerConfigJson,
			map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}), nil},
		{"basic auth needs a username or a password", typed(corev1.SecretTypeBasicAuth, nil),
			[]string{"Required value data[password]", "Required value data[username]"}},
		{"basic auth with only a password is valid", typed(corev1.SecretTypeBasicAuth, map[string][]byte{"password": nil}), nil},
		{"ssh auth needs a private key", typed(corev1.SecretTypeSSHAuth, map[string][]byte{"ssh-privatekey": nil}),
			[]string{"Required value data[ssh-privatekey]"}},
		{"tls needs both the certificate and the key", typed(corev1.SecretTypeTLS, map[string][]byte{"tls.crt": []byte("c")}),
			[]string{"Required value data[tls.key]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, secretStrategy{}, testSecret(tt.mutate)), tt.want...)
		})
	}
}

func TestSecretUpdate(t *testing.T) {
	t.Parallel()
	immutable := func(s *corev1.Secret) { s.Immutable = ptr.To(true) }
	tests := []struct {
		name   string
		old    func(*corev1.Secret)
		mutate func(*corev1.Secret)
		want   []string
	}{
		{"data may change", func(*corev1.Secret) {}, func(s *corev1.Secret) { s.Data["user"] = []byte("root") }, nil},
		{"the type may not change", func(*corev1.Secret) {}, func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			s.Data = map[string][]byte{"username": nil}
		}, []string{"Invalid value type"}},
		{"an update without type defaults to Opaque and so changes it", func(s *corev1.Secret) { s.Type = "example.com/x" },
			func(s *corev1.Secret) { s.Type = "" }, []string{"Invalid value type"}},
		{"an immutable secret may not change data", immutable, func(s *corev1.Secret) { s.StringData = map[string]string{"user": "x"} },
			[]string{"Forbidden data"}},
		{"an immutable secret may not become mutable", immutable, func(s *corev1.Secret) { s.Immutable = ptr.To(false) },
			[]string{"Forbidden immutable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := testSecret(tt.old)
			secretStrategy{}.Default(old)
			s := old.DeepCopy()
			tt.mutate(s)
			expectErrs(t, updateErrs(t, secretStrategy{}, s, old), tt.want...)
		})
	}
}

func TestSecretTableAndFields(t *testing.T) {
	t.Parallel()
	res := secretsResource()
	if got := columnNames(res.Table); !slices.Equal(got, []string{"Name", "Type", "Data", "Age"}) {
		t.Fatalf("columns = %v", got)
	}
	s := testSecret(func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS; s.Data["tls.key"] = nil })
	expectRow(t, res.Table, s, testNow, "creds", "kubernetes.io/tls", int64(2), "90m")
	if got := res.Fields(s); len(got) != 1 || got["type"] != "kubernetes.io/tls" {
		t.Errorf("fields = %v", got)
	}
}
