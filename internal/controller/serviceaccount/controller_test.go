package serviceaccount

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestSyncCreatesDefaultAccountOnlyInActiveNamespaces(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		ns      string
		want    bool
	}{
		{"an active namespace without one gets it", []runtime.Object{ns("a", corev1.NamespaceActive, nil)}, "a", true},
		{"a terminating namespace gets none", []runtime.Object{ns("b", corev1.NamespaceTerminating, &now)}, "b", false},
		{"a missing namespace is ignored", nil, "c", false},
		{"an existing account is kept", []runtime.Object{ns("d", corev1.NamespaceActive, nil),
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "d", Labels: map[string]string{"keep": "me"}}}}, "d", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := fake.NewClientset(tc.objects...)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Options{Client: client, Informers: f})
			if err != nil {
				t.Fatal(err)
			}
			f.Start(t.Context().Done())
			f.WaitForCacheSync(t.Context().Done())
			if err := c.sync(t.Context(), tc.ns); err != nil {
				t.Fatal(err)
			}
			sa, err := client.CoreV1().ServiceAccounts(tc.ns).Get(t.Context(), "default", metav1.GetOptions{})
			if got := err == nil; got != tc.want {
				t.Fatalf("default account exists = %v, want %v (err %v)", got, tc.want, err)
			}
			if tc.name == "an existing account is kept" && sa.Labels["keep"] != "me" {
				t.Errorf("existing account was replaced: %+v", sa.ObjectMeta)
			}
		})
	}
}

func ns(name string, phase corev1.NamespacePhase, deleted *metav1.Time) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, DeletionTimestamp: deleted, CreationTimestamp: metav1.NewTime(time.Unix(0, 0))},
		Status: corev1.NamespaceStatus{Phase: phase}}
}
