package serviceaccounttoken

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeIssuer signs "token:<account uid>:<secret>".
type fakeIssuer struct{}

func (fakeIssuer) IssueLegacy(sa *corev1.ServiceAccount, secret string) (string, error) {
	return "token:" + string(sa.UID) + ":" + secret, nil
}

const rootCA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"

func account(name, uid string, secrets ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + uid)}}
	for _, s := range secrets {
		sa.Secrets = append(sa.Secrets, corev1.ObjectReference{Name: s})
	}
	return sa
}

func tokenSecret(name, accountName, uid string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "secret-uid",
			Annotations: map[string]string{corev1.ServiceAccountNameKey: accountName}},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	if uid != "" {
		s.Annotations[corev1.ServiceAccountUIDKey] = "uid-" + uid
	}
	if data != nil {
		s.Data = map[string][]byte{}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
	}
	return s
}

func TestSync(t *testing.T) {
	t.Parallel()
	filled := map[string]string{"token": "token:uid-1:tok", "ca.crt": rootCA, "namespace": "ns"}
	tests := []struct {
		name    string
		objects []runtime.Object
		key     string
		// want is the data the secret ends with; nil: the secret is gone.
		want map[string]string
		// wantRefs are the secrets the account "robot" still lists, when checked.
		wantRefs []string
	}{
		{name: "a new token secret is filled in", key: "ns/tok",
			objects: []runtime.Object{account("robot", "1"), tokenSecret("tok", "robot", "", nil)}, want: filled},
		{name: "a secret with the account's UID is filled in", key: "ns/tok",
			objects: []runtime.Object{account("robot", "1"), tokenSecret("tok", "robot", "1", nil)}, want: filled},
		{name: "a filled secret keeps its token", key: "ns/tok",
			objects: []runtime.Object{account("robot", "1"), tokenSecret("tok", "robot", "1", map[string]string{"token": "kept", "ca.crt": rootCA, "namespace": "ns"})},
			want:    map[string]string{"token": "kept", "ca.crt": rootCA, "namespace": "ns"}},
		{name: "a stale CA is replaced without a new token", key: "ns/tok",
			objects: []runtime.Object{account("robot", "1"), tokenSecret("tok", "robot", "1", map[string]string{"token": "kept", "ca.crt": "old", "namespace": "ns"})},
			want:    map[string]string{"token": "kept", "ca.crt": rootCA, "namespace": "ns"}},
		{name: "the secret of a missing account is deleted", key: "ns/tok",
			objects: []runtime.Object{tokenSecret("tok", "robot", "", nil)}},
		{name: "the secret of a recreated account is deleted", key: "ns/tok",
			objects: []runtime.Object{account("robot", "2"), tokenSecret("tok", "robot", "1", map[string]string{"token": "old"})}},
		{name: "other secrets are left alone", key: "ns/tok",
			objects: []runtime.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "tok", Annotations: map[string]string{corev1.ServiceAccountNameKey: "robot"}},
				Data: map[string][]byte{"x": []byte("y")}}},
			want: map[string]string{"x": "y"}},
		{name: "a deleted secret leaves its account's list", key: "ns/gone",
			objects:  []runtime.Object{account("robot", "1", "gone", "other")},
			wantRefs: []string{"other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := fake.NewClientset(tt.objects...)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Options{Client: client, Informers: f, Issuer: fakeIssuer{}, RootCA: []byte(rootCA)})
			if err != nil {
				t.Fatal(err)
			}
			f.Start(t.Context().Done())
			f.WaitForCacheSync(t.Context().Done())
			if err := c.sync(t.Context(), tt.key); err != nil {
				t.Fatal(err)
			}
			if tt.wantRefs != nil {
				sa, err := client.CoreV1().ServiceAccounts("ns").Get(t.Context(), "robot", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range sa.Secrets {
					got = append(got, r.Name)
				}
				if len(got) != len(tt.wantRefs) || got[0] != tt.wantRefs[0] {
					t.Errorf("account lists %v, want %v", got, tt.wantRefs)
				}
				return
			}
			s, err := client.CoreV1().Secrets("ns").Get(t.Context(), "tok", metav1.GetOptions{})
			if tt.want == nil {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("secret still there (err %v): %+v", err, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Data) != len(tt.want) {
				t.Errorf("data %v, want %v", s.Data, tt.want)
			}
			for k, v := range tt.want {
				if string(s.Data[k]) != v {
					t.Errorf("data[%s] = %q, want %q", k, s.Data[k], v)
				}
			}
			if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountUIDKey] != "uid-1" {
				t.Errorf("uid annotation %q", s.Annotations[corev1.ServiceAccountUIDKey])
			}
		})
	}
}

func TestNewNeedsAnIssuer(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	_, err := New(Options{Client: client, Informers: informers.NewSharedInformerFactory(client, 0)})
	if err == nil {
		t.Fatal("New without issuer succeeded")
	}
}
