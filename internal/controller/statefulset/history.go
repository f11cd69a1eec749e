package statefulset

import (
	"context"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/controller/pods"
)

// revisions are a StatefulSet's revisions for one sync.
type revisions struct {
	all            []*appsv1.ControllerRevision // sorted oldest first
	cur, upd       *appsv1.ControllerRevision
	collisionCount int32
}

// syncRevisions claims the set's ControllerRevisions and finds its update revision (the
// revision of its template, created, or renumbered newest when an older revision has the
// same template: a rollback) and its current revision (status.currentRevision, or the
// update revision when there is none).
func (c *Controller) syncRevisions(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) (revisions, error) {
	r := revisions{}
	if set.Status.CollisionCount != nil {
		r.collisionCount = *set.Status.CollisionCount
	}
	listed, err := c.revisions.ControllerRevisions(set.Namespace).List(sel)
	if err != nil {
		return r, err
	}
	recheck := pods.RecheckOwner(set.UID, func(ctx context.Context) (metav1.Object, error) {
		return c.opts.Client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	})
	if r.all, err = pods.RevisionRefManager(c.opts.Client, set, kind, sel, recheck).Claim(ctx, listed); err != nil {
		return r, err
	}
	pods.SortRevisions(r.all)
	data, err := pods.TemplatePatch(&set.Spec.Template)
	if err != nil {
		return r, err
	}
	next := pods.NextRevision(r.all)
	want := pods.NewRevision(set, kind, set.Spec.Template.Labels, data, next, &r.collisionCount)
	want.Annotations = maps.Clone(set.Annotations)
	var same *appsv1.ControllerRevision
	for _, rev := range r.all {
		if pods.EqualRevisions(rev, want) {
			same = rev
		}
	}
	switch {
	case same != nil && same == r.all[len(r.all)-1]:
		r.upd = same
	case same != nil:
		if r.upd, err = pods.SetRevisionNumber(ctx, c.opts.Client, same, next); err != nil {
			return r, err
		}
		r.all = replaceRevision(r.all, same, r.upd)
	default:
		if r.upd, err = pods.CreateRevision(ctx, c.opts.Client, set, kind, want, &r.collisionCount); err != nil {
			return r, err
		}
		if !containsRevision(r.all, r.upd.Name) {
			r.all = append(r.all, r.upd)
		}
	}
	pods.SortRevisions(r.all)
	r.cur = r.upd
	for _, rev := range r.all {
		if rev.Name == set.Status.CurrentRevision {
			r.cur = rev
		}
	}
	return r, nil
}

func replaceRevision(all []*appsv1.ControllerRevision, old, cur *appsv1.ControllerRevision) []*appsv1.ControllerRevision {
	out := make([]*appsv1.ControllerRevision, 0, len(all))
	for _, r := range all {
		if r == old {
			r = cur
		}
		out = append(out, r)
	}
	return out
}

func containsRevision(all []*appsv1.ControllerRevision, name string) bool {
	for _, r := range all {
		if r.Name == name {
			return true
		}
	}
	return false
}

// atRevision returns set with the pod template recorded in rev.
func atRevision(set *appsv1.StatefulSet, rev *appsv1.ControllerRevision) (*appsv1.StatefulSet, error) {
	t, err := pods.RevisionTemplate(rev)
	if err != nil {
		return nil, err
	}
	out := set.DeepCopy()
	out.Spec.Template = *t
	return out, nil
}

// truncateHistory deletes the oldest revisions beyond revisionHistoryLimit that are neither
// current, nor the update revision, nor run by a pod.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, owned []*corev1.Pod, r revisions) error {
	live := map[string]bool{r.cur.Name: true, r.upd.Name: true}
	for _, p := range owned {
		live[revisionOf(p)] = true
	}
	var dead []*appsv1.ControllerRevision
	for _, rev := range r.all {
		if !live[rev.Name] {
			dead = append(dead, rev)
		}
	}
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	for i := 0; i < len(dead)-limit; i++ {
		err := c.opts.Client.AppsV1().ControllerRevisions(set.Namespace).Delete(ctx, dead[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting controllerrevision %s/%s: %w", set.Namespace, dead[i].Name, err)
		}
	}
	return nil
}
