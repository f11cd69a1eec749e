package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/scheduler/framework"
	"capstan/internal/scheduler/plugins/volumebinding"
)

// maxEventMessage bounds FailedScheduling messages, as upstream truncates them.
const maxEventMessage = 32 * 1024

// bind posts the pods/binding subresource for an assumed pod. On failure the assumption is
// undone and the pod requeued with backoff.
func (s *Scheduler) bind(ctx context.Context, fw *framework.Framework, qpi *framework.QueuedPodInfo, assumed *corev1.Pod, claims []*corev1.PersistentVolumeClaim, start time.Time) {
	bstart := s.clock.Now()
	err := s.selectNodeForClaims(ctx, claims, assumed.Spec.NodeName)
	if err == nil {
		err = s.client.CoreV1().Pods(assumed.Namespace).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: assumed.Namespace, Name: assumed.Name, UID: assumed.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: assumed.Spec.NodeName},
		}, metav1.CreateOptions{})
	}
	s.metrics.bindDuration.Observe(s.clock.Since(bstart).Seconds())
	if err != nil {
		if ferr := s.cache.ForgetPod(assumed); ferr != nil {
			s.log.Error("forgetting assumed pod", "pod", assumed.Namespace+"/"+assumed.Name, "err", ferr)
		}
		// The node has room again for whatever this pod was keeping out.
		s.queue.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodDelete, assumed, nil, nil)
		s.metrics.attempts.WithLabelValues("error", fw.ProfileName()).Inc()
		s.metrics.attemptDuration.WithLabelValues("error", fw.ProfileName()).Observe(s.clock.Since(start).Seconds())
		qpi.UnschedulablePlugins, qpi.PendingPlugins = nil, nil
		s.handleFailure(ctx, fw, qpi, fmt.Errorf("binding rejected: %w", err), corev1.PodReasonSchedulerError, "", start)
		return
	}
	s.cache.FinishBinding(assumed)
	s.queue.Done(assumed.UID)
	s.metrics.attempts.WithLabelValues("scheduled", fw.ProfileName()).Inc()
	s.metrics.attemptDuration.WithLabelValues("scheduled", fw.ProfileName()).Observe(s.clock.Since(start).Seconds())
	s.metrics.podAttempts.Observe(float64(qpi.Attempts))
	s.metrics.podSLIDuration.WithLabelValues(attemptsLabel(qpi.Attempts)).Observe(s.clock.Since(qpi.InitialAttemptTimestamp).Seconds())
	s.recorders[fw.ProfileName()].Eventf(assumed, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, assumed.Spec.NodeName)
}

func attemptsLabel(n int) string {
	if n >= 15 {
		return "15+"
	}
	return strconv.Itoa(n)
}

// handleFailure requeues a pod whose attempt failed (unless it was deleted or bound
// meanwhile), records the nomination, emits FailedScheduling and sets PodScheduled=False.
func (s *Scheduler) handleFailure(ctx context.Context, fw *framework.Framework, qpi *framework.QueuedPodInfo, err error, reason, nominated string, _ time.Time) {
	pod := qpi.Pod
	cur, gerr := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	if gerr != nil || cur.UID != pod.UID || cur.Spec.NodeName != "" {
		s.queue.Done(pod.UID)
		return
	}
	if cur != pod {
		qpi.PodInfo = framework.NewPodInfo(cur)
	}
	if err := s.queue.AddUnschedulableIfNotPresent(qpi); err != nil {
		s.log.Debug("requeueing pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
	if nominated != "" {
		s.queue.AddNominatedPod(qpi.PodInfo, nominated)
	}
	msg := err.Error()
	if len(msg) > maxEventMessage {
		msg = msg[:maxEventMessage-3] + "..."
	}
	s.recorders[fw.ProfileName()].Eventf(cur, corev1.EventTypeWarning, "FailedScheduling", "%s", msg)
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		if err := s.setUnscheduled(ctx, cur, reason, msg, nominated); err != nil && ctx.Err() == nil {
			s.log.Error("updating pod status", "pod", cur.Namespace+"/"+cur.Name, "err", err)
		}
	}()
}

// setUnscheduled patches the PodScheduled=False condition (and nominatedNodeName) unless
// the pod already says exactly that.
func (s *Scheduler) setUnscheduled(ctx context.Context, pod *corev1.Pod, reason, msg, nominated string) error {
	var existing *corev1.PodCondition
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodScheduled {
			existing = &pod.Status.Conditions[i]
		}
	}
	nominationChanges := nominated != "" && nominated != pod.Status.NominatedNodeName
	if existing != nil && existing.Status == corev1.ConditionFalse && existing.Reason == reason && existing.Message == msg && !nominationChanges {
		return nil
	}
	transition := metav1.NewTime(s.clock.Now())
	if existing != nil && existing.Status == corev1.ConditionFalse {
		transition = existing.LastTransitionTime
	}
	status := map[string]any{
		"conditions": []any{map[string]any{
			"type":               corev1.PodScheduled,
			"status":             corev1.ConditionFalse,
			"reason":             reason,
			"message":            msg,
			"lastProbeTime":      nil,
			"lastTransitionTime": transition.UTC().Format(time.RFC3339),
		}},
	}
	if nominationChanges {
		status["nominatedNodeName"] = nominated
	}
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	return err
}

// selectNodeForClaims records the chosen node on claims a provisioner will provision
// (volume.kubernetes.io/selected-node), as upstream's volume binding does before binding.
func (s *Scheduler) selectNodeForClaims(ctx context.Context, claims []*corev1.PersistentVolumeClaim, node string) error {
	for _, pvc := range claims {
		body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{volumebinding.SelectedNodeAnnotation: node}}})
		if err != nil {
			return err
		}
		if _, err := s.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Patch(ctx, pvc.Name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("selecting node for claim %s/%s: %w", pvc.Namespace, pvc.Name, err)
		}
	}
	return nil
}
