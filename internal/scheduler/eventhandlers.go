package scheduler

import (
	"time"

	"reflect"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"

	"capstan/internal/scheduler/framework"
)

// stripManagedFields drops managed fields, which the scheduler never reads.
func stripManagedFields(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil && a.GetManagedFields() != nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}

// stripPod keeps, of a cached pod, what scheduling reads, so that 10,000s of pods stay small:
// containers keep their name, image, resources, ports and restart policy; volumes keep the
// sources plugins look at; container statuses and the last-applied annotation go. The
// scheduler never writes a pod back whole, so nothing it drops can be lost.
func stripPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return stripManagedFields(obj)
	}
	pod.ManagedFields = nil
	if _, ok := pod.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
		delete(pod.Annotations, corev1.LastAppliedConfigAnnotation)
	}
	strip := func(cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			cs[i] = corev1.Container{Name: c.Name, Image: c.Image, Resources: c.Resources, Ports: c.Ports, RestartPolicy: c.RestartPolicy}
		}
	}
	strip(pod.Spec.Containers)
	strip(pod.Spec.InitContainers)
	pod.Spec.EphemeralContainers = nil
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		src := v.VolumeSource
		v.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: src.PersistentVolumeClaim, Ephemeral: src.Ephemeral,
			GCEPersistentDisk: src.GCEPersistentDisk, AWSElasticBlockStore: src.AWSElasticBlockStore, RBD: src.RBD, ISCSI: src.ISCSI}
	}
	pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses = nil, nil, nil
	return pod, nil
}

func (s *Scheduler) addEventHandlers(factory informers.SharedInformerFactory) error {
	pods := factory.InformerFor(&corev1.Pod{}, func(c kubernetes.Interface, resync time.Duration) toolscache.SharedIndexInformer {
		inf := coreinformers.NewFilteredPodInformer(c, metav1.NamespaceAll, resync,
			toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc},
			func(o *metav1.ListOptions) { o.FieldSelector = "status.phase!=Succeeded,status.phase!=Failed" })
		_ = inf.SetTransform(stripPod)
		return inf
	})
	s.podLister = factory.Core().V1().Pods().Lister()
	reg, err := pods.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    s.onPodAdd,
		UpdateFunc: s.onPodUpdate,
		DeleteFunc: s.onPodDelete,
	})
	if err != nil {
		return err
	}
	s.handlersSynced = append(s.handlersSynced, reg.HasSynced)
	nodes := factory.Core().V1().Nodes().Informer()
	_ = nodes.SetTransform(stripManagedFields)
	reg, err = nodes.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    s.onNodeAdd,
		UpdateFunc: s.onNodeUpdate,
		DeleteFunc: s.onNodeDelete,
	})
	if err != nil {
		return err
	}
	s.handlersSynced = append(s.handlersSynced, reg.HasSynced)
	simple := func(inf toolscache.SharedIndexInformer, res framework.EventResource) error {
		_, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: res, ActionType: framework.Add, Label: string(res) + "Add"}, nil, obj, nil)
			},
			UpdateFunc: func(old, obj any) {
				if sameObject(old, obj) {
					return
				}
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: res, ActionType: framework.Update, Label: string(res) + "Update"}, old, obj, nil)
			},
			DeleteFunc: func(obj any) {
				s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: res, ActionType: framework.Delete, Label: string(res) + "Delete"}, tombstone(obj), nil, nil)
			},
		})
		return err
	}
	core := factory.Core().V1()
	for _, h := range []struct {
		inf toolscache.SharedIndexInformer
		res framework.EventResource
	}{
		{core.PersistentVolumeClaims().Informer(), framework.PersistentVolumeClaim},
		{core.PersistentVolumes().Informer(), framework.PersistentVolume},
		{factory.Storage().V1().StorageClasses().Informer(), framework.StorageClass},
		{core.Namespaces().Informer(), framework.Namespace},
	} {
		if err := simple(h.inf, h.res); err != nil {
			return err
		}
	}
	factory.Policy().V1().PodDisruptionBudgets().Informer()
	return nil
}

// sameObject says whether an update changed nothing but the resource version or status
// heartbeat (informer resyncs, periodic status writes).
func sameObject(old, obj any) bool {
	if sc, ok := obj.(*storagev1.StorageClass); ok {
		return reflect.DeepEqual(old, sc)
	}
	oa, err1 := meta.Accessor(old)
	na, err2 := meta.Accessor(obj)
	return err1 == nil && err2 == nil && oa.GetResourceVersion() == na.GetResourceVersion()
}

