package apiserver

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/quota"
	"capstan/internal/storage"
)

// admitQuota is the ResourceQuota plugin on creates, run after validation: every quota of
// the namespace that covers the object must have room for what it charges, or the create
// is refused (403 with upstream's message). The charge is written to each quota's
// status.used at once with a compare-and-swap on the quota, re-checked against the
// stored quota on every retry, so concurrent creates cannot both take the last unit.
// release gives the charge back when the create then fails. Dry runs check only.
func (s *Server) admitQuota(ctx context.Context, h *resourceHandler, obj runtime.Object, dry bool) (release func(), err error) {
	release = func() {}
	qh := s.handlers["/v1/resourcequotas"]
	m, merr := meta.Accessor(obj)
	if qh == nil || merr != nil || !h.res.Namespaced || m.GetNamespace() == "" || isSystemWrite(ctx) {
		return release, nil
	}
	// A consistent read: a quota created just before this object constrains it.
	list, err := qh.store.List(ctx, storage.ListOptions{Prefix: qh.prefix(m.GetNamespace())})
	if err != nil {
		return release, err
	}
	quotas := list.(*corev1.ResourceQuotaList).Items
	if len(quotas) == 0 {
		return release, nil
	}
	gr := h.gr()
	usage := quota.Usage(gr, obj, s.clock.Now())
	forbidden := func(err error) error { return apierrors.NewForbidden(gr, m.GetName(), err) }
	type charge struct {
		name      string
		requested corev1.ResourceList
	}
	var charges []charge
	for i := range quotas {
		q := &quotas[i]
		applies, err := quota.Applies(q, q.Status.Hard, gr, obj)
		if err != nil {
			return release, err
		}
		if !applies {
			continue
		}
		tracked := quota.Tracked(gr, quota.Names(q.Status.Hard))
		if err := quota.Constraints(gr, tracked, obj); err != nil {
			return release, forbidden(fmt.Errorf("failed quota: %s: %v", q.Name, err))
		}
		if missing := unknownUsage(q, tracked); len(missing) > 0 {
			return release, forbidden(fmt.Errorf("status unknown for quota: %s, resources: %s", q.Name, quota.FormatNames(tracked)))
		}
		if requested := quota.Mask(usage, tracked); !quota.IsZero(requested) {
			charges = append(charges, charge{q.Name, requested})
		}
	}
	var done []charge
	release = func() {
		for _, c := range done {
			s.chargeQuota(ctx, qh, m.GetNamespace(), c.name, quota.Subtract(corev1.ResourceList{}, c.requested), false)
		}
	}
	for _, c := range charges {
		if err := s.chargeQuota(ctx, qh, m.GetNamespace(), c.name, c.requested, dry); err != nil {
			release()
			if apierrors.IsNotFound(err) {
				continue
			}
			if _, ok := err.(quotaExceeded); ok {
				return func() {}, forbidden(err)
			}
			return func() {}, err
		}
		if !dry {
			done = append(done, c)
		}
	}
	return release, nil
}

// quotaExceeded is a refusal found while charging a quota.
type quotaExceeded struct{ msg string }

func (e quotaExceeded) Error() string { return e.msg }

// chargeQuota adds delta to a quota's status.used (a negative delta gives back), refusing
// when a positive delta would exceed status.hard. With dry it checks without writing.
func (s *Server) chargeQuota(ctx context.Context, qh *resourceHandler, ns, name string, delta corev1.ResourceList, dry bool) error {
	_, err := qh.store.GuaranteedUpdate(ctx, qh.key(ns, name), nil, false, func(existing runtime.Object) (runtime.Object, error) {
		q := existing.(*corev1.ResourceQuota)
		names := quota.Names(delta)
		next := quota.Add(q.Status.Used, delta)
		increase := slices.ContainsFunc(names, func(n corev1.ResourceName) bool { v := delta[n]; return v.Sign() > 0 })
		if increase {
			if ok, exceeded := quota.LessThanOrEqual(quota.Mask(next, names), q.Status.Hard); !ok {
				return nil, quotaExceeded{fmt.Sprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.Name,
					quota.Format(quota.Mask(delta, exceeded)), quota.Format(quota.Mask(q.Status.Used, exceeded)), quota.Format(quota.Mask(q.Status.Hard, exceeded)))}
			}
		}
		if dry {
			return nil, errDryRun
		}
		for n, v := range next {
			if v.Sign() < 0 {
				v.Set(0)
				next[n] = v
			}
		}
		q.Status.Used = next
		return q, nil
	})
	if err == errDryRun {
		return nil
	}
	return err
}

// unknownUsage names the tracked resources the quota has a hard limit for but no usage
// yet (the quota controller has not counted).
func unknownUsage(q *corev1.ResourceQuota, tracked []corev1.ResourceName) []string {
	var out []string
	for _, n := range tracked {
		if _, ok := q.Status.Used[n]; !ok {
			out = append(out, string(n))
		}
	}
	return slices.Compact(out)
}
