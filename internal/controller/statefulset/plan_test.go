package statefulset

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// spod describes a member pod: "<ordinal>:<revision>:<state>", state one of ready,
// pending, running (not ready), failed, succeeded, terminating.
func spod(set *appsv1.StatefulSet, desc string) *corev1.Pod {
	parts := strings.Split(desc, ":")
	var ord int
	fmt.Sscanf(parts[0], "%d", &ord)
	p := newPod(set, set, ord, "web-"+parts[1])
	p.UID = types.UID("uid-" + p.Name)
	switch parts[2] {
	case "ready", "terminating":
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
		if parts[2] == "terminating" {
			p.DeletionTimestamp = &metav1.Time{Time: t0}
		}
	case "pending":
		p.Status.Phase = corev1.PodPending
	case "running":
		p.Status.Phase = corev1.PodRunning
	case "failed":
		p.Status.Phase = corev1.PodFailed
	case "succeeded":
		p.Status.Phase = corev1.PodSucceeded
	}
	return p
}

func mkPlanner(set *appsv1.StatefulSet, descs ...string) *planner {
	pl := &planner{set: set, cur: set, upd: set, curRev: "web-old", updRev: "web-new", now: t0.Add(time.Hour)}
	for _, d := range descs {
		pl.pods = append(pl.pods, spod(set, d))
	}
	pl.claim = func(name string) *corev1.PersistentVolumeClaim {
		// Every claim of an existing pod exists unless the test says otherwise.
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	return pl
}

// describe renders steps as "create web-0@web-new", "delete web-4", ...
func describe(steps []step) []string {
	out := []string{}
	for _, s := range steps {
		d := map[op]string{opCreate: "create", opDelete: "delete", opUpdate: "update", opClaims: "claims", opClaimOwners: "claim-owners"}[s.op] + " " + s.pod.Name
		if s.op == opCreate {
			d += "@" + revisionOf(s.pod)
		}
		if s.recreate != "" {
			d += " (recreate " + string(s.recreate) + ")"
		}
		out = append(out, d)
	}
	return out
}

func TestPlan(t *testing.T) {
	t.Parallel()
	parallel := func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }
	replicas := func(n int32) func(*appsv1.StatefulSet) {
		return func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To(n) }
	}
	partition := func(n int32) func(*appsv1.StatefulSet) {
		return func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To(n) }
	}
	maxUnavailable := func(v intstr.IntOrString) func(*appsv1.StatefulSet) {
		return func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &v }
	}
	onDelete := func(s *appsv1.StatefulSet) {
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	}
	stale := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web-1", UID: "old"}}}}
	for _, tc := range []struct {
		name   string
		set    *appsv1.StatefulSet
		claims map[string]*corev1.PersistentVolumeClaim
		pods   []string
		want   []string
	}{
		{name: "ordered: the first pod alone", set: newSet(),
			want: []string{"create web-0@web-new"}},
		{name: "ordered: wait for web-0 to be running and ready", set: newSet(), pods: []string{"0:new:pending"}},
		{name: "ordered: wait for a running pod to be ready", set: newSet(), pods: []string{"0:new:running"}},
		{name: "ordered: the next pod once web-0 is ready", set: newSet(), pods: []string{"0:new:ready"},
			want: []string{"create web-1@web-new"}},
		{name: "parallel: every missing pod at once", set: newSet(parallel),
			want: []string{"create web-0@web-new", "create web-1@web-new", "create web-2@web-new"}},
		{name: "ordered: scale down removes the highest ordinal", set: newSet(),
			pods: []string{"0:new:ready", "1:new:ready", "2:new:ready", "3:new:ready", "4:new:ready"},
			want: []string{"delete web-4"}},
		{name: "ordered: scale down waits for the terminating pod", set: newSet(),
			pods: []string{"0:new:ready", "1:new:ready", "2:new:ready", "3:new:ready", "4:new:terminating"}},
		{name: "ordered: scale down waits for the kept pods to be healthy", set: newSet(),
			pods: []string{"0:new:ready", "1:new:running", "2:new:ready", "3:new:ready"}},
		{name: "ordered: an unhealthy condemned pod below a healthy one waits its turn", set: newSet(),
			pods: []string{"0:new:ready", "1:new:ready", "2:new:ready", "3:new:running", "4:new:ready"},
			want: []string{"delete web-4"}},
		{name: "ordered: the first unhealthy condemned pod may go", set: newSet(replicas(1)),
			pods: []string{"0:new:ready", "1:new:ready", "2:new:running"},
			want: []string{"delete web-2"}},
		{name: "parallel: scale down removes all at once", set: newSet(parallel, replicas(1)),
			pods: []string{"0:new:ready", "1:new:running", "2:new:ready"},
			want: []string{"delete web-2", "delete web-1"}},
		{name: "rolling update starts at the highest ordinal", set: newSet(),
			pods: []string{"0:old:ready", "1:old:ready", "2:old:ready"},
			want: []string{"delete web-2"}},
		{name: "rolling update waits for the replaced pod to be ready", set: newSet(),
			pods: []string{"0:old:ready", "1:old:ready", "2:new:running"}},
		{name: "rolling update goes on down", set: newSet(),
			pods: []string{"0:old:ready", "1:old:ready", "2:new:ready"},
			want: []string{"delete web-1"}},
		{name: "rolling update stops at the partition", set: newSet(partition(2)),
			pods: []string{"0:old:ready", "1:old:ready", "2:new:ready"}},
		{name: "below the partition a missing pod comes back at the current revision", set: newSet(partition(2)),
			pods: []string{"0:old:ready", "2:new:ready"},
			want: []string{"create web-1@web-old"}},
		{name: "maxUnavailable 2 replaces two pods at once", set: newSet(parallel, maxUnavailable(intstr.FromInt32(2))),
			pods: []string{"0:old:ready", "1:old:ready", "2:old:ready"},
			want: []string{"delete web-2", "delete web-1"}},
		{name: "a percentage rounds down, to at least 1", set: newSet(parallel, maxUnavailable(intstr.FromString("50%"))),
			pods: []string{"0:old:ready", "1:old:ready", "2:old:ready"},
			want: []string{"delete web-2"}},
		{name: "an unavailable pod uses up the budget", set: newSet(parallel, maxUnavailable(intstr.FromInt32(2))),
			pods: []string{"0:new:running", "1:old:ready", "2:old:ready"},
			want: []string{"delete web-2"}},
		{name: "parallel: a broken old pod is replaced beyond the budget", set: newSet(parallel),
			pods: []string{"0:old:running", "1:new:ready", "2:old:ready"},
			want: []string{"delete web-0"}},
		{name: "maxUnavailable stops at the partition", set: newSet(parallel, partition(2), maxUnavailable(intstr.FromInt32(3))),
			pods: []string{"0:old:ready", "1:old:ready", "2:old:ready"},
			want: []string{"delete web-2"}},
		{name: "OnDelete never deletes for an update", set: newSet(onDelete),
			pods: []string{"0:old:ready", "1:old:ready", "2:old:ready"}},
		{name: "a failed pod is deleted to be recreated", set: newSet(),
			pods: []string{"0:new:ready", "1:new:failed", "2:new:ready"},
			want: []string{"delete web-1 (recreate Failed)"}},
		{name: "a succeeded pod too", set: newSet(parallel),
			pods: []string{"0:new:succeeded", "1:new:ready", "2:new:ready"},
			want: []string{"delete web-0 (recreate Succeeded)"}},
		{name: "a claim left by an earlier pod of the ordinal holds its creation back", set: newSet(parallel),
			claims: map[string]*corev1.PersistentVolumeClaim{"www-web-1": stale},
			pods:   []string{"0:new:ready", "2:new:ready"}},
		{name: "a pending pod gets its missing claim", set: newSet(),
			claims: map[string]*corev1.PersistentVolumeClaim{"www-web-0": nil},
			pods:   []string{"0:new:pending"},
			want:   []string{"claims web-0"}},
		{name: "a deleting set does nothing", set: newSet(func(s *appsv1.StatefulSet) { s.DeletionTimestamp = &metav1.Time{Time: t0} })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pl := mkPlanner(tc.set, tc.pods...)
			if tc.claims != nil {
				base := pl.claim
				pl.claim = func(name string) *corev1.PersistentVolumeClaim {
					if c, ok := tc.claims[name]; ok {
						return c
					}
					return base(name)
				}
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if got := describe(pl.plan()); !slices.Equal(got, want) {
				t.Errorf("steps %v, want %v", got, want)
			}
		})
	}
}

