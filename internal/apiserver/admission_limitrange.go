package apiserver

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/quota"
	"capstan/internal/storage"
)

// admitLimitRanges is the LimitRanger plugin on creates: the namespace's limit ranges
// fill in container defaults, then min, max and ratio are enforced (403 with upstream's
// messages). Pods and persistent volume claims are concerned; other kinds pass.
func (s *Server) admitLimitRanges(ctx context.Context, h *resourceHandler, obj runtime.Object) error {
	pod, isPod := obj.(*corev1.Pod)
	pvc, isClaim := obj.(*corev1.PersistentVolumeClaim)
	if !isPod && !isClaim || isSystemWrite(ctx) {
		return nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	ns, name := m.GetNamespace(), m.GetName()
	ranges, err := s.limitRanges(ctx, ns)
	if err != nil || len(ranges) == 0 {
		return err
	}
	if isPod {
		quota.DefaultPod(pod, ranges)
		err = quota.ValidatePod(pod, ranges)
	} else {
		err = quota.ValidateClaim(pvc, ranges)
	}
	if err != nil {
		return apierrors.NewForbidden(h.gr(), name, err)
	}
	return nil
}

// limitRanges lists a namespace's limit ranges from the watch cache, consistently: a
// LimitRange created just before a pod applies to it.
func (s *Server) limitRanges(ctx context.Context, ns string) ([]*corev1.LimitRange, error) {
	lh := s.handlers["/v1/limitranges"]
	if lh == nil {
		return nil, nil
	}
	list, err := lh.store.List(ctx, storage.ListOptions{Prefix: lh.prefix(ns)})
	if err != nil {
		return nil, err
	}
	items := list.(*corev1.LimitRangeList).Items
	out := make([]*corev1.LimitRange, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out, nil
}
