package statefulset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	set, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil // validation refuses such selectors
	}
	owned, err := c.claimPods(ctx, set, sel)
	if err != nil {
		return err
	}
	revs, err := c.syncRevisions(ctx, set, sel)
	if err != nil {
		return err
	}
	pl := &planner{set: set, curRev: revs.cur.Name, updRev: revs.upd.Name, pods: owned, claim: c.cachedClaim(ns), now: c.opts.Clock.Now()}
	if pl.cur, err = atRevision(set, revs.cur); err != nil {
		return err
	}
	if pl.upd, err = atRevision(set, revs.upd); err != nil {
		return err
	}
	stepErr := c.execute(ctx, set, pl.plan())
	st := pl.counts()
	st.ObservedGeneration = set.Generation
	st.CurrentRevision, st.UpdateRevision = revs.cur.Name, revs.upd.Name
	st.CollisionCount = &revs.collisionCount
	st.Conditions = set.Status.Conditions
	completeRollout(set, &st)
	if err := c.updateStatus(ctx, set, st); err != nil {
		return errors.Join(stepErr, err)
	}
	if stepErr != nil {
		return stepErr
	}
	if err := c.truncateHistory(ctx, set, owned, revs); err != nil {
		return err
	}
	if set.Spec.MinReadySeconds > 0 && st.ReadyReplicas != st.AvailableReplicas {
		return base.RequeueAfter(time.Duration(set.Spec.MinReadySeconds) * time.Second)
	}
	return nil
}

func (c *Controller) cachedClaim(ns string) func(string) *corev1.PersistentVolumeClaim {
	return func(name string) *corev1.PersistentVolumeClaim {
		pvc, err := c.claims.PersistentVolumeClaims(ns).Get(name)
		if err != nil {
			return nil
		}
		return pvc
	}
}

// claimPods returns the pods the set controls: it adopts orphans that match its selector
// and are named after it, and releases its pods that no longer are.
func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, sel labels.Selector) ([]*corev1.Pod, error) {
	all, err := c.pods.Pods(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	recheck := pods.RecheckOwner(set.UID, func(ctx context.Context) (metav1.Object, error) {
		return c.opts.Client.AppsV1().StatefulSets(set.Namespace).Get(ctx, set.Name, metav1.GetOptions{})
	})
	m := pods.PodRefManager(c.opts.Client, set, kind, sel, recheck)
	m.Match = func(p *corev1.Pod) bool { return sel.Matches(labels.Set(p.Labels)) && isMember(set, p) }
	return m.Claim(ctx, all)
}

// execute runs the steps phase by phase, the steps of a phase in parallel, and stops after
// the first phase with a failure.
func (c *Controller) execute(ctx context.Context, set *appsv1.StatefulSet, steps []step) error {
	for len(steps) > 0 {
		n := 1
		for n < len(steps) && steps[n].phase == steps[0].phase {
			n++
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = c.do(ctx, set, steps[i])
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		steps = steps[n:]
	}
	return nil
}

func (c *Controller) do(ctx context.Context, set *appsv1.StatefulSet, s step) error {
	switch s.op {
	case opCreate:
		if err := c.ensureClaims(ctx, set, s.pod); err != nil {
			return err
		}
		_, err := c.opts.Client.CoreV1().Pods(set.Namespace).Create(ctx, s.pod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return err // the cache is behind; no event
		}
		c.podEvent("create", set, s.pod, err)
		return err
	case opDelete:
		switch s.recreate {
		case corev1.PodFailed:
			c.opts.Recorder.Eventf(set, corev1.EventTypeWarning, "RecreatingFailedPod", "StatefulSet %s/%s is recreating failed Pod %s", set.Namespace, set.Name, s.pod.Name)
		case corev1.PodSucceeded:
			c.opts.Recorder.Eventf(set, corev1.EventTypeNormal, "RecreatingTerminatedPod", "StatefulSet %s/%s is recreating terminated Pod %s", set.Namespace, set.Name, s.pod.Name)
		}
		err := c.opts.Client.CoreV1().Pods(set.Namespace).Delete(ctx, s.pod.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &s.pod.UID},
		})
		if apierrors.IsNotFound(err) {
			return nil
		}
		c.podEvent("delete", set, s.pod, err)
		return err
	case opUpdate:
		if err := c.ensureClaims(ctx, set, s.pod); err != nil {
			return err
		}
		return c.updatePod(ctx, set, s.pod)
	case opClaims, opClaimOwners:
		return c.ensureClaims(ctx, set, s.pod)
	}
	return nil
}

