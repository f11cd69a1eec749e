package apiserver

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"capstan/internal/storage"
)

var errDeleteNow = errors.New("delete now")

func (h *resourceHandler) serveDelete(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	var opts metav1.DeleteOptions
	if err := h.s.decodeOptions(r, data, &opts); err != nil {
		return err
	}
	if err := validateDeleteOptions(r, &opts); err != nil {
		return err
	}
	out, deleted, err := h.delete(ctx, info.Namespace, info.Name, &opts)
	if err != nil {
		return err
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	if deleted && !h.hooks.returnDeleted {
		m, _ := meta.Accessor(out)
		st := &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess,
			Details: &metav1.StatusDetails{Name: info.Name, Group: h.res.GVK.Group, Kind: h.res.Plural, UID: m.GetUID()}}
		h.s.writeObject(w, r, code, metav1.SchemeGroupVersion, st)
		return nil
	}
	h.s.writeObject(w, r, code, h.gv, out)
	return nil
}

// validateDeleteOptions adds the query's dryRun to opts (a body's options otherwise win) and
// applies upstream's checks: a bad dryRun or propagationPolicy, or both orphanDependents and
// propagationPolicy, is a 422.
func validateDeleteOptions(r *http.Request, opts *metav1.DeleteOptions) error {
	if len(r.URL.Query()["dryRun"]) > 0 {
		opts.DryRun = append(opts.DryRun, r.URL.Query()["dryRun"]...)
	}
	if errs := metav1validation.ValidateDeleteOptions(opts); len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "DeleteOptions"}, "", errs)
	}
	return nil
}

// delete deletes an object, or starts its deletion: an object with finalizers (including
// the orphan and foregroundDeletion finalizers the propagation policy adds) or a graceful
// pod gets a deletionTimestamp and stays until they are done. deleted reports whether the
// object is gone.
func (h *resourceHandler) delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if err := h.s.admitDelete(ctx, h, ns, name); err != nil {
		return nil, false, err
	}
	key := h.key(ns, name)
	dry := slices.Contains(opts.DryRun, metav1.DryRunAll)
	var last runtime.Object
	out, err := h.store.GuaranteedUpdate(ctx, key, opts.Preconditions, false, func(existing runtime.Object) (runtime.Object, error) {
		last = existing.DeepCopyObject()
		m, err := meta.Accessor(existing)
		if err != nil {
			return nil, err
		}
		applyPropagation(m, opts)
		grace := int64(0)
		if h.hooks.gracePeriod != nil {
			grace = h.hooks.gracePeriod(existing, opts)
		}
		pending := len(m.GetFinalizers()) > 0 || (h.hooks.pendingDeletion != nil && h.hooks.pendingDeletion(existing))
		if !pending && grace == 0 {
			return nil, errDeleteNow
		}
		now := h.s.clock.Now()
		if dt := m.GetDeletionTimestamp(); dt == nil {
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			m.SetDeletionTimestamp(&t)
			m.SetDeletionGracePeriodSeconds(&grace)
			m.SetGeneration(m.GetGeneration() + 1)
		} else if old := m.GetDeletionGracePeriodSeconds(); old == nil || grace < *old {
			// A second delete may only shorten the grace period.
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			if t.Before(dt) {
				m.SetDeletionTimestamp(&t)
			}
			m.SetDeletionGracePeriodSeconds(&grace)
		}
		if h.hooks.beforeDelete != nil {
			h.hooks.beforeDelete(existing)
		}
		if dry {
			return nil, errDryRun
		}
		// Unchanged objects are not rewritten: the store skips writes of identical bytes.
		return existing, nil
	})
	switch {
	case errors.Is(err, errDryRun):
		return last, false, nil
	case errors.Is(err, errDeleteNow):
		if dry {
			return last, true, nil
		}
		m, _ := meta.Accessor(last)
		uid := m.GetUID()
		pre := &metav1.Preconditions{UID: &uid}
		if opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil {
			pre.ResourceVersion = opts.Preconditions.ResourceVersion
		}
		gone, err := h.store.Delete(ctx, key, pre, nil)
		if err != nil {
			return nil, false, err
		}
		if h.hooks.afterDelete != nil {
			h.hooks.afterDelete(ctx, gone)
		}
		return gone, true, nil
	case err != nil:
		return nil, false, err
	}
	return out, false, nil
}

// applyPropagation records the propagation policy as the finalizers the garbage collector
// acts on.
func applyPropagation(m metav1.Object, opts *metav1.DeleteOptions) {
	policy := opts.PropagationPolicy
	if policy == nil && opts.OrphanDependents != nil {
		p := metav1.DeletePropagationBackground
		if *opts.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		policy = &p
	}
	if policy == nil {
		return
	}
	before := m.GetFinalizers()
	fs := slices.DeleteFunc(slices.Clone(before), func(f string) bool {
		return f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents
	})
	switch *policy {
	case metav1.DeletePropagationOrphan:
		fs = append(fs, metav1.FinalizerOrphanDependents)
	case metav1.DeletePropagationForeground:
		fs = append(fs, metav1.FinalizerDeleteDependents)
	}
	if !slices.Equal(fs, before) {
		m.SetFinalizers(fs)
	}
}

func (h *resourceHandler) serveDeleteCollection(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	var opts metav1.DeleteOptions
	if err := h.s.decodeOptions(r, data, &opts); err != nil {
		return err
	}
	if err := validateDeleteOptions(r, &opts); err != nil {
		return err
	}
	lopts, ls, fs, err := h.listOptions(r, info)
	if err != nil {
		return err
	}
	list, err := h.store.List(ctx, storage.ListOptions{Prefix: h.prefix(info.Namespace), ResourceVersion: lopts.ResourceVersion, Label: ls, Field: fs})
	if err != nil {
		return err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	deleted := make([]runtime.Object, 0, len(items))
	for _, item := range items {
		m, _ := meta.Accessor(item)
		out, _, err := h.delete(ctx, m.GetNamespace(), m.GetName(), opts.DeepCopy())
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		default:
			deleted = append(deleted, out)
		}
	}
	// Upstream answers with the list of the deleted objects.
	result := h.newList()
	if err := meta.SetList(result, deleted); err != nil {
		return err
	}
	h.s.writeObject(w, r, http.StatusOK, h.gv, result)
	return nil
}
