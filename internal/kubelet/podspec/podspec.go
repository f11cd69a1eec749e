// Package podspec reads a pod's spec the way every part of the kubelet needs it.
package podspec

import corev1 "k8s.io/api/core/v1"

// Container is the init or regular container of pod named name, nil when there is none.
// (Validation keeps the names unique across both lists.)
func Container(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}
