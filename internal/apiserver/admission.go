package apiserver

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"capstan/internal/storage"
)

// systemNamespaces may never be deleted.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// Built-in priority classes, which exist whether or not their objects do.
var builtinPriorities = map[string]int32{"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}

// admit runs the mutating and validating admission plugins on a create (old == nil):
// NamespaceLifecycle, ServiceAccount (admitServiceAccount), DefaultTolerationSeconds,
// Priority and LimitRanger (ResourceQuota runs after validation: admitQuota).
func (s *Server) admit(ctx context.Context, h *resourceHandler, obj, old runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if old == nil && h.res.Namespaced {
		if err := s.namespaceAcceptsCreate(ctx, m.GetNamespace(), h); err != nil {
			return err
		}
	}
	if pod, ok := obj.(*corev1.Pod); ok && old == nil {
		if err := s.admitServiceAccount(ctx, pod); err != nil {
			return err
		}
		addDefaultTolerations(pod)
		if err := s.admitPriority(ctx, pod); err != nil {
			return err
		}
	}
	if old == nil {
		return s.admitLimitRanges(ctx, h, obj)
	}
	return nil
}

// namespaceAcceptsCreate is NamespaceLifecycle for creates: the namespace must exist and
// not be terminating (events may still be written there, as upstream allows).
func (s *Server) namespaceAcceptsCreate(ctx context.Context, ns string, h *resourceHandler) error {
	nsh := s.handlers["/v1/namespaces"]
	if nsh == nil {
		return nil
	}
	obj, err := nsh.store.Get(ctx, nsh.key("", ns), storage.GetOptions{})
	if err != nil {
		return err
	}
	if obj.(*corev1.Namespace).Status.Phase == corev1.NamespaceTerminating && h.res.Plural != "events" {
		return apierrors.NewForbidden(h.gr(), "", fmt.Errorf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}

// admitDelete refuses to delete the system namespaces.
func (s *Server) admitDelete(_ context.Context, h *resourceHandler, _, name string) error {
	if h.res.GVK.Group == "" && h.res.Plural == "namespaces" && slices.Contains(systemNamespaces, name) {
		return apierrors.NewForbidden(h.gr(), name, fmt.Errorf("this namespace may not be deleted"))
	}
	return nil
}

// addDefaultTolerations is DefaultTolerationSeconds: pods tolerate not-ready and
// unreachable nodes for 300 s unless they say otherwise.
func addDefaultTolerations(pod *corev1.Pod) {
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		found := false
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || t.Key == "" && t.Operator == corev1.TolerationOpExists) &&
				(t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
				found = true
				break
			}
		}
		if !found {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
				TolerationSeconds: ptr.To[int64](300),
			})
		}
	}
}

// admitPriority is the Priority plugin: priorityClassName resolves to priority and
// preemptionPolicy; without a name the global default class (if any) applies.
func (s *Server) admitPriority(ctx context.Context, pod *corev1.Pod) error {
	name := pod.Spec.PriorityClassName
	var class *schedulingv1.PriorityClass
	pch := s.handlers["scheduling.k8s.io/v1/priorityclasses"]
	if name != "" {
		if v, ok := builtinPriorities[name]; ok {
			class = &schedulingv1.PriorityClass{Value: v}
		} else if pch != nil {
			obj, err := pch.store.Get(ctx, pch.key("", name), storage.GetOptions{})
			if apierrors.IsNotFound(err) {
				return apierrors.NewForbidden(schemaGR("", "pods"), pod.Name, fmt.Errorf("no PriorityClass with name %s was found", name))
			} else if err != nil {
				return err
			}
			class = obj.(*schedulingv1.PriorityClass)
		}
	} else if pch != nil {
		// A consistent read, like the Get of a named class above: a global default class
		// applies to the very next pod.
		list, err := pch.store.List(ctx, storage.ListOptions{Prefix: pch.prefix("")})
		if err != nil {
			return err
		}
		for i := range list.(*schedulingv1.PriorityClassList).Items {
			if c := &list.(*schedulingv1.PriorityClassList).Items[i]; c.GlobalDefault {
				class = c
				pod.Spec.PriorityClassName = c.Name
				break
			}
		}
	}
	if class == nil {
		if pod.Spec.Priority == nil {
			pod.Spec.Priority = ptr.To[int32](0)
		}
		return nil
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != class.Value {
		return apierrors.NewForbidden(schemaGR("", "pods"), pod.Name, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, class.Value))
	}
	pod.Spec.Priority = ptr.To(class.Value)
	if class.PreemptionPolicy != nil && pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = ptr.To(*class.PreemptionPolicy)
	}
	return nil
}
