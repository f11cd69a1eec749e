package integration

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	capstantesting "capstan/internal/testing"
)

func TestIntegrationNamespacesGetDefaultAccountAndRootCA(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"default", "kube-system", "fresh"} {
		lcWait(t, "default service account in "+ns, func() (bool, error) {
			_, err := s.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, err
		})
		lcWait(t, "kube-root-ca.crt in "+ns, func() (bool, error) {
			cm, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err == nil && len(cm.Data["ca.crt"]) > 0, err
		})
	}

	// Deleted or edited, both come back.
	if err := s.Client.CoreV1().ServiceAccounts("fresh").Delete(ctx, "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := s.Client.CoreV1().ConfigMaps("fresh").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := cm.Data["ca.crt"]
	cm.Data["ca.crt"] = "tampered"
	if _, err := s.Client.CoreV1().ConfigMaps("fresh").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lcWait(t, "the default service account to come back", func() (bool, error) {
		_, err := s.Client.CoreV1().ServiceAccounts("fresh").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	lcWait(t, "the CA bundle to be restored", func() (bool, error) {
		cm, err := s.Client.CoreV1().ConfigMaps("fresh").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err == nil && cm.Data["ca.crt"] == want, err
	})
}

func TestIntegrationDeletingANamespaceEmptiesAndRemovesIt(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	const ns = "doomed"
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	capstantesting.WaitForDefaultServiceAccount(t, s.Client, ns)
	for i := range 3 {
		name := fmt.Sprintf("obj-%d", i)
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// One object holds the namespace with a finalizer until the test releases it.
	held, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	if _, stderr, err := s.Kubectl("", "delete", "namespace", ns, "--wait=false"); err != nil {
		t.Fatalf("kubectl delete ns: %v: %s", err, stderr)
	}
	lcWait(t, "the namespace to report the finalizer that holds it", func() (bool, error) {
		n, err := s.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NamespaceFinalizersRemaining && c.Status == corev1.ConditionTrue &&
				c.Message == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances" {
				return n.Status.Phase == corev1.NamespaceTerminating, nil
			}
		}
		return false, nil
	})
	for what, list := range map[string]func() (int, error){
		"configmaps": func() (int, error) {
			l, err := s.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"secrets": func() (int, error) {
			l, err := s.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"services": func() (int, error) {
			l, err := s.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"pods": func() (int, error) {
			l, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
	} {
		want := 0
		if what == "configmaps" {
			want = 1 // the held one
		}
		if n, err := list(); err != nil || n != want {
			t.Errorf("%s left in the terminating namespace: %d (%v), want %d", what, n, err, want)
		}
	}

	// Release it: `kubectl delete ns` now returns once the namespace is gone.
	held, err = s.Client.CoreV1().ConfigMaps(ns).Get(ctx, held.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	held.Finalizers = nil
	if _, err := s.Client.CoreV1().ConfigMaps(ns).Update(ctx, held, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := s.Kubectl("", "delete", "namespace", ns, "--timeout=20s", "--ignore-not-found"); err != nil {
		t.Fatalf("kubectl delete ns: %v: %s", err, stderr)
	}
	if _, err := s.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace still there after kubectl delete returned: %v", err)
	}
}
