package quota

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// LimitRangerAnnotation records on a pod which defaults the limit ranges filled in.
const LimitRangerAnnotation = "kubernetes.io/limit-ranger"

// DefaultPod fills, from the Container items of each limit range in turn, the limits
// (default) and requests (defaultRequest) the pod's containers do not state, and notes
// what it set in the kubernetes.io/limit-ranger annotation.
func DefaultPod(pod *corev1.Pod, ranges []*corev1.LimitRange) {
	var notes []string
	for _, lr := range ranges {
		limits, requests := corev1.ResourceList{}, corev1.ResourceList{}
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			for k, v := range item.Default {
				limits[k] = v.DeepCopy()
			}
			for k, v := range item.DefaultRequest {
				requests[k] = v.DeepCopy()
			}
		}
		if len(limits) == 0 && len(requests) == 0 {
			continue
		}
		for i := range pod.Spec.InitContainers {
			notes = append(notes, fillContainer(&pod.Spec.InitContainers[i], "init container", requests, limits)...)
		}
		for i := range pod.Spec.Containers {
			notes = append(notes, fillContainer(&pod.Spec.Containers[i], "container", requests, limits)...)
		}
	}
	if len(notes) == 0 {
		return
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[LimitRangerAnnotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
}

func fillContainer(c *corev1.Container, kind string, requests, limits corev1.ResourceList) []string {
	fill := func(dst *corev1.ResourceList, src corev1.ResourceList) []string {
		var set []string
		for k, v := range src {
			if _, ok := (*dst)[k]; ok {
				continue
			}
			if *dst == nil {
				*dst = corev1.ResourceList{}
			}
			(*dst)[k] = v.DeepCopy()
			set = append(set, string(k))
		}
		slices.Sort(set)
		return set
	}
	var notes []string
	if set := fill(&c.Resources.Requests, requests); len(set) > 0 {
		notes = append(notes, fmt.Sprintf("%s request for %s %s", strings.Join(set, ", "), kind, c.Name))
	}
	if set := fill(&c.Resources.Limits, limits); len(set) > 0 {
		notes = append(notes, fmt.Sprintf("%s limit for %s %s", strings.Join(set, ", "), kind, c.Name))
	}
	return notes
}

// ValidatePod checks the pod against the Container and Pod items of the limit ranges:
// min, max and maxLimitRequestRatio, with upstream's messages.
func ValidatePod(pod *corev1.Pod, ranges []*corev1.LimitRange) error {
	var errs []error
	for _, lr := range ranges {
		for _, item := range lr.Spec.Limits {
			switch item.Type {
			case corev1.LimitTypeContainer:
				for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
					for _, c := range cs {
						errs = append(errs, checkItem(item, "Container", c.Resources.Requests, c.Resources.Limits)...)
					}
				}
			case corev1.LimitTypePod:
				errs = append(errs, checkItem(item, "Pod", PodRequests(pod), PodLimits(pod))...)
			}
		}
	}
	return utilerrors.NewAggregate(errs)
}

// ValidateClaim checks a claim's storage request against the PersistentVolumeClaim items.
func ValidateClaim(pvc *corev1.PersistentVolumeClaim, ranges []*corev1.LimitRange) error {
	var errs []error
	const kind = "PersistentVolumeClaim"
	for _, lr := range ranges {
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypePersistentVolumeClaim {
				continue
			}
			for _, k := range Names(item.Min) {
				if err := minConstraint(kind, k, item.Min[k], pvc.Spec.Resources.Requests, nil); err != nil {
					errs = append(errs, err)
				}
			}
			for _, k := range Names(item.Max) {
				req, ok := pvc.Spec.Resources.Requests[k]
				max := item.Max[k]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", k, kind, max.String()))
				case req.Cmp(max) > 0:
					errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s, but request is %s", k, kind, max.String(), req.String()))
				}
			}
		}
	}
	return utilerrors.NewAggregate(errs)
}

func checkItem(item corev1.LimitRangeItem, kind string, requests, limits corev1.ResourceList) []error {
	var errs []error
	for _, k := range Names(item.Min) {
		if err := minConstraint(kind, k, item.Min[k], requests, limits); err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range Names(item.Max) {
		if err := maxConstraint(kind, k, item.Max[k], requests, limits); err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range Names(item.MaxLimitRequestRatio) {
		if err := ratioConstraint(kind, k, item.MaxLimitRequestRatio[k], requests, limits); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func minConstraint(kind string, name corev1.ResourceName, min resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, kind, min.String())
	case req.Cmp(min) < 0:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, kind, min.String(), req.String())
	case hasLim && lim.Cmp(min) < 0:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, kind, min.String(), lim.String())
	}
	return nil
}

func maxConstraint(kind string, name corev1.ResourceName, max resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, kind, max.String())
	case lim.Cmp(max) > 0:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, kind, max.String(), lim.String())
	case hasReq && req.Cmp(max) > 0:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, kind, max.String(), req.String())
	}
	return nil
}

func ratioConstraint(kind string, name corev1.ResourceName, ratio resource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	if !hasReq || req.IsZero() {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, kind, ratio.String())
	}
	if !hasLim || lim.IsZero() {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, kind, ratio.String())
	}
	observed := float64(lim.MilliValue()) / float64(req.MilliValue())
	if lim.Value() > resource.MaxMilliValue || req.Value() > resource.MaxMilliValue {
		observed = float64(lim.Value()) / float64(req.Value())
	}
	if observed > float64(ratio.MilliValue())/1000 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, kind, ratio.String(), observed)
	}
	return nil
}