func tombstone(obj any) any {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

func assigned(pod *corev1.Pod) bool { return pod.Spec.NodeName != "" }

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	_, ok := s.profiles[pod.Spec.SchedulerName]
	return ok
}

func (s *Scheduler) onPodAdd(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || terminal(pod) {
		return
	}
	if assigned(pod) {
		if err := s.cache.AddPod(pod); err != nil {
			s.log.Error("adding pod to cache", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		s.queue.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodAdd, nil, pod, nil)
		return
	}
	if s.responsible(pod) {
		s.queue.Add(pod)
		s.metrics.incoming.WithLabelValues("active", "PodAdd").Inc()
	}
}

func (s *Scheduler) onPodUpdate(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	pod, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case terminal(pod):
		s.onPodDelete(old)
	case assigned(pod) && !assigned(old):
		if s.responsible(old) {
			s.queue.Delete(old)
		}
		if err := s.cache.AddPod(pod); err != nil {
			s.log.Error("adding pod to cache", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		s.queue.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodAdd, nil, pod, nil)
	case assigned(pod):
		if err := s.cache.UpdatePod(old, pod); err != nil {
			s.log.Error("updating pod in cache", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		if action := assignedPodAction(old, pod); action != 0 {
			s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: framework.Pod, ActionType: action, Label: "AssignedPodUpdate"}, old, pod, nil)
		}
	case s.responsible(pod):
		s.queue.Update(old, pod)
	}
}

// assignedPodAction classifies an update of a bound pod by what scheduling looks at.
func assignedPodAction(old, pod *corev1.Pod) framework.ActionType {
	var a framework.ActionType
	if !apiequality.Semantic.DeepEqual(old.Labels, pod.Labels) {
		a |= framework.UpdatePodLabel
	}
	o, n := framework.PodRequests(old, false), framework.PodRequests(pod, false)
	if n.MilliCPU < o.MilliCPU || n.Memory < o.Memory || n.EphemeralStorage < o.EphemeralStorage {
		a |= framework.UpdatePodScaleDown
	}
	return a
}

func (s *Scheduler) onPodDelete(obj any) {
	pod, ok := tombstone(obj).(*corev1.Pod)
	if !ok {
		return
	}
	if assigned(pod) {
		if err := s.cache.RemovePod(pod); err != nil {
			s.log.Error("removing pod from cache", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		s.queue.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodDelete, pod, nil, nil)
		return
	}
	s.queue.Delete(pod)
}

func (s *Scheduler) onNodeAdd(obj any) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	s.cache.AddNode(node)
	s.queue.MoveAllToActiveOrBackoffQueue(framework.EventNodeAdd, nil, node, nil)
}

func (s *Scheduler) onNodeUpdate(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Node)
	node, ok2 := obj.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	s.cache.UpdateNode(old, node)
	if action := nodeAction(old, node); action != 0 {
		s.queue.MoveAllToActiveOrBackoffQueue(framework.ClusterEvent{Resource: framework.Node, ActionType: action, Label: "NodeUpdate"}, old, node, nil)
	}
}

// nodeAction classifies a node update; heartbeats alone are 0.
func nodeAction(old, node *corev1.Node) framework.ActionType {
	var a framework.ActionType
	if !apiequality.Semantic.DeepEqual(old.Status.Allocatable, node.Status.Allocatable) {
		a |= framework.UpdateNodeAllocatable
	}
	if !apiequality.Semantic.DeepEqual(old.Labels, node.Labels) {
		a |= framework.UpdateNodeLabel
	}
	if old.Spec.Unschedulable != node.Spec.Unschedulable || !apiequality.Semantic.DeepEqual(old.Spec.Taints, node.Spec.Taints) {
		a |= framework.UpdateNodeTaint
	}
	if !sameConditions(old.Status.Conditions, node.Status.Conditions) {
		a |= framework.UpdateNodeCondition
	}
	if !apiequality.Semantic.DeepEqual(old.Annotations, node.Annotations) {
		a |= framework.UpdateNodeAnnotation
	}
	return a
}

func sameConditions(a, b []corev1.NodeCondition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Status != b[i].Status {
			return false
		}
	}
	return true
}

func (s *Scheduler) onNodeDelete(obj any) {
	node, ok := tombstone(obj).(*corev1.Node)
	if !ok {
		return
	}
	s.cache.RemoveNode(node)
	s.queue.MoveAllToActiveOrBackoffQueue(framework.EventNodeDelete, node, nil, nil)
}
