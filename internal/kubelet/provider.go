package kubelet

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Provider is what the kubelet's HTTPS API (internal/kubelet/server: /pods, /containerLogs,
// /exec, /attach, /portForward, /stats) reads from a running kubelet. *Kubelet implements it.
// Every method is safe for concurrent use; returned objects are copies the caller may keep.
type Provider interface {
	// NodeName is the name of the kubelet's Node object.
	NodeName() string
	// Pods returns the pods the kubelet runs: pods bound to the node through the API and the
	// static pods of its manifest directory (as their mirror pods are named, with the
	// kubelet's latest status).
	Pods() []*corev1.Pod
	// Pod returns one of those pods by namespace and name.
	Pod(namespace, name string) (*corev1.Pod, bool)
	// Container finds a container of a pod in the runtime. With previous false it is the
	// newest instance (running or not); with previous true the one before it, which is what
	// `kubectl logs --previous` reads. Errors wrap ErrNotFound when the pod, the container
	// or the instance does not exist.
	Container(ctx context.Context, namespace, pod, container string, previous bool) (ContainerRef, error)
	// Runtime is the CRI runtime service the kubelet uses (Exec, Attach, PortForward,
	// ContainerStats, ...). Callers must not stop or remove containers through it.
	Runtime() runtimeapi.RuntimeServiceClient
}

// ContainerRef identifies one instance of a container in the runtime.
type ContainerRef struct {
	// PodUID is the pod's UID (of the static pod itself, not of its mirror pod).
	PodUID types.UID
	// PodSandboxID is the CRI id of the pod's sandbox (for PortForward).
	PodSandboxID string
	// ContainerID is the CRI id of the container instance (for Exec and Attach), without
	// the "containerd://" prefix of the pod status.
	ContainerID string
	// Running tells whether the instance is running now.
	Running bool
	// LogPath is the absolute path of the instance's CRI log file:
	// <pod-logs-dir>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log. The file is in
	// the CRI log format ("<RFC3339Nano> <stdout|stderr> <F|P> <text>") and may have been
	// rotated to <restartCount>.log.<timestamp> files next to it.
	LogPath string
}

// ErrNotFound is wrapped by Provider errors for a missing pod, container or instance.
var ErrNotFound = errors.New("not found")
