package testing

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/controllermanager"
	"capstan/internal/server"
)

// WaitForDefaultServiceAccount waits (up to a minute) for the "default" service account
// of namespace, as upstream's e2e framework does before it uses a new namespace: the
// serviceaccount controller makes it moments after the namespace, and until then the
// ServiceAccount admission plugin refuses pods that name no account.
func WaitForDefaultServiceAccount(t testing.TB, c kubernetes.Interface, namespace string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := c.CoreV1().ServiceAccounts(namespace).Get(t.Context(), "default", metav1.GetOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("waiting for the default service account of namespace %s: %v", namespace, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runsServiceAccountController reports whether the server makes namespaces' default
// accounts; when it does, the harness hands the server over once "default" has its
// account, so tests may create pods there at once.
func runsServiceAccountController(opts server.Options) bool {
	if opts.DisableControllerManager {
		return false
	}
	selected, err := controllermanager.Select(controllermanager.All(), opts.Controllers)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(selected, func(c controllermanager.Controller) bool { return c.Name == "serviceaccount-controller" })
}

// CreateDefaultServiceAccount makes the "default" service account of namespace, for
// servers that run without the serviceaccount controller; one that exists already is
// fine.
func CreateDefaultServiceAccount(t testing.TB, c kubernetes.Interface, namespace string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := c.CoreV1().ServiceAccounts(namespace).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the default service account of namespace %s: %v", namespace, err)
	}
}
