package disruption

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
)

// staleTimeout is how long a DisruptionTarget condition may stand on a pod whose
// deletion never came (the eviction or taint eviction failed after marking it).
const staleTimeout = 2 * time.Minute

// staleDisruption reports whether the pod carries a DisruptionTarget=True condition
// without being deleted, and how long until it counts as stale (0: now).
func staleDisruption(pod *corev1.Pod, now time.Time) (bool, time.Duration) {
	if pod.DeletionTimestamp != nil {
		return false, 0
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return true, max(c.LastTransitionTime.Add(staleTimeout).Sub(now), 0)
		}
	}
	return false, 0
}

// stalePodChanged queues pods with a DisruptionTarget condition for the stale check.
func (c *Controller) stalePodChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if has, _ := staleDisruption(pod, c.opts.Clock.Now()); has {
		c.stale.Enqueue(pod)
	}
}

// syncStale clears a stale DisruptionTarget condition (status False).
func (c *Controller) syncStale(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.opts.Clock.Now()
	has, wait := staleDisruption(pod, now)
	switch {
	case !has:
		return nil
	case wait > 0:
		return base.RequeueAfter(wait)
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(now),
	}}}})
	_, err = c.opts.Client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("clearing the DisruptionTarget condition of pod %s: %w", key, err)
	}
	return nil
}
