package deployment

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestCalculateStatus(t *testing.T) {
	t.Parallel()
	d := dep(4, intstr.FromInt32(1), intstr.FromInt32(1))
	d.Status.CollisionCount = ptr.To[int32](2)
	old, newRS := rs("old", 1, 2, 2, 0), rs("new", 2, 3, 1, 0)
	old.Status.TerminatingReplicas, newRS.Status.TerminatingReplicas = ptr.To[int32](1), ptr.To[int32](0)
	st := calculateStatus(d, []*appsv1.ReplicaSet{old, newRS}, newRS, t0)
	if st.Replicas != 5 || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 ||
		st.UnavailableReplicas != 2 || ptr.Deref(st.TerminatingReplicas, -1) != 1 || st.ObservedGeneration != 1 || ptr.Deref(st.CollisionCount, 0) != 2 {
		t.Errorf("status %+v", st)
	}
	if c := getCondition(&st, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionTrue || c.Reason != ReasonMinimumReplicasAvailable {
		t.Errorf("3 of 4 available with maxUnavailable 1: Available %+v", c)
	}
	newRS.Status.AvailableReplicas = 0
	st = calculateStatus(d, []*appsv1.ReplicaSet{old, newRS}, newRS, t0)
	if c := getCondition(&st, appsv1.DeploymentAvailable); c == nil || c.Status != corev1.ConditionFalse || c.Reason != ReasonMinimumReplicasUnavailable ||
		c.Message != "Deployment does not have minimum availability." {
		t.Errorf("2 of 4 available: Available %+v", c)
	}
}

func TestRolloutStatusProgressing(t *testing.T) {
	t.Parallel()
	progressingSince := func(d *appsv1.Deployment, reason string, at time.Time) {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: reason,
			LastUpdateTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}}
	}
	for _, tc := range []struct {
		name       string
		setup      func(d *appsv1.Deployment)
		newAvail   int32
		now        time.Time
		wantStatus corev1.ConditionStatus
		wantReason string
		wantMsg    string
	}{
		{name: "every replica updated and available completes the rollout",
			setup: func(d *appsv1.Deployment) {
				progressingSince(d, ReasonReplicaSetUpdated, t0)
				d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas = 2, 2, 1
			},
			newAvail: 2, now: t0.Add(time.Second), wantStatus: corev1.ConditionTrue, wantReason: ReasonNewRSAvailable,
			wantMsg: `ReplicaSet "new" has successfully progressed.`},
		{name: "more available pods is progress",
			setup: func(d *appsv1.Deployment) {
				progressingSince(d, ReasonNewRSCreated, t0)
				d.Status.Replicas, d.Status.UpdatedReplicas = 2, 2
			},
			newAvail: 1, now: t0.Add(time.Hour), wantStatus: corev1.ConditionTrue, wantReason: ReasonReplicaSetUpdated,
			wantMsg: `ReplicaSet "new" is progressing.`},
		{name: "no progress within the deadline times out",
			setup: func(d *appsv1.Deployment) {
				progressingSince(d, ReasonReplicaSetUpdated, t0)
				d.Status.Replicas, d.Status.UpdatedReplicas = 2, 2
			},
			now: t0.Add(601 * time.Second), wantStatus: corev1.ConditionFalse, wantReason: ReasonTimedOut,
			wantMsg: `ReplicaSet "new" has timed out progressing.`},
		{name: "no progress before the deadline keeps the condition",
			setup: func(d *appsv1.Deployment) {
				progressingSince(d, ReasonReplicaSetUpdated, t0)
				d.Status.Replicas, d.Status.UpdatedReplicas = 2, 2
			},
			now: t0.Add(599 * time.Second), wantStatus: corev1.ConditionTrue, wantReason: ReasonReplicaSetUpdated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(2, intstr.FromInt32(1), intstr.FromInt32(0))
			tc.setup(d)
			newRS := rs("new", 1, 2, tc.newAvail, 0)
			st := rolloutStatus(d, []*appsv1.ReplicaSet{newRS}, newRS, tc.now)
			c := getCondition(&st, appsv1.DeploymentProgressing)
			if c == nil || c.Status != tc.wantStatus || c.Reason != tc.wantReason || (tc.wantMsg != "" && c.Message != tc.wantMsg) {
				t.Errorf("Progressing %+v, want %s %s %q", c, tc.wantStatus, tc.wantReason, tc.wantMsg)
			}
		})
	}
}

func TestRolloutStatusCarriesReplicaFailures(t *testing.T) {
	t.Parallel()
	d := dep(2, intstr.FromInt32(1), intstr.FromInt32(0))
	newRS := rs("new", 1, 2, 0, 0)
	newRS.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "quota"}}
	st := rolloutStatus(d, []*appsv1.ReplicaSet{newRS}, newRS, t0)
	if c := getCondition(&st, appsv1.DeploymentReplicaFailure); c == nil || c.Reason != "FailedCreate" || c.Message != "quota" {
		t.Errorf("ReplicaFailure %+v", c)
	}
	newRS.Status.Conditions = nil
	d.Status = st
	if st := rolloutStatus(d, []*appsv1.ReplicaSet{newRS}, newRS, t0); getCondition(&st, appsv1.DeploymentReplicaFailure) != nil {
		t.Error("ReplicaFailure kept after the replica set recovered")
	}
}

