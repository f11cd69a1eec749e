package deployment

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"capstan/internal/controller/pods"
)

// newReplicaSet finds the ReplicaSet of the deployment's template, bringing its
// annotations (revision) and minReadySeconds up to date, and returns it with the other
// ReplicaSets. When there is none and create is set it creates it (named by the template
// hash; on a name clash with another template it bumps status.collisionCount and fails,
// so the next sync tries the next name).
func (s *state) newReplicaSet(ctx context.Context, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing := findNewReplicaSet(s.d, s.rss)
	olds := oldReplicaSets(s.rss, existing)
	newRevision := strconv.FormatInt(maxRevision(olds)+1, 10)
	if existing != nil {
		rs, err := s.refreshNewReplicaSet(ctx, existing, newRevision)
		return rs, olds, err
	}
	if !create {
		return nil, olds, nil
	}
	rs, err := s.createNewReplicaSet(ctx, olds, newRevision)
	return rs, olds, err
}

func (s *state) refreshNewReplicaSet(ctx context.Context, existing *appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, error) {
	rs := existing.DeepCopy()
	changed := setNewReplicaSetAnnotations(s.d, rs, newRevision, true)
	if changed || rs.Spec.MinReadySeconds != s.d.Spec.MinReadySeconds {
		rs.Spec.MinReadySeconds = s.d.Spec.MinReadySeconds
		updated, err := s.c.opts.Client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("updating replica set %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		s.replace(updated)
		return updated, nil
	}
	// The deployment takes the revision of its new ReplicaSet.
	needsUpdate := setDeploymentRevision(s.d, rs.Annotations[RevisionAnnotation])
	if hasProgressDeadline(s.d) && getCondition(&s.d.Status, appsv1.DeploymentProgressing) == nil {
		setCondition(&s.d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewRS,
			fmt.Sprintf("Found new replica set %q", rs.Name), s.now))
		needsUpdate = true
	}
	if needsUpdate {
		if err := s.writeStatus(ctx); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

func setDeploymentRevision(d *appsv1.Deployment, rev string) bool {
	if d.Annotations[RevisionAnnotation] == rev {
		return false
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[RevisionAnnotation] = rev
	return true
}

// newReplicaSetFor is the ReplicaSet a deployment creates for its template: the template
// and selector with the pod-template-hash label, zero replicas (the caller sizes it).
func newReplicaSetFor(d *appsv1.Deployment) *appsv1.ReplicaSet {
	hash := templateHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl := *d.Spec.Template.DeepCopy()
	tmpl.Labels = withLabel(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*pods.NewControllerRef(d, deploymentKind)},
			Labels:          tmpl.Labels,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To[int32](0),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        sel,
			Template:        tmpl,
		},
	}
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func (s *state) createNewReplicaSet(ctx context.Context, olds []*appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, error) {
	d := s.d
	rs := newReplicaSetFor(d)
	size := newRSReplicas(d, append(olds, rs), rs)
	rs.Spec.Replicas = ptr.To(size)
	setNewReplicaSetAnnotations(d, rs, newRevision, false)
	created, err := s.c.opts.Client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	existed := false
	switch {
	case apierrors.IsAlreadyExists(err):
		got, getErr := s.c.rss.ReplicaSets(d.Namespace).Get(rs.Name)
		if getErr != nil {
			return nil, getErr
		}
		if ref := metav1.GetControllerOfNoCopy(got); ref != nil && ref.UID == d.UID && equalIgnoreHash(&d.Spec.Template, &got.Spec.Template) {
			created, existed = got, true
			break
		}
		// Another template has this name: try the next hash.
		d.Status.CollisionCount = ptr.To(ptr.Deref(d.Status.CollisionCount, 0) + 1)
		if werr := s.writeStatus(ctx); werr == nil {
			s.c.log.Debug("pod-template-hash collision", "deployment", d.Namespace+"/"+d.Name, "replicaset", rs.Name)
		}
		return nil, err
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonFailedRSCreate, msg, s.now))
			_ = s.writeStatus(ctx)
		}
		s.c.opts.Recorder.Event(d, corev1.EventTypeWarning, ReasonFailedRSCreate, msg)
		return nil, err
	}
	s.replace(created)
	if !existed && size > 0 {
		s.c.opts.Recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, size)
	}
	needsUpdate := setDeploymentRevision(d, newRevision)
	if !existed && hasProgressDeadline(d) {
		setCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewRSCreated,
			fmt.Sprintf("Created new replica set %q", created.Name), s.now))
		needsUpdate = true
	}
	if needsUpdate {
		if err := s.writeStatus(ctx); err != nil {
			return created, err
		}
	}
	return created, nil
}
