package replicaset

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rs, owner, err := c.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Debug("invalid selector; nothing to do", "key", key, "err", err)
		return nil
	}
	// Read before the cache: a creation observed in between only makes us wait one more
	// sync, never act twice.
	mayAct := c.exp.Satisfied(key)
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var active []*corev1.Pod
	terminating := 0
	for _, p := range all {
		switch {
		case pods.IsActive(p):
			active = append(active, p)
		case !pods.IsTerminal(p) && ownedMatching(p, rs.UID, selector):
			terminating++
		}
	}
	active, err = c.claim(ctx, rs, selector, active)
	if err != nil {
		return err
	}
	var manageErr error
	if mayAct && rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, rs, owner, active, all)
	}
	now := c.opts.Clock.Now()
	status := calculateStatus(rs, active, terminating, c.kind.gvk() == replicaSetKind, manageErr, now)
	status.ObservedGeneration = rs.Generation
	if !apiequality.Semantic.DeepEqual(status, rs.Status) {
		if err := c.kind.updateStatus(ctx, owner, status); err != nil {
			return fmt.Errorf("updating status of %s: %w", key, err)
		}
	}
	if manageErr != nil {
		return manageErr
	}
	if wait := availableWait(active, rs.Spec.MinReadySeconds, now); wait > 0 {
		return base.RequeueAfter(wait)
	}
	return nil
}

func ownedMatching(p *corev1.Pod, uid types.UID, sel labels.Selector) bool {
	ref := metav1.GetControllerOfNoCopy(p)
	return ref != nil && ref.UID == uid && sel.Matches(labels.Set(p.Labels))
}

// claim adopts and releases pods; adoption first re-reads the object from the API.
func (c *Controller) claim(ctx context.Context, rs *appsv1.ReplicaSet, sel labels.Selector, active []*corev1.Pod) ([]*corev1.Pod, error) {
	canAdopt := pods.RecheckOwner(rs.UID, func(ctx context.Context) (metav1.Object, error) {
		return c.kind.fresh(ctx, rs.Namespace, rs.Name)
	})
	m := pods.PodRefManager(c.opts.Client, rs, c.kind.gvk(), sel, canAdopt)
	return m.Claim(ctx, active)
}

// manageReplicas creates or deletes pods so that active has spec.replicas pods, at most
// BurstReplicas per sync.
func (c *Controller) manageReplicas(ctx context.Context, key string, rs *appsv1.ReplicaSet, owner pods.Owner, active, all []*corev1.Pod) error {
	diff := len(active) - int(ptr.Deref(rs.Spec.Replicas, 1))
	switch {
	case diff < 0:
		n := min(-diff, c.opts.BurstReplicas)
		c.exp.ExpectCreations(key, n)
		ref := pods.NewControllerRef(rs, c.kind.gvk())
		created, err := pods.SlowStartBatch(n, 1, func(int) error {
			_, err := c.control.CreateFromTemplate(ctx, rs.Namespace, &rs.Spec.Template, owner, ref)
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // every creation fails until the namespace is gone
			}
			return err
		})
		if skipped := n - created; skipped > 0 {
			c.exp.LowerCreations(key, skipped)
		}
		return err
	case diff > 0:
		n := min(diff, c.opts.BurstReplicas)
		victims := podsToDelete(active, c.relatedPods(rs, active, all), n)
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = pods.Key(p)
		}
		c.exp.ExpectDeletions(key, keys)
		return c.deleteAll(ctx, key, owner, victims)
	}
	return nil
}

func (c *Controller) deleteAll(ctx context.Context, key string, owner pods.Owner, victims []*corev1.Pod) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, p := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.control.Delete(ctx, p.Namespace, p.Name, owner)
			if err == nil {
				return
			}
			// This deletion will never be observed.
			c.exp.DeletionObserved(key, pods.Key(p))
			if !apierrors.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// relatedPods are the active pods of every object controlled by the same owner as rs
// (the ReplicaSets of one Deployment), or rs's own when it has no owner.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet, own, all []*corev1.Pod) []*corev1.Pod {
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil {
		return own
	}
	siblings, err := c.kind.list(rs.Namespace)
	if err != nil {
		return own
	}
	uids := map[types.UID]bool{}
	for _, s := range siblings {
		if r := metav1.GetControllerOfNoCopy(s); r != nil && r.UID == ref.UID {
			uids[s.UID] = true
		}
	}
	var out []*corev1.Pod
	for _, p := range all {
		if r := metav1.GetControllerOfNoCopy(p); r != nil && uids[r.UID] && pods.IsActive(p) {
			out = append(out, p)
		}
	}
	return out
}
