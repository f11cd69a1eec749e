package apiserver

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry/certificates"
	"capstan/internal/apiserver/registry/core"
	"capstan/internal/apiserver/registry/scheduling"
	"capstan/internal/storage"
)

// kindHooks hold the behaviour of the few kinds that need more than a strategy: the
// pieces of upstream's per-kind REST storage that are not pure rules.
type kindHooks struct {
	// ttl in seconds for new objects (events expire); 0 means none.
	ttl int64
	// createOnUpdate lets PUT create a missing object.
	createOnUpdate bool
	// returnDeleted answers a completed delete with the object instead of a Status.
	returnDeleted bool
	// beforeCreate runs after validation; release undoes it if the create fails.
	beforeCreate func(ctx context.Context, obj runtime.Object, dryRun bool) (release func(), err error)
	// beforeUpdate runs after validation of an update.
	beforeUpdate func(ctx context.Context, obj, old runtime.Object) error
	// afterDelete runs once an object is gone.
	afterDelete func(ctx context.Context, obj runtime.Object)
	// gracePeriod is the deletion grace period of obj (pods); 0 deletes at once.
	gracePeriod func(obj runtime.Object, opts *metav1.DeleteOptions) int64
	// pendingDeletion reports that obj must wait for more than its finalizers (a
	// namespace's spec.finalizers).
	pendingDeletion func(obj runtime.Object) bool
	// beforeDelete records the start of a deletion on obj (a namespace's phase).
	beforeDelete func(obj runtime.Object)
	// prepareSubresource handles finalize and approval updates.
	prepareSubresource func(ctx context.Context, mode updateMode, obj, old runtime.Object) field.ErrorList
}

func schemaGR(group, resource string) schema.GroupResource {
	return schema.GroupResource{Group: group, Resource: resource}
}

func fieldErrs(path string, value any, detail string) field.ErrorList {
	return field.ErrorList{field.Invalid(field.NewPath(path), value, detail)}
}

// hooksFor returns the hooks of a resource.
func (s *Server) hooksFor(plural, group string) kindHooks {
	switch group + "/" + plural {
	case "/pods":
		return kindHooks{returnDeleted: true, gracePeriod: podGracePeriod}
	case "/events", "events.k8s.io/events":
		return kindHooks{ttl: 3600, createOnUpdate: true}
	case "/endpoints", "/limitranges", "coordination.k8s.io/leases", "discovery.k8s.io/endpointslices",
		"rbac.authorization.k8s.io/roles", "rbac.authorization.k8s.io/rolebindings",
		"rbac.authorization.k8s.io/clusterroles", "rbac.authorization.k8s.io/clusterrolebindings":
		return kindHooks{createOnUpdate: true}
	case "/namespaces":
		return kindHooks{
			pendingDeletion: func(obj runtime.Object) bool { return len(obj.(*corev1.Namespace).Spec.Finalizers) > 0 },
			beforeDelete: func(obj runtime.Object) {
				obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
			},
			prepareSubresource: finalizeNamespace,
		}
	case "/services":
		return s.serviceHooks()
	case "certificates.k8s.io/certificatesigningrequests":
		return kindHooks{prepareSubresource: approveCSR}
	case "scheduling.k8s.io/priorityclasses":
		return kindHooks{
			beforeCreate: func(ctx context.Context, obj runtime.Object, _ bool) (func(), error) {
				return func() {}, s.checkGlobalDefault(ctx, obj.(*schedulingv1.PriorityClass), true)
			},
			beforeUpdate: func(ctx context.Context, obj, _ runtime.Object) error {
				return s.checkGlobalDefault(ctx, obj.(*schedulingv1.PriorityClass), false)
			},
		}
	}
	return kindHooks{}
}

// podGracePeriod is upstream's graceful pod deletion: a pod bound to a node waits for its
// kubelet (grace from the options or the pod spec); an unbound or finished pod goes at once.
func podGracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if grace < 0 {
		grace = 1
	}
	return grace
}

// finalizeNamespace lets /finalize change only spec.finalizers.
func finalizeNamespace(_ context.Context, _ updateMode, obj, old runtime.Object) field.ErrorList {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	core.PrepareNamespaceFinalize(ns, oldNS)
	return core.ValidateNamespaceFinalizeUpdate(ns, oldNS)
}

// approveCSR lets /approval change only the Approved, Denied and Failed conditions.
func approveCSR(_ context.Context, _ updateMode, obj, old runtime.Object) field.ErrorList {
	certificates.PrepareForApprovalUpdate(obj, old)
	return certificates.ValidateApprovalUpdate(obj, old)
}

// checkGlobalDefault refuses a second global default priority class.
func (s *Server) checkGlobalDefault(ctx context.Context, pc *schedulingv1.PriorityClass, create bool) error {
	h := s.handlers["scheduling.k8s.io/v1/priorityclasses"]
	list, err := h.store.List(ctx, storage.ListOptions{Prefix: h.prefix("")})
	if err != nil {
		return err
	}
	var existing []*schedulingv1.PriorityClass
	for i := range list.(*schedulingv1.PriorityClassList).Items {
		existing = append(existing, &list.(*schedulingv1.PriorityClassList).Items[i])
	}
	if err := scheduling.CheckGlobalDefault(pc, existing, create); err != nil {
		return apierrors.NewForbidden(h.gr(), pc.Name, err)
	}
	return nil
}