// podEvent records upstream's event of a pod action: "create Pod web-0 in StatefulSet web
// successful", or the failure.
func (c *Controller) podEvent(verb string, set *appsv1.StatefulSet, p *corev1.Pod, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.opts.Recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title, "%s Pod %s in StatefulSet %s successful", verb, p.Name, set.Name)
		return
	}
	c.opts.Recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title, "%s Pod %s in StatefulSet %s failed error: %s", verb, p.Name, set.Name, err)
}

func (c *Controller) claimEvent(verb string, set *appsv1.StatefulSet, p *corev1.Pod, claim string, err error) {
	title := strings.ToUpper(verb[:1]) + verb[1:]
	if err == nil {
		c.opts.Recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title, "%s Claim %s Pod %s in StatefulSet %s success", verb, claim, p.Name, set.Name)
		return
	}
	c.opts.Recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title, "%s Claim %s Pod %s in StatefulSet %s failed error: %s", verb, claim, p.Name, set.Name, err)
}

// ensureClaims creates the pod's missing PVCs and sets the owners of its PVCs by the
// retention policy. A PVC being deleted is an error: the pod must wait for it to go.
func (c *Controller) ensureClaims(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	api := c.opts.Client.CoreV1().PersistentVolumeClaims(set.Namespace)
	var errs []error
	for _, want := range claimsFor(set, ordinalOf(p)) {
		have, err := c.claims.PersistentVolumeClaims(set.Namespace).Get(want.Name)
		switch {
		case apierrors.IsNotFound(err):
			want.OwnerReferences, _ = claimOwners(&want, set, p)
			_, err := api.Create(ctx, &want, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue // the cache is behind
			}
			c.claimEvent("create", set, p, want.Name, err)
			if err != nil {
				errs = append(errs, fmt.Errorf("creating claim %s/%s: %w", set.Namespace, want.Name, err))
			}
		case err != nil:
			errs = append(errs, err)
		case have.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("claim %s/%s is being deleted", set.Namespace, want.Name))
		default:
			refs, change := claimOwners(have, set, p)
			if !change {
				continue
			}
			cp := have.DeepCopy()
			cp.OwnerReferences = refs
			if _, err := api.Update(ctx, cp, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("updating owners of claim %s/%s: %w", set.Namespace, want.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// updatePod gives an existing pod its identity labels and volumes, re-reading it on conflict.
func (c *Controller) updatePod(ctx context.Context, set *appsv1.StatefulSet, p *corev1.Pod) error {
	if identityMatches(set, p) && storageMatches(set, p) {
		return nil
	}
	api := c.opts.Client.CoreV1().Pods(set.Namespace)
	cur := p.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		setIdentity(set, cur)
		setStorage(set, cur)
		_, err := api.Update(ctx, cur, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := api.Get(ctx, p.Name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		cur = fresh
		return err
	})
	c.podEvent("update", set, p, err)
	return err
}

// updateStatus writes st when it differs from the set's status.
func (c *Controller) updateStatus(ctx context.Context, set *appsv1.StatefulSet, st appsv1.StatefulSetStatus) error {
	old := set.Status
	if old.ObservedGeneration == st.ObservedGeneration && old.Replicas == st.Replicas && old.ReadyReplicas == st.ReadyReplicas &&
		old.CurrentReplicas == st.CurrentReplicas && old.UpdatedReplicas == st.UpdatedReplicas && old.AvailableReplicas == st.AvailableReplicas &&
		old.CurrentRevision == st.CurrentRevision && old.UpdateRevision == st.UpdateRevision &&
		old.CollisionCount != nil && *old.CollisionCount == *st.CollisionCount {
		return nil
	}
	cp := set.DeepCopy()
	cp.Status = st
	if _, err := c.opts.Client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}
