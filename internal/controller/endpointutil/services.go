package endpointutil

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// ServicesSelecting returns the keys of the services in the pod's namespace whose
// selector matches the pod's labels.
func ServicesSelecting(services corelisters.ServiceLister, pod *corev1.Pod) []string {
	list, err := services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, svc := range list {
		if svc.Spec.Selector == nil {
			continue
		}
		if labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			out = append(out, svc.Namespace+"/"+svc.Name)
		}
	}
	return out
}

// PodChangeMatters reports whether a pod update can change any endpoints: its IPs,
// readiness, deletion, hostname, node, phase, ports or labels changed.
func PodChangeMatters(old, cur *corev1.Pod) bool {
	if old.ResourceVersion == cur.ResourceVersion {
		return false
	}
	return !maps.Equal(old.Labels, cur.Labels) ||
		old.Status.PodIP != cur.Status.PodIP || !apiequality.Semantic.DeepEqual(old.Status.PodIPs, cur.Status.PodIPs) ||
		IsReady(old) != IsReady(cur) || old.Status.Phase != cur.Status.Phase ||
		(old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		old.Spec.NodeName != cur.Spec.NodeName || old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain ||
		podReadyTransition(old) != podReadyTransition(cur)
}

func podReadyTransition(p *corev1.Pod) int64 { return podTriggerTime(p).UnixNano() }

// PodHandler calls enqueue with the key of every service a pod add, change or delete
// concerns (before and after a label change).
func PodHandler(services corelisters.ServiceLister, enqueue func(key string)) cache.ResourceEventHandler {
	each := func(pod *corev1.Pod) {
		for _, k := range ServicesSelecting(services, pod) {
			enqueue(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				each(pod)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, ok1 := oldObj.(*corev1.Pod)
			cur, ok2 := obj.(*corev1.Pod)
			if !ok1 || !ok2 || !PodChangeMatters(old, cur) {
				return
			}
			each(cur)
			if !maps.Equal(old.Labels, cur.Labels) {
				each(old)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				each(pod)
			}
		},
	}
}
