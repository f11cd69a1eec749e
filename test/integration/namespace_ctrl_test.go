package integration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
