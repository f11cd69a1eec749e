package deployment

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var t0 = time.Unix(10000, 0)

func dep(n int32, surge, unavail intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "d-uid", Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}},
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}},
			ProgressDeadlineSeconds: ptr.To[int32](600),
			RevisionHistoryLimit:    ptr.To[int32](10),
		},
	}
}

// rs is a ReplicaSet created at second age (larger is newer) with spec and available
// replicas, and max-replicas annotation maxAnn (0: none).
func rs(name string, age int64, spec, avail, maxAnn int32) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second)),
			Annotations: map[string]string{}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To(spec)},
		Status: appsv1.ReplicaSetStatus{Replicas: spec, AvailableReplicas: avail, ReadyReplicas: avail},
	}
	if maxAnn > 0 {
		r.Annotations[MaxReplicasAnnotation] = fmt.Sprint(maxAnn)
	}
	return r
}

func sizes(rs []resize) map[string]int32 {
	out := map[string]int32{}
	for _, r := range rs {
		out[r.rs.Name] = r.to
	}
	return out
}

func equalSizes(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFenceposts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                       string
		n                          int32
		surge, unavail             intstr.IntOrString
		wantSurge, wantUnavailable int32
	}{
		{"25% of 3 rounds surge up and unavailability down", 3, intstr.FromString("25%"), intstr.FromString("25%"), 1, 0},
		{"25% of 10", 10, intstr.FromString("25%"), intstr.FromString("25%"), 3, 2},
		{"both zero makes one unavailable", 5, intstr.FromInt32(0), intstr.FromInt32(0), 0, 1},
		{"unavailability is capped at the replicas", 2, intstr.FromInt32(1), intstr.FromInt32(5), 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(tc.n, tc.surge, tc.unavail)
			if s, u := maxSurge(d), maxUnavailable(d); s != tc.wantSurge || u != tc.wantUnavailable {
				t.Errorf("surge %d unavailable %d, want %d %d", s, u, tc.wantSurge, tc.wantUnavailable)
			}
		})
	}
	d := dep(3, intstr.FromInt32(1), intstr.FromInt32(1))
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if maxSurge(d) != 0 || maxUnavailable(d) != 0 {
		t.Error("Recreate has a surge or unavailability budget")
	}
}

func TestNewRSReplicas(t *testing.T) {
	t.Parallel()
	d := dep(10, intstr.FromInt32(3), intstr.FromInt32(2))
	for _, tc := range []struct {
		name       string
		old, newRS int32
		want       int32
	}{
		{"a fresh rollout surges by maxSurge", 10, 0, 3},
		{"no room above replicas+maxSurge", 10, 3, 3},
		{"room after old pods went", 7, 3, 6},
		{"never beyond the replicas", 0, 8, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newRS := rs("new", 2, tc.newRS, 0, 0)
			got := newRSReplicas(d, []*appsv1.ReplicaSet{rs("old", 1, tc.old, tc.old, 0), newRS}, newRS)
			if got != tc.want {
				t.Errorf("new replica set size %d, want %d", got, tc.want)
			}
		})
	}
	recreate := dep(4, intstr.FromInt32(1), intstr.FromInt32(1))
	recreate.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	if got := newRSReplicas(recreate, nil, rs("new", 1, 0, 0, 0)); got != 4 {
		t.Errorf("Recreate new size %d, want all 4", got)
	}
}

