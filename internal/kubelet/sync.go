package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet/podspec"
	"capstan/internal/kubelet/podsync"
)

// retryAfterError is how soon a sync that failed on the runtime or the API is retried.
const retryAfterError = 2 * time.Second

// syncWorker runs one sync of a pod and tells when to sync again, or that the pod is
// gone from the runtime and the worker may stop.
func (k *Kubelet) syncWorker(ctx context.Context, w *podWorker) (time.Duration, bool) {
	pod := k.desiredPod(w.uid)
	if pod != nil {
		w.last = pod
	}
	rt, err := k.snapshot(ctx, w.uid)
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("reading pod state from the runtime", "pod", w.uid, "err", err)
		}
		return retryAfterError, false
	}
	switch {
	case pod == nil:
		// Not desired anymore (deleted from the API, manifest removed, or unknown to this
		// kubelet at all): stop and remove everything of it.
		if err := k.cleanupPod(ctx, w, rt); err != nil {
			k.log.Warn("cleaning up a pod", "pod", w.uid, "err", err)
			return retryAfterError, false
		}
		return 0, true
	case pod.DeletionTimestamp != nil:
		return k.syncDeleted(ctx, w, pod, rt), false
	}
	return k.syncRunning(ctx, w, pod, rt), false
}

// syncRunning converges a pod that should run, or keeps a finished pod stopped.
func (k *Kubelet) syncRunning(ctx context.Context, w *podWorker, pod *corev1.Pod, rt *podRuntime) time.Duration {
	now := k.clock.Now()
	start := k.startTime(pod)
	apiPod := k.apiStatusPod(pod)
	terminal := apiPod.Status.Phase == corev1.PodSucceeded || apiPod.Status.Phase == corev1.PodFailed
	next := k.opts.SyncFrequency
	var reason, message string
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && !terminal {
		left := start.Add(time.Duration(*d) * time.Second).Sub(now)
		if left <= 0 {
			w.deadline = true
		} else if left < next {
			next = left
		}
	}
	if !terminal && w.evicted == "" {
		w.evicted = k.volumes.OverLimit(pod)
	}
	switch {
	case w.deadline:
		reason, message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
	case w.evicted != "":
		reason, message = "Evicted", w.evicted
	}
	if reason != "" {
		if !terminal {
			eventType := corev1.EventTypeNormal
			if reason == "Evicted" {
				eventType = corev1.EventTypeWarning
			}
			k.recorder.Event(pod, eventType, reason, message)
		}
		terminal = true
	}
	if terminal {
		// A pod reported Succeeded or Failed runs nothing more, whatever its restartPolicy.
		if len(rt.Running()) > 0 || rt.ReadySandbox() != nil {
			k.killPod(ctx, pod, rt, gracePeriod(pod))
			if rt, _ = k.snapshot(ctx, w.uid); rt == nil {
				return retryAfterError
			}
		}
		k.probes.Forget(pod.UID)
		k.postStatus(ctx, pod, rt, w, true, reason, message)
		return k.opts.SyncFrequency
	}

	mounts, err := k.volumes.Setup(ctx, pod)
	if err != nil {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedMount", "%v", err)
		k.postStatus(ctx, pod, rt, w, false, "", "")
		return retryAfterError
	}
	actions := podsync.ComputeActions(podsync.Input{
		Pod: pod, Runtime: &rt.Runtime, Probes: k.probes.Results(pod.UID),
		CrashWait: func(name string, finished time.Time) (time.Duration, time.Duration) {
			return k.crash.Wait(crashKey(pod.UID, name), finished, now)
		},
	})
	changed, retry := k.execute(ctx, w, pod, rt, actions, mounts)
	if changed {
		if fresh, err := k.snapshot(ctx, w.uid); err == nil {
			rt = fresh
		}
	}
	for name, wt := range actions.Waiting {
		w.waiting[name] = wt
	}
	if sb := rt.ReadySandbox(); sb != nil && len(sb.IPs) > 0 {
		k.probes.SetPodIP(pod.UID, sb.IPs[0])
	}
	k.probes.Sync(pod, runningInstances(rt))
	k.postStatus(ctx, pod, rt, w, false, "", "")
	for name, wt := range actions.Waiting {
		if w.waiting[name] == wt {
			delete(w.waiting, name)
		}
	}
	if actions.Retry > 0 && actions.Retry < next {
		next = actions.Retry
	}
	if retry > 0 && retry < next {
		next = retry
	}
	// Containers just started: look again soon, so a quick exit or the postStart result
	// shows without waiting for the relist.
	if changed && next > 200*time.Millisecond {
		next = 200 * time.Millisecond
	}
	return next
}

