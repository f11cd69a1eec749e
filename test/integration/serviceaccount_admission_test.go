package integration

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	capstantesting "capstan/internal/testing"
)

// TestIntegrationServiceAccountAdmissionRefusesMissingAccounts runs every controller but
// the serviceaccount one, so no namespace has an account until the test makes one.
func TestIntegrationServiceAccountAdmissionRefusesMissingAccounts(t *testing.T) {
	s := lcStartWith(t, "*", "-serviceaccount")
	ctx := t.Context()
	const ns = "sa-admission"
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := func(name, account string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			ServiceAccountName: account, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	}
	for _, tc := range []struct{ name, pod, account, message string }{
		{"a named account that does not exist", "ghost-pod", "ghost",
			`pods "ghost-pod" is forbidden: error looking up service account sa-admission/ghost: serviceaccount "ghost" not found`},
		{"no account before the default one exists", "early-pod", "",
			`pods "early-pod" is forbidden: error looking up service account sa-admission/default: serviceaccount "default" not found`},
	} {
		t.Run(tc.name+" is refused with 403 and nothing is stored", func(t *testing.T) {
			_, err := s.Client.CoreV1().Pods(ns).Create(ctx, pod(tc.pod, tc.account), metav1.CreateOptions{})
			var st apierrors.APIStatus
			if !errors.As(err, &st) {
				t.Fatalf("create: %v, want a Status", err)
			}
			status := st.Status()
			if status.Code != http.StatusForbidden || status.Reason != metav1.StatusReasonForbidden || status.Message != tc.message ||
				status.Details == nil || status.Details.Kind != "pods" || status.Details.Name != tc.pod {
				t.Errorf("status = %+v, want 403 Forbidden %q", status, tc.message)
			}
			if _, err := s.Client.CoreV1().Pods(ns).Get(ctx, tc.pod, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after a refused create: %v, want NotFound", err)
			}
		})
	}

	t.Run("once the accounts exist, the same pods are admitted", func(t *testing.T) {
		capstantesting.CreateDefaultServiceAccount(t, s.Client, ns)
		if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ghost"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for name, account := range map[string]string{"ghost-pod": "ghost", "early-pod": ""} {
			got, err := s.Client.CoreV1().Pods(ns).Create(ctx, pod(name, account), metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := account
			if want == "" {
				want = "default"
			}
			if got.Spec.ServiceAccountName != want || !hasTokenVolume(got) {
				t.Errorf("%s: account %q, volumes %+v; want %q with a token volume", name, got.Spec.ServiceAccountName, got.Spec.Volumes, want)
			}
		}
	})

	t.Run("a mirror pod naming an account is refused", func(t *testing.T) {
		p := pod("static-node1", "default")
		p.Annotations = map[string]string{"kubernetes.io/config.mirror": "abc"}
		_, err := s.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.HasSuffix(err.Error(), "a mirror pod may not reference service accounts") {
			t.Fatalf("create: %v, want Forbidden", err)
		}
	})

	t.Run("a ReplicaSet records FailedCreate and creates its pods once the account exists", func(t *testing.T) {
		const ns = "rs-early"
		if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sel := map[string]string{"app": "early"}
		if _, err := s.Client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "early"},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: wlSpec("img:1")}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		wlEventually(t, "a FailedCreate event", func() error {
			evs, err := s.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=early,reason=FailedCreate"})
			if err != nil {
				return err
			}
			if len(evs.Items) == 0 || !strings.Contains(evs.Items[0].Message, `error looking up service account rs-early/default: serviceaccount "default" not found`) {
				return fmt.Errorf("events %+v", evs.Items)
			}
			return nil
		})
		if pods, err := wlPods(ctx, s.Client, ns, sel); err != nil || len(pods) != 0 {
			t.Fatalf("pods before the account exists: %d, %v", len(pods), err)
		}
		capstantesting.CreateDefaultServiceAccount(t, s.Client, ns)
		wlWaitPods(t, s.Client, ns, sel, 2)
	})
}

func hasTokenVolume(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") {
			return true
		}
	}
	return false
}