func TestStuckRecheck(t *testing.T) {
	t.Parallel()
	d := dep(2, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: ReasonReplicaSetUpdated,
		LastUpdateTime: metav1.NewTime(t0)}}
	st := d.Status
	if got := stuckRecheck(d, &st, t0.Add(3*time.Minute)); got != 7*time.Minute {
		t.Errorf("recheck after %v, want 7m (deadline 10m, 3m gone)", got)
	}
	if got := stuckRecheck(d, &st, t0.Add(time.Hour)); got != time.Second {
		t.Errorf("recheck after %v past the deadline, want 1s", got)
	}
}

func TestPausedCondition(t *testing.T) {
	t.Parallel()
	d := dep(2, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.Paused = true
	if !pausedCondition(d, t0) {
		t.Fatal("pausing did not change the condition")
	}
	if c := getCondition(&d.Status, appsv1.DeploymentProgressing); c.Status != corev1.ConditionUnknown || c.Reason != ReasonPaused || c.Message != "Deployment is paused" {
		t.Errorf("paused %+v", c)
	}
	if pausedCondition(d, t0) {
		t.Error("pausing twice changed the condition again")
	}
	d.Spec.Paused = false
	if !pausedCondition(d, t0) || getCondition(&d.Status, appsv1.DeploymentProgressing).Reason != ReasonResumed {
		t.Errorf("resume: %+v", getCondition(&d.Status, appsv1.DeploymentProgressing))
	}
	d.Spec.Paused = true
	d.Status.Conditions[0].Reason = ReasonTimedOut
	if pausedCondition(d, t0) {
		t.Error("pausing overwrote ProgressDeadlineExceeded")
	}
}

func TestRevisionAnnotations(t *testing.T) {
	t.Parallel()
	d := dep(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "v2", corev1.LastAppliedConfigAnnotation: "{}", RevisionAnnotation: "7"}
	t.Run("a new replica set gets the revision, the deployment's annotations and its sizes", func(t *testing.T) {
		r := rs("new", 1, 0, 0, 0)
		if !setNewReplicaSetAnnotations(d, r, "2", false) {
			t.Fatal("nothing changed")
		}
		a := r.Annotations
		if a[RevisionAnnotation] != "2" || a["kubernetes.io/change-cause"] != "v2" || a[DesiredReplicasAnnotation] != "3" || a[MaxReplicasAnnotation] != "4" {
			t.Errorf("annotations %v", a)
		}
		if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
			t.Error("last-applied-configuration copied")
		}
		if _, ok := a[RevisionHistoryAnnotation]; ok {
			t.Error("a new replica set has a revision history")
		}
	})
	t.Run("an old replica set brought back keeps its former revisions", func(t *testing.T) {
		r := rs("back", 1, 0, 0, 0)
		r.Annotations[RevisionAnnotation] = "3"
		r.Annotations[RevisionHistoryAnnotation] = "1"
		setNewReplicaSetAnnotations(d, r, "5", true)
		if r.Annotations[RevisionAnnotation] != "5" || r.Annotations[RevisionHistoryAnnotation] != "1,3" {
			t.Errorf("annotations %v", r.Annotations)
		}
		if setNewReplicaSetAnnotations(d, r, "5", true) {
			t.Error("an up-to-date replica set changed")
		}
	})
	t.Run("the history is bounded", func(t *testing.T) {
		long := strings.Repeat("12345,", 400) + "1"
		got := appendHistory(long, "999")
		if len(got) > maxRevisionHistoryChars || !strings.HasSuffix(got, ",999") {
			t.Errorf("history of %d chars ending %q", len(got), got[len(got)-10:])
		}
	})
}

func TestTemplateHash(t *testing.T) {
	t.Parallel()
	d := dep(1, intstr.FromInt32(1), intstr.FromInt32(0))
	a := templateHash(&d.Spec.Template, nil)
	if a != templateHash(d.Spec.Template.DeepCopy(), nil) {
		t.Error("the hash of equal templates differs")
	}
	if a == templateHash(&d.Spec.Template, ptr.To[int32](1)) {
		t.Error("a collision count does not change the hash")
	}
	other := d.Spec.Template.DeepCopy()
	other.Spec.Containers = []corev1.Container{{Name: "c", Image: "img:2"}}
	if a == templateHash(other, nil) {
		t.Error("different templates hash alike")
	}
	hashed := d.Spec.Template.DeepCopy()
	hashed.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = a
	if !equalIgnoreHash(hashed, &d.Spec.Template) || equalIgnoreHash(other, &d.Spec.Template) {
		t.Error("equalIgnoreHash")
	}
}
