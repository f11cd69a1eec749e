package daemonset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// Upstream's event reasons of the DaemonSet controller (pod creation and deletion events
// come from pods.Control).
const (
	reasonSelectingAll    = "SelectingAll"
	reasonFailedDaemonPod = "FailedDaemonPod"
)

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	ds, err := c.sets.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil // validation refuses such selectors; nothing to do until it changes
	}
	if sel.Empty() {
		c.opts.Recorder.Event(ds, corev1.EventTypeWarning, reasonSelectingAll, "This daemon set is selecting all pods. A non-empty selector is required.")
		return nil
	}
	if ds.DeletionTimestamp != nil {
		return nil // the garbage collector removes its pods
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	owned, err := c.claimPods(ctx, ds, sel)
	if err != nil {
		return err
	}
	h, err := c.syncHistory(ctx, ds, sel)
	if err != nil {
		return err
	}
	v := newView(ds, h.cur.Labels[hashLabel], nodes, owned, c.opts.Clock.Now())
	var requeue time.Duration
	if c.satisfied(key) {
		if requeue, err = c.converge(ctx, key, v); err != nil {
			return err
		}
		if err := c.cleanupHistory(ctx, ds, h.old, owned); err != nil {
			return err
		}
	}
	st := v.statusCounts()
	if err := c.updateStatus(ctx, ds, st, h.collisionCount); err != nil {
		return err
	}
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		requeue = shorter(requeue, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	if requeue > 0 {
		return base.RequeueAfter(requeue)
	}
	return nil
}

func shorter(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

// claimPods returns the pods ds controls, adopting matching orphans and releasing its pods
// that no longer match.
func (c *Controller) claimPods(ctx context.Context, ds *appsv1.DaemonSet, sel labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	return pods.PodRefManager(c.opts.Client, ds, kind, sel, c.recheck(ds)).Claim(ctx, all)
}

func (c *Controller) recheck(ds *appsv1.DaemonSet) func(context.Context) error {
	return pods.RecheckOwner(ds.UID, func(ctx context.Context) (metav1.Object, error) {
		return c.opts.Client.AppsV1().DaemonSets(ds.Namespace).Get(ctx, ds.Name, metav1.GetOptions{})
	})
}

// converge creates and deletes the pods the nodes need and, when they need none and the
// strategy is RollingUpdate, takes the next step of the rollout. It returns when to look
// again for failed pods still in their backoff.
func (c *Controller) converge(ctx context.Context, key string, v *view) (time.Duration, error) {
	p := v.manage()
	retry := c.admitFailed(v, &p)
	if len(p.createOn) == 0 && len(p.remove) == 0 && v.ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		p = v.rollingUpdate()
	}
	return retry, c.apply(ctx, key, v.ds, v.hash, p)
}

// admitFailed moves the failed pods whose node is out of backoff to p.remove, with an
// event, and returns how long until the next one is.
func (c *Controller) admitFailed(v *view, p *plan) time.Duration {
	var retry time.Duration
	now := c.failedBackoff.Clock.Now()
	for _, pod := range p.failed {
		node := targetNode(pod)
		id := v.ds.Namespace + "/" + v.ds.Name + "/" + node
		if c.failedBackoff.IsInBackOffSinceUpdate(id, now) {
			retry = shorter(retry, c.failedBackoff.Get(id))
			continue
		}
		c.failedBackoff.Next(id, now)
		c.opts.Recorder.Eventf(v.ds, corev1.EventTypeWarning, reasonFailedDaemonPod,
			"Found failed daemon pod %s/%s on node %s, will try to kill it", pod.Namespace, pod.Name, node)
		p.remove = append(p.remove, pod)
	}
	return retry
}

// apply carries a plan out, at most BurstReplicas creations and deletions at a time,
// creating in slow-start batches. Expectations hold the next sync back until the informer
// has seen every change.
func (c *Controller) apply(ctx context.Context, key string, ds *appsv1.DaemonSet, hash string, p plan) error {
	create := p.createOn[:min(len(p.createOn), BurstReplicas)]
	remove := p.remove[:min(len(p.remove), BurstReplicas)]
	removeKeys := make([]string, len(remove))
	for i, pod := range remove {
		removeKeys[i] = pods.Key(pod)
	}
	c.creations.ExpectCreations(key, len(create))
	c.deletions.ExpectDeletions(key, removeKeys)

	template := podTemplate(ds, hash)
	ref := pods.NewControllerRef(ds, kind)
	var tried atomic.Int32
	_, createErr := pods.SlowStartBatch(len(create), 1, func(i int) error {
		tried.Add(1)
		pod := pods.FromTemplate(template, ds.Name, ref)
		pod.Namespace = ds.Namespace
		pod.Spec.Affinity = pinToNode(pod.Spec.Affinity, create[i])
		if _, err := c.control.Create(ctx, pod, ds); err != nil {
			c.creations.CreationObserved(key)
			if apierrors.IsTimeout(err) {
				return nil // the pod may still appear; the informer will tell
			}
			return err
		}
		return nil
	})
	if skipped := len(create) - int(tried.Load()); skipped > 0 {
		c.creations.LowerCreations(key, skipped)
	}

	errs := make([]error, len(remove))
	var wg sync.WaitGroup
	for i, pod := range remove {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.control.Delete(ctx, pod.Namespace, pod.Name, ds); err != nil {
				c.deletions.DeletionObserved(key, removeKeys[i])
				if !apierrors.IsNotFound(err) {
					errs[i] = err
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(append(errs, createErr)...)
}

// podTemplate is the template daemon pods are made from: the DaemonSet's, with the daemon
// tolerations and labelled with the revision hash and template generation.
func podTemplate(ds *appsv1.DaemonSet, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	addDaemonTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if gen, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]; ok {
		t.Labels[generationLabel] = gen
	}
	if hash != "" {
		t.Labels[hashLabel] = hash
	}
	return t
}

// updateStatus writes the counts when they changed, with observedGeneration.
func (c *Controller) updateStatus(ctx context.Context, ds *appsv1.DaemonSet, counts appsv1.DaemonSetStatus, collisionCount int32) error {
	st := counts
	st.ObservedGeneration = ds.Generation
	st.Conditions = ds.Status.Conditions
	st.CollisionCount = ds.Status.CollisionCount
	if collisionCount > 0 || st.CollisionCount != nil {
		st.CollisionCount = &collisionCount
	}
	if apiequality.Semantic.DeepEqual(ds.Status, st) {
		return nil
	}
	cp := ds.DeepCopy()
	cp.Status = st
	if _, err := c.opts.Client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating status of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil
}
