package kubelet

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet/podspec"
	"capstan/internal/kubelet/podsync"
	"capstan/internal/kubelet/probe"
)

// minStopTimeout is the least time a container gets between its stop signal and SIGKILL,
// after its preStop hook, as upstream's kubelet grants.
const minStopTimeout = 2

// killPod stops every running container of a pod (regular ones first, then sidecars,
// each after its preStop hook, within grace seconds) and then its sandboxes.
func (k *Kubelet) killPod(ctx context.Context, pod *corev1.Pod, rt *podRuntime, grace int64) {
	sidecars := map[string]bool{}
	for i := range pod.Spec.InitContainers {
		if podsync.IsRestartableInit(&pod.Spec.InitContainers[i]) {
			sidecars[pod.Spec.InitContainers[i].Name] = true
		}
	}
	deadline := k.clock.Now().Add(time.Duration(grace) * time.Second)
	for _, wave := range []bool{false, true} {
		var wg sync.WaitGroup
		for _, c := range rt.Containers {
			if c.State != podsync.StateRunning || sidecars[c.Name] != wave {
				continue
			}
			left := int64(deadline.Sub(k.clock.Now()).Seconds())
			wg.Add(1)
			go func(c podsync.Container) {
				defer wg.Done()
				k.recorder.Eventf(pod, corev1.EventTypeNormal, "Killing", "Stopping container %s", c.Name)
				k.killContainer(ctx, pod, c.ID, c.Name, max(left, 0))
			}(c)
		}
		wg.Wait()
	}
	for _, c := range rt.containers {
		if c.State == runtimeapi.ContainerState_CONTAINER_CREATED {
			_, _ = k.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.Id})
		}
	}
	for _, sb := range rt.sandboxes {
		if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		if _, err := k.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil && !isNotFound(err) {
			k.log.Warn("stopping a sandbox", "pod", podRef(pod), "err", err)
		}
	}
	k.probes.Forget(pod.UID)
}

// killContainer runs the container's preStop hook, then stops it with what is left of
// grace seconds (at least minStopTimeout) before SIGKILL.
func (k *Kubelet) killContainer(ctx context.Context, pod *corev1.Pod, id, name string, grace int64) {
	start := k.clock.Now()
	if hook := k.preStopHook(ctx, pod, id, name); hook != nil && grace > 0 {
		hctx, cancel := context.WithTimeout(ctx, time.Duration(grace)*time.Second)
		msg, err := k.runHook(hctx, pod, id, name, hook)
		cancel()
		if err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed: %v%s", err, msgSuffix(msg))
		}
		grace -= int64(k.clock.Since(start).Seconds())
	}
	timeout := max(grace, minStopTimeout)
	if _, err := k.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: timeout}); err != nil && !isNotFound(err) {
		k.log.Warn("stopping a container", "pod", podRef(pod), "container", name, "err", err)
	}
}

func msgSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ", message: " + msg
}

// preStopHook finds a container's preStop handler: from the pod spec, or from the
// annotation written at creation when the spec is unknown (a pod deleted while the agent
// was down).
func (k *Kubelet) preStopHook(ctx context.Context, pod *corev1.Pod, id, name string) *corev1.LifecycleHandler {
	if c := podspec.Container(pod, name); c != nil {
		if c.Lifecycle == nil {
			return nil
		}
		return c.Lifecycle.PreStop
	}
	resp, err := k.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return nil
	}
	data := resp.GetStatus().GetAnnotations()[annotationPreStop]
	if data == "" {
		return nil
	}
	var h corev1.LifecycleHandler
	if json.Unmarshal([]byte(data), &h) != nil {
		return nil
	}
	return &h
}

// runHook runs a postStart or preStop handler against a container.
func (k *Kubelet) runHook(ctx context.Context, pod *corev1.Pod, id, name string, h *corev1.LifecycleHandler) (string, error) {
	var podIP string
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	if ip := k.podIP(ctx, pod); ip != "" {
		podIP = ip
	}
	c := podspec.Container(pod, name)
	if c == nil {
		c = &corev1.Container{Name: name}
	}
	switch {
	case h.Exec != nil:
		res, out, err := probe.Exec(ctx, k.runtime, id, h.Exec.Command)
		if err == nil && res != probe.Success {
			return out, &hookError{"command exited with a non-zero code"}
		}
		return out, err
	case h.HTTPGet != nil:
		res, out, err := probe.HTTPGet(ctx, h.HTTPGet, podIP, c, nil)
		if err == nil && res != probe.Success {
			return out, &hookError{out}
		}
		return "", err
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-k.clock.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
		return "", nil
	case h.TCPSocket != nil:
		// Deprecated for hooks and never run by upstream either.
		return "", nil
	}
	return "", nil
}

type hookError struct{ msg string }

func (e *hookError) Error() string { return e.msg }

// podIP reads the pod's current IP from its ready sandbox.
func (k *Kubelet) podIP(ctx context.Context, pod *corev1.Pod) string {
	rt, err := k.snapshot(ctx, pod.UID)
	if err != nil {
		return ""
	}
	if sb := rt.ReadySandbox(); sb != nil && len(sb.IPs) > 0 {
		return sb.IPs[0]
	}
	return ""
}
