package apiserver

import (
	"context"
	"fmt"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/apiserver/registry/core"
	"capstan/internal/storage"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// serveSubresource serves status, scale, binding, eviction, token, finalize and approval.
func (h *resourceHandler) serveSubresource(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	switch info.Subresource {
	case "scale":
		return h.serveScale(ctx, w, r, info)
	case "binding":
		if info.Verb != "create" {
			return apierrors.NewMethodNotSupported(h.gr(), info.Verb)
		}
		return h.serveBinding(ctx, w, r, info)
	case "eviction":
		return h.serveEviction(ctx, w, r, info)
	case "token":
		return h.serveTokenRequest(ctx, w, r, info)
	}
	if isKubeletSubresource(h.res.Plural, info.Subresource) {
		return h.serveKubeletSubresource(ctx, w, r, info)
	}
	mode := modeStatus
	allowed := map[string]bool{"get": true, "update": true, "patch": true}
	switch info.Subresource {
	case "finalize":
		mode, allowed = modeFinalize, map[string]bool{"update": true}
	case "approval":
		mode = modeApproval
	}
	if !allowed[info.Verb] {
		return apierrors.NewMethodNotSupported(h.gr(), info.Verb)
	}
	switch info.Verb {
	case "get":
		return h.serveGet(ctx, w, r, info)
	case "patch":
		return h.servePatch(ctx, w, r, info, mode)
	default:
		return h.serveUpdate(ctx, w, r, info)
	}
}

// scaleOf renders the autoscaling/v1 Scale of obj.
func (h *resourceHandler) scaleOf(obj runtime.Object) *autoscalingv1.Scale {
	m, _ := meta.Accessor(obj)
	spec, status, selector := h.res.Scale.Replicas(obj)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}
}

func (h *resourceHandler) serveScale(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	switch info.Verb {
	case "get":
		obj, err := h.store.Get(ctx, h.key(info.Namespace, info.Name), storage.GetOptions{})
		if err != nil {
			return err
		}
		h.s.writeObject(w, r, http.StatusOK, autoscalingv1.SchemeGroupVersion, h.scaleOf(obj))
		return nil
	case "update", "patch":
	default:
		return apierrors.NewMethodNotSupported(schemaGR("autoscaling", "scale"), info.Verb)
	}
	var desired func(existing runtime.Object) (*autoscalingv1.Scale, error)
	if info.Verb == "update" {
		data, err := readBody(r)
		if err != nil {
			return err
		}
		sc := &autoscalingv1.Scale{}
		if err := h.s.decodeInto(w, r, data, r.Header.Get("Content-Type"), scaleGVK, sc); err != nil {
			return err
		}
		desired = func(runtime.Object) (*autoscalingv1.Scale, error) { return sc.DeepCopy(), nil }
	} else {
		pt, err := patchType(r)
		if err != nil {
			return err
		}
		patch, err := readBody(r)
		if err != nil {
			return err
		}
		desired = func(existing runtime.Object) (*autoscalingv1.Scale, error) {
			original, err := h.s.encodeJSON(h.scaleOf(existing), autoscalingv1.SchemeGroupVersion)
			if err != nil {
				return nil, err
			}
			result, err := applyPatch(pt, original, patch, &autoscalingv1.Scale{})
			if err != nil {
				return nil, err
			}
			sc := &autoscalingv1.Scale{}
			if err := h.s.decodeInto(w, r, result, mediaJSON, scaleGVK, sc); err != nil {
				return nil, err
			}
			return sc, nil
		}
	}
	out, _, err := h.update(ctx, info.Namespace, info.Name, modeMain, dryRun(r), func(existing runtime.Object) (runtime.Object, error) {
		sc, err := desired(existing)
		if err != nil {
			return nil, err
		}
		if sc.Name != "" && sc.Name != info.Name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", sc.Name, info.Name))
		}
		if sc.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), info.Name, fieldErrs("spec.replicas", sc.Spec.Replicas, "must be greater than or equal to 0"))
		}
		m, _ := meta.Accessor(existing)
		if sc.UID != "" && sc.UID != m.GetUID() {
			return nil, apierrors.NewConflict(h.gr(), info.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", sc.UID, m.GetUID()))
		}
		if sc.ResourceVersion != "" && sc.ResourceVersion != m.GetResourceVersion() {
			return nil, apierrors.NewConflict(h.gr(), info.Name, fmt.Errorf(registryConflictMessage))
		}
		h.res.Scale.SetReplicas(existing, sc.Spec.Replicas)
		return existing, nil
	})
	if err != nil {
		return err
	}
	h.s.writeObject(w, r, http.StatusOK, autoscalingv1.SchemeGroupVersion, h.scaleOf(out))
	return nil
}

// serveBinding assigns a pod to a node (pods/binding), as the scheduler does.
func (h *resourceHandler) serveBinding(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	b := &corev1.Binding{}
	if err := h.s.decodeInto(w, r, data, r.Header.Get("Content-Type"), corev1.SchemeGroupVersion.WithKind("Binding"), b); err != nil {
		return err
	}
	if b.Name != "" && b.Name != info.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", b.Name, info.Name))
	}
	if b.Namespace != "" && b.Namespace != info.Namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if errs := core.ValidateBinding(b); len(errs) > 0 {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), info.Name, errs)
	}
	_, _, err = h.update(ctx, info.Namespace, info.Name, modeSystem, dryRun(r), func(existing runtime.Object) (runtime.Object, error) {
		pod := existing.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(h.gr(), info.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", info.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(h.gr(), info.Name, fmt.Errorf("pod %s is already assigned to node %q", info.Name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(h.gr(), info.Name, fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(h.s.clock.Now())})
		return pod, nil
	})
	if err != nil {
		return err
	}
	h.s.writeObject(w, r, http.StatusCreated, metav1.SchemeGroupVersion, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
	return nil
}

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			if pod.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = pod.Status.Conditions[i].LastTransitionTime
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}