// execute carries out the actions and reports whether it changed anything in the runtime,
// and how soon to retry something that failed.
func (k *Kubelet) execute(ctx context.Context, w *podWorker, pod *corev1.Pod, rt *podRuntime, a podsync.Actions, mounts map[string]string) (bool, time.Duration) {
	changed := false
	var retry time.Duration
	if a.KillPod {
		k.killPod(ctx, pod, rt, gracePeriod(pod))
		changed = true
	}
	if a.StopSandbox {
		for _, sb := range rt.sandboxes {
			if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
				if _, err := k.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
					k.log.Warn("stopping a sandbox", "pod", podRef(pod), "err", err)
				}
			}
		}
		k.probes.Forget(pod.UID)
		changed = true
	}
	var sandboxID string
	var podIPs []string
	if sb := rt.ReadySandbox(); sb != nil && !a.KillPod {
		sandboxID, podIPs = sb.ID, sb.IPs
	}
	sandboxConfig := k.sandboxConfig(pod, sandboxAttempt(rt, a))
	if a.CreateSandbox {
		if !k.opts.NetworkReady() && !pod.Spec.HostNetwork {
			return changed, 500 * time.Millisecond
		}
		start := k.clock.Now()
		id, ips, err := k.createSandbox(ctx, pod, sandboxConfig)
		k.log.Debug("created sandbox", "pod", podRef(pod), "took", k.clock.Since(start), "err", err)
		if err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return changed, retryAfterError
		}
		sandboxID, podIPs, changed = id, ips, true
	}
	for _, kill := range a.Kill {
		if kill.Remove {
			_, _ = k.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: kill.ID})
		} else {
			k.recorder.Event(pod, corev1.EventTypeNormal, kill.Reason, kill.Message)
			k.killContainer(ctx, pod, kill.ID, kill.Name, gracePeriod(pod))
		}
		changed = true
	}
	if sandboxID == "" {
		return changed, retry
	}
	for _, s := range a.Start {
		spec := podspec.Container(pod, s.Name)
		if spec == nil {
			continue
		}
		if s.Attempt > 0 {
			k.crash.Next(crashKey(pod.UID, s.Name), k.clock.Now())
		}
		start := k.clock.Now()
		err := k.startContainer(ctx, pod, spec, s, sandboxID, sandboxConfig, podIPs, mounts)
		k.log.Debug("started container", "pod", podRef(pod), "container", s.Name, "took", k.clock.Since(start), "err", err)
		if err == nil {
			delete(w.waiting, s.Name)
			changed = true
			continue
		}
		var se *startError
		if errors.As(err, &se) {
			w.waiting[s.Name] = podsync.Waiting{Reason: se.reason, Message: se.message}
			if se.retry > 0 && (retry == 0 || se.retry < retry) {
				retry = se.retry
			}
			changed = changed || se.created
		} else {
			w.waiting[s.Name] = podsync.Waiting{Reason: "CreateContainerError", Message: err.Error()}
		}
		if retry == 0 {
			retry = retryAfterError
		}
		if s.Init {
			break // the next init container must wait for this one
		}
	}
	return changed, retry
}