func TestPlanFixesIdentityAndClaimOwners(t *testing.T) {
	t.Parallel()
	set := newSet(replicas1, policy(del, del))
	pl := mkPlanner(set, "0:new:ready", "1:new:ready")
	delete(pl.pods[0].Labels, appsv1.PodIndexLabel)
	// The claims exist without owners: web-0's needs the set, web-1's (scaled away) its pod.
	got := describe(pl.plan())
	want := []string{"update web-0", "claim-owners web-1", "delete web-1"}
	if !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
}

func replicas1(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) }

func TestCountsAndCompleteRollout(t *testing.T) {
	t.Parallel()
	set := newSet(func(s *appsv1.StatefulSet) { s.Spec.MinReadySeconds = 10 })
	pl := mkPlanner(set, "0:old:ready", "1:new:ready", "2:new:pending", "3:new:terminating")
	// web-1 became ready just now: ready, not yet available.
	pl.pods[1].Status.Conditions[0].LastTransitionTime = metav1.NewTime(pl.now)
	st := pl.counts()
	want := appsv1.StatefulSetStatus{Replicas: 4, ReadyReplicas: 3, AvailableReplicas: 2, CurrentReplicas: 1, UpdatedReplicas: 2}
	if st.Replicas != want.Replicas || st.ReadyReplicas != want.ReadyReplicas || st.AvailableReplicas != want.AvailableReplicas ||
		st.CurrentReplicas != want.CurrentReplicas || st.UpdatedReplicas != want.UpdatedReplicas {
		t.Errorf("counts %+v, want %+v", st, want)
	}

	done := appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, CurrentReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}
	completeRollout(set, &done)
	if done.CurrentRevision != "b" || done.CurrentReplicas != 3 {
		t.Errorf("a finished rollout: %+v", done)
	}
	notReady := appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2, UpdatedReplicas: 3, CurrentRevision: "a", UpdateRevision: "b"}
	completeRollout(set, &notReady)
	if notReady.CurrentRevision != "a" {
		t.Error("a rollout with an unready pod was completed")
	}
}
