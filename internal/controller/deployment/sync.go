package deployment

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// state is one sync of one deployment: our copy of it and of its ReplicaSets list, kept
// current as the sync writes them so that later steps never write a stale version.
type state struct {
	c   *Controller
	d   *appsv1.Deployment
	rss []*appsv1.ReplicaSet
	now time.Time
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	s := &state{c: c, d: cached.DeepCopy(), now: c.opts.Clock.Now()}
	if s.d.Spec.Selector == nil || apiequality.Semantic.DeepEqual(s.d.Spec.Selector, &metav1.LabelSelector{}) {
		c.opts.Recorder.Eventf(s.d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if s.d.Status.ObservedGeneration < s.d.Generation {
			s.d.Status.ObservedGeneration = s.d.Generation
			return s.writeStatus(ctx)
		}
		return nil
	}
	if s.rss, err = c.claimReplicaSets(ctx, s.d); err != nil {
		return err
	}
	if s.d.DeletionTimestamp != nil {
		return s.syncScale(ctx, false)
	}
	if pausedCondition(s.d, s.now) {
		if err := s.writeStatus(ctx); err != nil {
			return err
		}
	}
	if s.d.Spec.Paused {
		return s.syncScale(ctx, true)
	}
	scaling, err := s.isScalingEvent(ctx)
	if err != nil {
		return err
	}
	if scaling {
		return s.syncScale(ctx, true)
	}
	if s.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return s.rolloutRecreate(ctx)
	}
	return s.rolloutRolling(ctx)
}

// claimReplicaSets adopts and releases ReplicaSets by the deployment's selector.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has an invalid selector: %w", d.Namespace, d.Name, err)
	}
	all, err := c.rss.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	m := &pods.RefManager[*appsv1.ReplicaSet]{
		Owner: d, Kind: deploymentKind,
		Match: func(rs *appsv1.ReplicaSet) bool { return sel.Matches(labels.Set(rs.Labels)) },
		CanAdopt: pods.RecheckOwner(d.UID, func(ctx context.Context) (metav1.Object, error) {
			return c.opts.Client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		}),
		Patch: func(ctx context.Context, rs *appsv1.ReplicaSet, patch []byte) error {
			_, err := c.opts.Client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
	return m.Claim(ctx, all)
}

// writeStatus writes the status (and annotations) of our copy, which then takes the
// stored version. Upstream's deployments/status resets only spec and labels, so the
// revision annotation travels with the status, without bumping the generation.
func (s *state) writeStatus(ctx context.Context) error {
	updated, err := s.c.opts.Client.AppsV1().Deployments(s.d.Namespace).UpdateStatus(ctx, s.d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("updating status of deployment %s/%s: %w", s.d.Namespace, s.d.Name, err)
	}
	*s.d = *updated
	return nil
}

// replace puts a written ReplicaSet into the list in place of its older version.
func (s *state) replace(rs *appsv1.ReplicaSet) {
	for i := range s.rss {
		if s.rss[i].UID == rs.UID {
			s.rss[i] = rs
			return
		}
	}
	s.rss = append(s.rss, rs)
}

// isScalingEvent: the deployment's size changed since an active ReplicaSet was last
// scaled for it (its desired-replicas annotation).
func (s *state) isScalingEvent(ctx context.Context) (bool, error) {
	newRS, olds, err := s.newReplicaSet(ctx, false)
	if err != nil {
		return false, err
	}
	for _, rs := range active(append(olds, newRS)) {
		if want, ok := annotationInt32(rs, DesiredReplicasAnnotation); ok && want != desired(s.d) {
			return true, nil
		}
	}
	return false, nil
}

// syncScale scales without rolling out (a paused deployment, a scaling event, or a
// deployment being deleted when scale is false) and writes the status.
func (s *state) syncScale(ctx context.Context, scale bool) error {
	newRS, olds, err := s.newReplicaSet(ctx, false)
	if err != nil {
		return err
	}
	if scale {
		if err := s.scale(ctx, newRS, olds); err != nil {
			return err
		}
		if s.d.Spec.Paused {
			if err := s.cleanup(ctx, oldReplicaSets(s.rss, newRS)); err != nil {
				return err
			}
		}
		newRS = s.current(newRS)
	}
	st := calculateStatus(s.d, s.rss, newRS, s.now)
	if apiequality.Semantic.DeepEqual(s.d.Status, st) {
		return nil
	}
	s.d.Status = st
	return s.writeStatus(ctx)
}

// current returns the latest version of rs in the list.
func (s *state) current(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if rs == nil {
		return nil
	}
	for _, x := range s.rss {
		if x.UID == rs.UID {
			return x
		}
	}
	return rs
}

// syncRolloutStatus writes the rollout's status, or, when nothing changed, asks to be
// looked at again when the progress deadline would pass.
func (s *state) syncRolloutStatus(ctx context.Context, newRS *appsv1.ReplicaSet) error {
	newRS = s.current(newRS)
	st := rolloutStatus(s.d, s.rss, newRS, s.now)
	if apiequality.Semantic.DeepEqual(s.d.Status, st) {
		if after := stuckRecheck(s.d, &st, s.now); after > 0 {
			return base.RequeueAfter(after)
		}
		return nil
	}
	s.d.Status = st
	return s.writeStatus(ctx)
}
