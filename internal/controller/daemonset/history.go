package daemonset

import (
	"context"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/controller/pods"
)

// history is a DaemonSet's template history: the revision of its current template and
// the older ones.
type history struct {
	cur            *appsv1.ControllerRevision
	old            []*appsv1.ControllerRevision
	collisionCount int32
}

// syncHistory claims the DaemonSet's ControllerRevisions and makes sure its current
// template has one, numbered above every other (a rollback to an old template renumbers
// that template's revision rather than copying it). Duplicates of the current revision
// are deleted.
func (c *Controller) syncHistory(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) (history, error) {
	h := history{}
	if ds.Status.CollisionCount != nil {
		h.collisionCount = *ds.Status.CollisionCount
	}
	all, err := c.revisions.ControllerRevisions(ds.Namespace).List(sel)
	if err != nil {
		return h, err
	}
	owned, err := pods.RevisionRefManager(c.opts.Client, ds, kind, sel, c.recheck(ds)).Claim(ctx, all)
	if err != nil {
		return h, err
	}
	data, err := pods.TemplatePatch(&ds.Spec.Template)
	if err != nil {
		return h, err
	}
	want := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: data}}
	var same []*appsv1.ControllerRevision
	for _, r := range owned {
		if pods.EqualRevisions(r, want) {
			same = append(same, r)
		} else {
			h.old = append(h.old, r)
		}
	}
	next := pods.NextRevision(h.old)
	if len(same) == 0 {
		rev := pods.NewRevision(ds, kind, ds.Spec.Template.Labels, data, next, &h.collisionCount)
		rev.Annotations = maps.Clone(ds.Annotations) // kubectl shows their change-cause in the history
		if h.cur, err = pods.CreateRevision(ctx, c.opts.Client, ds, kind, rev, &h.collisionCount); err != nil {
			return h, err
		}
	} else {
		pods.SortRevisions(same)
		h.cur = same[len(same)-1]
		for _, dup := range same[:len(same)-1] {
			if err := c.deleteRevision(ctx, dup); err != nil {
				return h, err
			}
		}
	}
	if h.cur.Revision < next {
		if h.cur, err = pods.SetRevisionNumber(ctx, c.opts.Client, h.cur, next); err != nil {
			return h, err
		}
	}
	return h, nil
}

// cleanupHistory deletes the oldest revisions beyond revisionHistoryLimit that no pod runs.
func (c *Controller) cleanupHistory(ctx context.Context, ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, owned []*corev1.Pod) error {
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	excess := len(old) - limit
	if excess <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, p := range owned {
		if h := p.Labels[hashLabel]; h != "" {
			live[h] = true
		}
	}
	pods.SortRevisions(old)
	for _, r := range old {
		if excess == 0 {
			break
		}
		if live[r.Labels[hashLabel]] {
			continue
		}
		if err := c.deleteRevision(ctx, r); err != nil {
			return err
		}
		excess--
	}
	return nil
}

func (c *Controller) deleteRevision(ctx context.Context, r *appsv1.ControllerRevision) error {
	err := c.opts.Client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting controllerrevision %s/%s: %w", r.Namespace, r.Name, err)
	}
	return nil
}
