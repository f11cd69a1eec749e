package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"capstan/internal/scheduler/framework"
	"capstan/internal/scheduler/queue"
)

// services backs framework.Services with the informer caches and the queue's nominator.
type services struct {
	queue     *queue.Queue
	nsLister  corelisters.NamespaceLister
	pvcLister corelisters.PersistentVolumeClaimLister
	pvLister  corelisters.PersistentVolumeLister
	scLister  storagelisters.StorageClassLister
	pdbLister policylisters.PodDisruptionBudgetLister
	svcLister corelisters.ServiceLister
	rcLister  corelisters.ReplicationControllerLister
	rsLister  appslisters.ReplicaSetLister
	ssLister  appslisters.StatefulSetLister
}

func (s *services) NominatedPodsForNode(node string) []*framework.PodInfo {
	return s.queue.NominatedPodsForNode(node)
}

func (s *services) NamespaceLabels(ns string) labels.Set {
	n, err := s.nsLister.Get(ns)
	if err != nil {
		return nil
	}
	return n.Labels
}

func (s *services) Namespaces() corelisters.NamespaceLister           { return s.nsLister }
func (s *services) PVCs() corelisters.PersistentVolumeClaimLister     { return s.pvcLister }
func (s *services) PVs() corelisters.PersistentVolumeLister           { return s.pvLister }
func (s *services) StorageClasses() storagelisters.StorageClassLister { return s.scLister }
func (s *services) PDBs() policylisters.PodDisruptionBudgetLister     { return s.pdbLister }

var (
	rcKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")
	rsKind = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}
	ssKind = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}
)

// DefaultSpreadSelector merges the selectors of the Services selecting the pod and of its
// controlling ReplicationController, ReplicaSet or StatefulSet, as upstream's default
// spreading does.
func (s *services) DefaultSpreadSelector(pod *corev1.Pod) labels.Selector {
	set := labels.Set{}
	if svcs, err := s.svcLister.Services(pod.Namespace).List(labels.Everything()); err == nil {
		for _, svc := range svcs {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				set = labels.Merge(set, svc.Spec.Selector)
			}
		}
	}
	sel := set.AsSelector()
	owner := metav1.GetControllerOfNoCopy(pod)
	if owner == nil {
		return sel
	}
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return sel
	}
	var ls *metav1.LabelSelector
	switch gv.WithKind(owner.Kind) {
	case rcKind:
		if rc, err := s.rcLister.ReplicationControllers(pod.Namespace).Get(owner.Name); err == nil {
			return labels.Merge(set, rc.Spec.Selector).AsSelector()
		}
	case rsKind:
		if rs, err := s.rsLister.ReplicaSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = rs.Spec.Selector
		}
	case ssKind:
		if ss, err := s.ssLister.StatefulSets(pod.Namespace).Get(owner.Name); err == nil {
			ls = ss.Spec.Selector
		}
	}
	if ls != nil {
		if other, err := metav1.LabelSelectorAsSelector(ls); err == nil {
			if reqs, ok := other.Requirements(); ok {
				sel = sel.Add(reqs...)
			}
		}
	}
	return sel
}