func TestPlanOldScaleDown(t *testing.T) {
	t.Parallel()
	d := dep(10, intstr.FromInt32(3), intstr.FromInt32(2))
	for _, tc := range []struct {
		name  string
		olds  []*appsv1.ReplicaSet
		newRS *appsv1.ReplicaSet
		want  map[string]int32
	}{
		{name: "available old pods go down to replicas-maxUnavailable",
			olds: []*appsv1.ReplicaSet{rs("old", 1, 10, 10, 0)}, newRS: rs("new", 2, 3, 0, 0),
			want: map[string]int32{"old": 8}},
		{name: "nothing goes while the budget is spent on unavailable new pods",
			olds: []*appsv1.ReplicaSet{rs("old", 1, 8, 8, 0)}, newRS: rs("new", 2, 5, 0, 0),
			want: map[string]int32{}},
		{name: "available new pods let old ones go",
			olds: []*appsv1.ReplicaSet{rs("old", 1, 8, 8, 0)}, newRS: rs("new", 2, 5, 5, 0),
			want: map[string]int32{"old": 3}},
		{name: "unhealthy old replicas go first, oldest replica set first",
			olds:  []*appsv1.ReplicaSet{rs("older", 1, 4, 2, 0), rs("old", 2, 6, 6, 0)},
			newRS: rs("new", 3, 3, 0, 0),
			// budget 13-8-3 = 2: the 2 unhealthy of older; then 8 available, none in excess.
			want: map[string]int32{"older": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sizes(planOldScaleDown(d, tc.newRS, tc.olds))
			if !equalSizes(got, tc.want) {
				t.Errorf("resizes %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanProportional(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		d      *appsv1.Deployment
		rss    []*appsv1.ReplicaSet
		want   map[string]int32
		wantOp string
	}{
		{name: "scaling up keeps the rollout's ratio",
			d:    dep(20, intstr.FromInt32(3), intstr.FromInt32(2)),
			rss:  []*appsv1.ReplicaSet{rs("old", 1, 8, 8, 13), rs("new", 2, 5, 0, 13)},
			want: map[string]int32{"old": 14, "new": 9}, wantOp: "up"},
		{name: "scaling down keeps the rollout's ratio",
			d:    dep(5, intstr.FromInt32(3), intstr.FromInt32(2)),
			rss:  []*appsv1.ReplicaSet{rs("old", 1, 8, 8, 13), rs("new", 2, 5, 0, 13)},
			want: map[string]int32{"old": 5, "new": 3}, wantOp: "down"},
		{name: "rounding leftovers go to the largest replica set",
			d:    dep(4, intstr.FromInt32(0), intstr.FromInt32(1)),
			rss:  []*appsv1.ReplicaSet{rs("a", 1, 1, 1, 3), rs("b", 2, 1, 1, 3), rs("c", 3, 1, 1, 3)},
			want: map[string]int32{"a": 1, "b": 1, "c": 2}, wantOp: "up"},
		{name: "scaling to zero empties every replica set",
			d:    dep(0, intstr.FromInt32(3), intstr.FromInt32(2)),
			rss:  []*appsv1.ReplicaSet{rs("old", 1, 8, 8, 13), rs("new", 2, 5, 0, 13)},
			want: map[string]int32{"old": 0, "new": 0}, wantOp: "down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, op := planProportional(tc.d, tc.rss)
			if got := sizes(plan); !equalSizes(got, tc.want) || op != tc.wantOp {
				t.Errorf("sizes %v op %q, want %v %q", got, op, tc.want, tc.wantOp)
			}
		})
	}
}

func TestActiveOrLatest(t *testing.T) {
	t.Parallel()
	newRS := rs("new", 3, 0, 0, 0)
	if got := activeOrLatest(newRS, []*appsv1.ReplicaSet{rs("a", 1, 0, 0, 0), rs("b", 2, 0, 0, 0)}); got != newRS {
		t.Errorf("no active one: got %v, want the new one", got.Name)
	}
	if got := activeOrLatest(nil, []*appsv1.ReplicaSet{rs("a", 1, 0, 0, 0), rs("b", 2, 0, 0, 0)}); got.Name != "b" {
		t.Errorf("no active one and no new one: got %s, want the newest b", got.Name)
	}
	if got := activeOrLatest(newRS, []*appsv1.ReplicaSet{rs("a", 1, 2, 0, 0)}); got.Name != "a" {
		t.Errorf("one active: got %s, want a", got.Name)
	}
	if got := activeOrLatest(rs("new", 3, 1, 0, 0), []*appsv1.ReplicaSet{rs("a", 1, 2, 0, 0)}); got != nil {
		t.Errorf("two active: got %s, want none", got.Name)
	}
}
