package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ndPlainPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func TestIntegrationResourceQuotaAndLimitRange(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	ndNamespace(t, s, "quota")
	pods := s.Client.CoreV1().Pods("quota")
	if _, err := s.Client.CoreV1().ResourceQuotas("quota").Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "small"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2"), corev1.ResourceConfigMaps: resource.MustParse("10")}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		q, err := s.Client.CoreV1().ResourceQuotas("quota").Get(ctx, "small", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if used, ok := q.Status.Used[corev1.ResourcePods]; !ok || !used.IsZero() {
			return fmt.Errorf("quota status %+v: want pods used 0", q.Status)
		}
		return nil
	})
	// Concurrent creates: exactly two of five fit.
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = pods.Create(ctx, ndPlainPod(fmt.Sprintf("p%d", i)), metav1.CreateOptions{})
		}()
	}
	wg.Wait()
	created, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			created++
		case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: small, requested: pods=1, used: pods=2, limited: pods=2"):
			refused++
		default:
			t.Errorf("create: %v", err)
		}
	}
	if created != 2 || refused != 3 {
		t.Fatalf("%d pods created and %d refused with upstream's message, want 2 and 3", created, refused)
	}
	q, _ := s.Client.CoreV1().ResourceQuotas("quota").Get(ctx, "small", metav1.GetOptions{})
	if used := q.Status.Used[corev1.ResourcePods]; used.Value() != 2 {
		t.Errorf("quota used pods %s after two creates, want 2", used.String())
	}
	// A refused create does not keep its charge; deleting a pod frees its place.
	list, _ := pods.List(ctx, metav1.ListOptions{})
	if err := pods.Delete(ctx, list.Items[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		_, err := pods.Create(ctx, ndPlainPod("after-delete"), metav1.CreateOptions{})
		return err
	})

	// A quota on cpu requires every container to request it.
	if _, err := s.Client.CoreV1().ResourceQuotas("quota").Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "cpu"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1")}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "after-delete", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		_, err := pods.Create(ctx, ndPlainPod("no-requests"), metav1.CreateOptions{})
		if err == nil {
			return fmt.Errorf("a pod without cpu requests was admitted under a cpu quota")
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "failed quota: cpu: must specify requests.cpu for: app") {
			return err
		}
		return nil
	})

	// A LimitRange default fills the container's requests and limits.
	if _, err := s.Client.CoreV1().LimitRanges("quota").Create(ctx, &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
			Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("300m")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")},
			Max:            corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Create(ctx, ndPlainPod("defaulted"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := p.Spec.Containers[0].Resources
	if got := res.Requests.Cpu().String() + "/" + res.Limits.Cpu().String(); got != "200m/300m" {
		t.Errorf("defaulted pod cpu request/limit %s, want 200m/300m", got)
	}
	if p.Annotations["kubernetes.io/limit-ranger"] != "LimitRanger plugin set: cpu request for container app; cpu limit for container app" {
		t.Errorf("limit-ranger annotation %q", p.Annotations["kubernetes.io/limit-ranger"])
	}
	_, err = pods.Create(ctx, ndPlainPod("too-big", func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	}), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pods "too-big" is forbidden: maximum cpu usage per Container is 1, but limit is 2`) {
		t.Errorf("a pod over the LimitRange max: %v", err)
	}
	q, _ = s.Client.CoreV1().ResourceQuotas("quota").Get(ctx, "cpu", metav1.GetOptions{})
	if used := q.Status.Used[corev1.ResourceRequestsCPU]; used.String() != "200m" {
		t.Errorf("cpu quota used %s, want the defaulted pod's 200m", used.String())
	}

	// Object counts of any resource: the controller counts them, admission refuses more.
	if _, err := s.Client.CoordinationV1().Leases("quota").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "first"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().ResourceQuotas("quota").Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "leases"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/leases.coordination.k8s.io": resource.MustParse("2")}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		q, err := s.Client.CoreV1().ResourceQuotas("quota").Get(ctx, "leases", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if used, ok := q.Status.Used["count/leases.coordination.k8s.io"]; !ok || used.Value() != 1 {
			return fmt.Errorf("lease quota status %+v: want 1 used", q.Status)
		}
		return nil
	})
	if _, err := s.Client.CoordinationV1().Leases("quota").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "second"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("the second lease under a quota of 2: %v", err)
	}
	_, err = s.Client.CoordinationV1().Leases("quota").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "third"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota: leases, requested: count/leases.coordination.k8s.io=1, used: count/leases.coordination.k8s.io=2, limited: count/leases.coordination.k8s.io=2") {
		t.Errorf("the third lease: %v", err)
	}

	// Claims are checked against PersistentVolumeClaim items.
	if _, err := s.Client.CoreV1().LimitRanges("quota").Create(ctx, &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "storage"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePersistentVolumeClaim,
			Max: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim := func(name, size string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}}}
	}
	if _, err := s.Client.CoreV1().PersistentVolumeClaims("quota").Create(ctx, claim("small", "500Mi"), metav1.CreateOptions{}); err != nil {
		t.Errorf("a claim within the LimitRange: %v", err)
	}
	_, err = s.Client.CoreV1().PersistentVolumeClaims("quota").Create(ctx, claim("big", "2Gi"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi") {
		t.Errorf("a claim over the LimitRange max: %v", err)
	}
}
