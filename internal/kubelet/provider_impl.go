package kubelet

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet/podspec"
)

var _ Provider = (*Kubelet)(nil)

// NodeName implements Provider.
func (k *Kubelet) NodeName() string { return k.opts.NodeName }

// Runtime implements Provider.
func (k *Kubelet) Runtime() runtimeapi.RuntimeServiceClient { return k.runtime }

// Pods implements Provider.
func (k *Kubelet) Pods() []*corev1.Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(k.pods))
	for uid, p := range k.pods {
		cp := p.DeepCopy()
		if isStatic(p) {
			cp.Status = k.staticStatus[uid]
		} else if last := k.posted[uid]; last != nil && newerRV(last.ResourceVersion, p.ResourceVersion) {
			cp.Status = *last.Status.DeepCopy()
		}
		out = append(out, cp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Pod implements Provider.
func (k *Kubelet) Pod(namespace, name string) (*corev1.Pod, bool) {
	for _, p := range k.Pods() {
		if p.Namespace == namespace && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Container implements Provider.
func (k *Kubelet) Container(ctx context.Context, namespace, podName, container string, previous bool) (ContainerRef, error) {
	pod, ok := k.Pod(namespace, podName)
	if !ok {
		return ContainerRef{}, fmt.Errorf("pod %s/%s: %w", namespace, podName, ErrNotFound)
	}
	if podspec.Container(pod, container) == nil {
		return ContainerRef{}, fmt.Errorf("container %s in pod %s/%s: %w", container, namespace, podName, ErrNotFound)
	}
	rt, err := k.snapshot(ctx, pod.UID)
	if err != nil {
		return ContainerRef{}, err
	}
	inst := rt.Latest(container)
	if previous {
		inst = rt.Previous(container)
	}
	if inst == nil {
		which := "current"
		if previous {
			which = "previous terminated"
		}
		return ContainerRef{}, fmt.Errorf("%s instance of container %s in pod %s/%s: %w", which, container, namespace, podName, ErrNotFound)
	}
	ref := ContainerRef{PodUID: pod.UID, ContainerID: inst.ID, LogPath: rt.statuses[inst.ID].GetLogPath()}
	ref.Running = rt.statuses[inst.ID].GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	if sb := rt.ReadySandbox(); sb != nil {
		ref.PodSandboxID = sb.ID
	} else if len(rt.Sandboxes) > 0 {
		ref.PodSandboxID = rt.Sandboxes[0].ID
	}
	return ref, nil
}
