package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/scheduler/framework"
)

// preempt carries out a preemption decision: victims get the DisruptionTarget condition
// and are deleted (with a Preempted event), and lower-priority pods nominated to the same
// node lose their nomination. It runs in the background; the preemptor waits in the queue
// until the victims are gone.
func (s *Scheduler) preempt(ctx context.Context, fw *framework.Framework, preemptor *corev1.Pod, result *framework.PostFilterResult) {
	s.metrics.preemptAttempts.Inc()
	s.metrics.preemptVictims.Observe(float64(len(result.Victims)))
	node := result.NominatedNodeName
	var demoted []*corev1.Pod
	prio := framework.PodPriority(preemptor)
	for _, pi := range s.queue.NominatedPodsForNode(node) {
		if pi.Pod.UID != preemptor.UID && framework.PodPriority(pi.Pod) < prio {
			demoted = append(demoted, pi.Pod)
			s.queue.DeleteNominatedPod(pi.Pod)
		}
	}
	rec := s.recorders[fw.ProfileName()]
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		for _, v := range result.Victims {
			if err := s.evict(ctx, preemptor, v); err != nil {
				if ctx.Err() == nil {
					s.log.Error("preempting pod", "victim", v.Namespace+"/"+v.Name, "preemptor", preemptor.Namespace+"/"+preemptor.Name, "err", err)
				}
				continue
			}
			rec.Eventf(v, corev1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
		}
		for _, p := range demoted {
			body := []byte(`{"status":{"nominatedNodeName":null}}`)
			if _, err := s.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status"); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
				s.log.Error("clearing nominated node", "pod", p.Namespace+"/"+p.Name, "err", err)
			}
		}
	}()
}

// evict marks the victim DisruptionTarget=True (PreemptionByScheduler) and deletes it.
func (s *Scheduler) evict(ctx context.Context, preemptor, victim *corev1.Pod) error {
	cond := map[string]any{
		"type":               corev1.DisruptionTarget,
		"status":             corev1.ConditionTrue,
		"reason":             corev1.PodReasonPreemptionByScheduler,
		"message":            fmt.Sprintf("%s: preempting to accommodate a higher priority pod", preemptor.Spec.SchedulerName),
		"lastTransitionTime": s.clock.Now().UTC().Format(time.RFC3339),
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []any{cond}}})
	if err != nil {
		return err
	}
	pods := s.client.CoreV1().Pods(victim.Namespace)
	if _, err := pods.Patch(ctx, victim.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status"); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	err = pods.Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &victim.UID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
