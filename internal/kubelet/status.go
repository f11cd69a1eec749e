package kubelet

import (
	"context"
	"encoding/json"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/kubelet/podsync"
)

// startTime is when the kubelet first accepted the pod: the reported startTime when the
// API has one (it survives agent restarts), else the first time this kubelet saw it.
func (k *Kubelet) startTime(pod *corev1.Pod) time.Time {
	api := k.apiStatusPod(pod)
	k.mu.Lock()
	defer k.mu.Unlock()
	if api.Status.StartTime != nil {
		return api.Status.StartTime.Time
	}
	if t, ok := k.started[pod.UID]; ok {
		return t
	}
	t := k.clock.Now()
	k.started[pod.UID] = t
	return t
}

// apiStatusPod is the API object that carries the pod's status: the pod itself, or the
// mirror pod of a static pod (or the static pod alone while it has no mirror), at the
// newest version the kubelet knows (its own last write or the informer's).
func (k *Kubelet) apiStatusPod(pod *corev1.Pod) *corev1.Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	target := pod
	if isStatic(pod) {
		if m := k.mirrors[pod.UID]; m != nil {
			target = m
		} else {
			target = pod.DeepCopy()
			target.Status = k.staticStatus[pod.UID]
			return target
		}
	} else if p := k.pods[pod.UID]; p != nil {
		target = p
	}
	if last := k.posted[target.UID]; last != nil && newerRV(last.ResourceVersion, target.ResourceVersion) {
		return last
	}
	return target
}

func newerRV(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

// postStatus computes the pod's status from the runtime and writes it to the API when it
// changed.
func (k *Kubelet) postStatus(ctx context.Context, pod *corev1.Pod, rt *podRuntime, w *podWorker, terminal bool, reason, message string) {
	api := k.apiStatusPod(pod)
	in := pod.DeepCopy()
	in.Status = api.Status
	in.Generation = api.Generation
	status := podsync.ComputeStatus(podsync.StatusInput{
		Pod: in, Runtime: &rt.Runtime, Probes: k.probes.Results(pod.UID), Waiting: w.waiting,
		RuntimeName: k.runtimeName, HostIPs: k.hostIPs(),
		StartTime: metav1.NewTime(k.startTime(pod)), Now: metav1.NewTime(k.clock.Now()),
		Terminal: terminal, Reason: reason, Message: message,
	})
	k.fillTerminationMessages(&status, rt)
	if isStatic(pod) {
		k.mu.Lock()
		k.staticStatus[pod.UID] = status
		k.mu.Unlock()
		if api.UID == pod.UID {
			return // no mirror pod yet
		}
	}
	if sameStatus(api.Status, status) {
		return
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": api.UID},
		"status":   statusPatch(api.Status, status),
	})
	if err != nil {
		return
	}
	updated, err := k.client.CoreV1().Pods(api.Namespace).Patch(ctx, api.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			k.log.Warn("updating pod status", "pod", podRef(api), "err", err)
		}
		return
	}
	k.mu.Lock()
	k.posted[updated.UID] = updated
	k.mu.Unlock()
}

// statusPatch is a JSON merge patch from old to new: new's fields, and null for the
// fields old had that new has not (lists are replaced whole by a merge patch).
func statusPatch(old, new corev1.PodStatus) map[string]any {
	var o, n map[string]any
	ob, _ := json.Marshal(old)
	nb, _ := json.Marshal(new)
	_ = json.Unmarshal(ob, &o)
	_ = json.Unmarshal(nb, &n)
	for key := range o {
		if _, ok := n[key]; !ok {
			n[key] = nil
		}
	}
	return n
}

// sameStatus compares statuses as the API stores them (times in whole seconds).
func sameStatus(a, b corev1.PodStatus) bool {
	var x, y corev1.PodStatus
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	_ = json.Unmarshal(ab, &x)
	_ = json.Unmarshal(bb, &y)
	return reflect.DeepEqual(x, y)
}

func (k *Kubelet) forgetStatus(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.posted, uid)
	delete(k.staticStatus, uid)
}

// fillTerminationMessages puts the message a container wrote to its termination-message
// file (or the tail of its log, by policy) into its terminated states.
func (k *Kubelet) fillTerminationMessages(s *corev1.PodStatus, rt *podRuntime) {
	fill := func(t *corev1.ContainerStateTerminated) {
		if t == nil || t.ContainerID == "" {
			return
		}
		id := t.ContainerID[len(k.runtimeName)+3:]
		if msg, ok := k.terminationMessage(id, rt, t.ExitCode); ok {
			t.Message = msg
		}
	}
	for _, list := range [][]corev1.ContainerStatus{s.InitContainerStatuses, s.ContainerStatuses} {
		for i := range list {
			fill(list[i].State.Terminated)
			fill(list[i].LastTerminationState.Terminated)
		}
	}
}
