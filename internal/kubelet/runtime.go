package kubelet

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet/podsync"
)

// Labels and annotations the kubelet puts on CRI objects, with upstream's names so that
// crictl and other tools show the pods as they would under upstream's kubelet.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"

	annotationHash              = "io.kubernetes.container.hash"
	annotationRestartCount      = "io.kubernetes.container.restartCount"
	annotationTerminationPath   = "io.kubernetes.container.terminationMessagePath"
	annotationTerminationPolicy = "io.kubernetes.container.terminationMessagePolicy"
	annotationGracePeriod       = "io.kubernetes.pod.terminationGracePeriod"
	annotationPreStop           = "io.kubernetes.container.preStopHandler"
)

// Runtime is the part of the CRI runtime service the kubelet uses.
type Runtime = runtimeapi.RuntimeServiceClient

// Images is the part of the CRI image service the kubelet uses.
type Images = runtimeapi.ImageServiceClient

// statusCache keeps the CRI statuses that cannot change anymore (exited containers,
// sandbox IPs), so a sync asks the runtime only about what moved.
type statusCache struct {
	mu         sync.Mutex
	containers map[string]*runtimeapi.ContainerStatus // exited only
	sandboxIPs map[string][]string
	messages   map[string]string // termination messages of exited containers
}

func newStatusCache() *statusCache {
	return &statusCache{containers: map[string]*runtimeapi.ContainerStatus{}, sandboxIPs: map[string][]string{}, messages: map[string]string{}}
}

func (c *statusCache) forget(containerIDs, sandboxIDs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range containerIDs {
		delete(c.containers, id)
		delete(c.messages, id)
	}
	for _, id := range sandboxIDs {
		delete(c.sandboxIPs, id)
	}
}

// podRuntime is what the runtime holds of one pod: the pure snapshot the decisions use,
// and the CRI objects behind it.
type podRuntime struct {
	podsync.Runtime
	sandboxes  []*runtimeapi.PodSandbox
	containers []*runtimeapi.Container
	statuses   map[string]*runtimeapi.ContainerStatus
}

// snapshot reads a pod's sandboxes and containers from the runtime.
func (k *Kubelet) snapshot(ctx context.Context, uid types.UID) (*podRuntime, error) {
	filter := map[string]string{labelPodUID: string(uid)}
	sbs, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: filter}})
	if err != nil {
		return nil, fmt.Errorf("listing sandboxes: %w", err)
	}
	cs, err := k.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: filter}})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	pr := &podRuntime{sandboxes: sbs.Items, containers: cs.Containers, statuses: map[string]*runtimeapi.ContainerStatus{}}
	for _, sb := range sbs.Items {
		s := podsync.Sandbox{
			ID: sb.Id, Attempt: sb.GetMetadata().GetAttempt(),
			Ready:     sb.State == runtimeapi.PodSandboxState_SANDBOX_READY,
			CreatedAt: time.Unix(0, sb.CreatedAt),
		}
		if s.Ready {
			ips, err := k.sandboxIPs(ctx, sb.Id)
			if err != nil {
				return nil, err
			}
			s.IPs = ips
		}
		pr.Sandboxes = append(pr.Sandboxes, s)
	}
	for _, c := range cs.Containers {
		st, err := k.containerStatus(ctx, c)
		if err != nil {
			return nil, err
		}
		if st == nil {
			continue // removed meanwhile
		}
		pr.statuses[c.Id] = st
		pr.Containers = append(pr.Containers, containerOf(c, st))
	}
	pr.Sort()
	return pr, nil
}

func (k *Kubelet) sandboxIPs(ctx context.Context, id string) ([]string, error) {
	k.cache.mu.Lock()
	ips, ok := k.cache.sandboxIPs[id]
	k.cache.mu.Unlock()
	if ok {
		return ips, nil
	}
	st, err := k.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		return nil, fmt.Errorf("sandbox status: %w", err)
	}
	if n := st.GetStatus().GetNetwork(); n != nil && n.Ip != "" {
		ips = append(ips, n.Ip)
		for _, extra := range n.AdditionalIps {
			ips = append(ips, extra.Ip)
		}
	}
	k.cache.mu.Lock()
	k.cache.sandboxIPs[id] = ips
	k.cache.mu.Unlock()
	return ips, nil
}

// containerStatus returns the CRI status of a container, from the cache once it exited.
// It returns nil for a container that is gone.
func (k *Kubelet) containerStatus(ctx context.Context, c *runtimeapi.Container) (*runtimeapi.ContainerStatus, error) {
	k.cache.mu.Lock()
	st, ok := k.cache.containers[c.Id]
	k.cache.mu.Unlock()
	if ok {
		return st, nil
	}
	resp, err := k.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("container status: %w", err)
	}
	st = resp.Status
	if st.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		k.cache.mu.Lock()
		k.cache.containers[c.Id] = st
		k.cache.mu.Unlock()
	}
	return st, nil
}

func containerOf(c *runtimeapi.Container, st *runtimeapi.ContainerStatus) podsync.Container {
	out := podsync.Container{
		ID: c.Id, Name: c.GetMetadata().GetName(), SandboxID: c.PodSandboxId,
		Attempt:   c.GetMetadata().GetAttempt(),
		CreatedAt: time.Unix(0, st.CreatedAt),
		Image:     st.GetImage().GetImage(),
		ImageRef:  st.ImageRef,
		Hash:      c.Annotations[annotationHash],
		ExitCode:  st.ExitCode,
		Reason:    st.Reason,
		Message:   st.Message,
	}
	if n, err := strconv.ParseUint(c.Annotations[annotationRestartCount], 10, 32); err == nil {
		out.Attempt = uint32(n)
	}
	if st.StartedAt > 0 {
		out.StartedAt = time.Unix(0, st.StartedAt)
	}
	if st.FinishedAt > 0 {
		out.FinishedAt = time.Unix(0, st.FinishedAt)
	}
	switch st.State {
	case runtimeapi.ContainerState_CONTAINER_CREATED:
		out.State = podsync.StateCreated
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		out.State = podsync.StateRunning
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		out.State = podsync.StateExited
	default:
		out.State = podsync.StateUnknown
	}
	return out
}