func sandboxAttempt(rt *podRuntime, a podsync.Actions) uint32 {
	if a.CreateSandbox {
		return a.SandboxAttempt
	}
	if len(rt.Sandboxes) > 0 {
		return rt.Sandboxes[0].Attempt
	}
	return 0
}

// syncDeleted stops a pod deleted in the API (graceful deletion), reports its final
// status and then deletes the object for good.
func (k *Kubelet) syncDeleted(ctx context.Context, w *podWorker, pod *corev1.Pod, rt *podRuntime) time.Duration {
	if !w.terminated {
		grace := gracePeriod(pod)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = *pod.DeletionGracePeriodSeconds
		}
		k.killPod(ctx, pod, rt, grace)
		k.probes.Forget(pod.UID)
		fresh, err := k.snapshot(ctx, w.uid)
		if err != nil {
			return retryAfterError
		}
		if len(fresh.Running()) > 0 {
			return retryAfterError
		}
		rt = fresh
		w.terminated = true
	}
	if isStatic(pod) {
		return k.opts.SyncFrequency
	}
	k.postStatus(ctx, pod, rt, w, true, "", "")
	zero := int64(0)
	uid := pod.UID
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		k.log.Warn("deleting a terminated pod", "pod", podRef(pod), "err", err)
		return retryAfterError
	}
	return k.opts.SyncFrequency
}

// cleanupPod stops and removes everything the runtime and the disk hold of a pod that is
// no longer desired.
func (k *Kubelet) cleanupPod(ctx context.Context, w *podWorker, rt *podRuntime) error {
	grace := int64(2)
	if w.last != nil && !w.terminated {
		grace = gracePeriod(w.last)
		if w.last.DeletionGracePeriodSeconds != nil {
			grace = *w.last.DeletionGracePeriodSeconds
		}
	}
	pod := w.last
	if pod == nil {
		pod = podFromRuntime(w.uid, rt)
	}
	if len(rt.Running()) > 0 || rt.ReadySandbox() != nil {
		k.killPod(ctx, pod, rt, grace)
	}
	var errs []error
	var containerIDs, sandboxIDs []string
	for _, c := range rt.containers {
		containerIDs = append(containerIDs, c.Id)
	}
	for _, sb := range rt.sandboxes {
		sandboxIDs = append(sandboxIDs, sb.Id)
		if _, err := k.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, id := range containerIDs {
		if _, err := k.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	k.cache.forget(containerIDs, sandboxIDs)
	k.probes.Forget(w.uid)
	prefix := string(w.uid) + "/"
	k.crash.Forget(func(key string) bool { return strings.HasPrefix(key, prefix) })
	k.pulls.Forget(func(key string) bool { return strings.HasPrefix(key, prefix) })
	if err := k.volumes.TearDown(ctx, w.uid); err != nil {
		return err
	}
	removeCgroups(w.uid)
	if pod != nil && pod.Name != "" {
		_ = os.RemoveAll(k.podLogDir(pod))
	}
	k.mu.Lock()
	delete(k.started, w.uid)
	k.mu.Unlock()
	k.forgetStatus(w.uid)
	return nil
}

// podFromRuntime rebuilds enough of a pod from its sandbox labels to stop it and find
// its log directory.
func podFromRuntime(uid types.UID, rt *podRuntime) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}}
	for _, sb := range rt.sandboxes {
		pod.Name, pod.Namespace = sb.Labels[labelPodName], sb.Labels[labelPodNamespace]
		break
	}
	return pod
}

func (k *Kubelet) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(k.opts.PodLogsDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

func crashKey(uid types.UID, name string) string { return string(uid) + "/" + name }

func gracePeriod(pod *corev1.Pod) int64 {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return max(*g, 0)
	}
	return 30
}

func podRef(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

func runningInstances(rt *podRuntime) map[string]string {
	out := map[string]string{}
	for _, c := range rt.Containers {
		if c.State == podsync.StateRunning {
			if _, seen := out[c.Name]; !seen {
				out[c.Name] = c.ID
			}
		}
	}
	return out
}
