package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/pods"
)

// kind is what differs between ReplicaSets and ReplicationControllers: where they are
// read and how their status is written. The controller works on the ReplicaSet form.
type kind interface {
	gvk() schema.GroupVersionKind
	informer() cache.SharedIndexInformer
	// get returns the object from the cache as a ReplicaSet (shared: do not mutate) and
	// the original object (for events).
	get(namespace, name string) (*appsv1.ReplicaSet, pods.Owner, error)
	list(namespace string) ([]*appsv1.ReplicaSet, error)
	// fresh reads the object from the API, bypassing the cache.
	fresh(ctx context.Context, namespace, name string) (metav1.Object, error)
	updateStatus(ctx context.Context, orig pods.Owner, status appsv1.ReplicaSetStatus) error
}

var (
	replicaSetKind            = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	replicationControllerKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")
)

type replicaSets struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister appslisters.ReplicaSetLister
}

func newReplicaSets(client kubernetes.Interface, f informers.SharedInformerFactory) *replicaSets {
	i := f.Apps().V1().ReplicaSets()
	return &replicaSets{client: client, inf: i.Informer(), lister: i.Lister()}
}

func (k *replicaSets) gvk() schema.GroupVersionKind        { return replicaSetKind }
func (k *replicaSets) informer() cache.SharedIndexInformer { return k.inf }

func (k *replicaSets) get(ns, name string) (*appsv1.ReplicaSet, pods.Owner, error) {
	rs, err := k.lister.ReplicaSets(ns).Get(name)
	return rs, rs, err
}

func (k *replicaSets) list(ns string) ([]*appsv1.ReplicaSet, error) {
	return k.lister.ReplicaSets(ns).List(labels.Everything())
}

func (k *replicaSets) fresh(ctx context.Context, ns, name string) (metav1.Object, error) {
	return k.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (k *replicaSets) updateStatus(ctx context.Context, orig pods.Owner, status appsv1.ReplicaSetStatus) error {
	rs := orig.(*appsv1.ReplicaSet).DeepCopy()
	rs.Status = status
	_, err := k.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	return err
}

type replicationControllers struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister corelisters.ReplicationControllerLister
}

func newReplicationControllers(client kubernetes.Interface, f informers.SharedInformerFactory) *replicationControllers {
	i := f.Core().V1().ReplicationControllers()
	return &replicationControllers{client: client, inf: i.Informer(), lister: i.Lister()}
}

func (k *replicationControllers) gvk() schema.GroupVersionKind        { return replicationControllerKind }
func (k *replicationControllers) informer() cache.SharedIndexInformer { return k.inf }

func (k *replicationControllers) get(ns, name string) (*appsv1.ReplicaSet, pods.Owner, error) {
	rc, err := k.lister.ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, nil, err
	}
	return fromRC(rc), rc, nil
}

func (k *replicationControllers) list(ns string) ([]*appsv1.ReplicaSet, error) {
	rcs, err := k.lister.ReplicationControllers(ns).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, len(rcs))
	for i, rc := range rcs {
		out[i] = fromRC(rc)
	}
	return out, nil
}

func (k *replicationControllers) fresh(ctx context.Context, ns, name string) (metav1.Object, error) {
	return k.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
}

func (k *replicationControllers) updateStatus(ctx context.Context, orig pods.Owner, status appsv1.ReplicaSetStatus) error {
	rc := orig.(*corev1.ReplicationController).DeepCopy()
	rc.Status = corev1.ReplicationControllerStatus{
		Replicas:             status.Replicas,
		FullyLabeledReplicas: status.FullyLabeledReplicas,
		ReadyReplicas:        status.ReadyReplicas,
		AvailableReplicas:    status.AvailableReplicas,
		ObservedGeneration:   status.ObservedGeneration,
	}
	for _, c := range status.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	_, err := k.client.CoreV1().ReplicationControllers(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
	return err
}

// fromRC is the ReplicaSet an RC behaves as. Its selector is a map, so it matches by
// equality only; RCs report no terminating replicas.
func fromRC(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: rc.ObjectMeta,
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(ptr.Deref(rc.Spec.Replicas, 1)),
			MinReadySeconds: rc.Spec.MinReadySeconds,
			Selector:        &metav1.LabelSelector{MatchLabels: rc.Spec.Selector},
			Template:        ptr.Deref(rc.Spec.Template, corev1.PodTemplateSpec{}),
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas:             rc.Status.Replicas,
			FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas:        rc.Status.ReadyReplicas,
			AvailableReplicas:    rc.Status.AvailableReplicas,
			ObservedGeneration:   rc.Status.ObservedGeneration,
		},
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}
