package kubelet

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// eventScheme resolves the kinds of the objects events are about.
var eventScheme = scheme.Scheme

// eventSink writes the recorder's events through the kubelet's client.
type eventSink struct{ client kubernetes.Interface }

func (s *eventSink) Create(e *corev1.Event) (*corev1.Event, error) {
	return s.client.CoreV1().Events(e.Namespace).Create(context.Background(), e, metav1.CreateOptions{})
}

func (s *eventSink) Update(e *corev1.Event) (*corev1.Event, error) {
	return s.client.CoreV1().Events(e.Namespace).Update(context.Background(), e, metav1.UpdateOptions{})
}

func (s *eventSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	return s.client.CoreV1().Events(e.Namespace).Patch(context.Background(), e.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
}

// recordProbe is the probe manager's event callback.
func (k *Kubelet) recordProbe(uid types.UID, eventType, reason, message string) {
	pod := k.desiredPod(uid)
	if pod == nil {
		return
	}
	k.recorder.Event(k.eventObject(pod), eventType, reason, message)
}

// eventObject is what events about a pod refer to: the mirror pod of a static pod.
func (k *Kubelet) eventObject(pod *corev1.Pod) *corev1.Pod {
	if !isStatic(pod) {
		return pod
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if m := k.mirrors[pod.UID]; m != nil {
		return m
	}
	return pod
}
