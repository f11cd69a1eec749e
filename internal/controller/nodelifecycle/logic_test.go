package nodelifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func readyNode(heartbeat time.Time) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n", CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.NewTime(heartbeat),
		}}},
	}
}

func lease(renew time.Time) *coordinationv1.Lease {
	return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: ptr.To(metav1.NewMicroTime(renew))}}
}

func TestObserve(t *testing.T) {
	t.Parallel()
	g := healthTimes{Monitor: 40 * time.Second, Startup: 60 * time.Second}
	seenAt := func(probe time.Time, hb, renew time.Time) *heartbeat {
		return &heartbeat{probe: probe, readyHeartbeat: metav1.NewTime(hb), leaseRenew: ptr.To(metav1.NewMicroTime(renew))}
	}
	never := &corev1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0)}}
	tests := []struct {
		name  string
		hb    *heartbeat
		node  *corev1.Node
		lease *coordinationv1.Lease
		now   time.Time
		want  time.Time // deadline
	}{
		{name: "a node seen for the first time gets a full grace period from now",
			node: readyNode(t0.Add(-time.Hour)), now: t0, want: t0.Add(40 * time.Second)},
		{name: "a node that never posted status gets the startup grace from its creation",
			node: never, now: t0.Add(10 * time.Second), want: t0.Add(60 * time.Second)},
		{name: "an unchanged heartbeat and lease keep the old probe time",
			hb: seenAt(t0, t0, t0), node: readyNode(t0), lease: lease(t0), now: t0.Add(time.Minute), want: t0.Add(40 * time.Second)},
		{name: "a new status heartbeat counts from when the controller saw it",
			hb: seenAt(t0, t0, t0), node: readyNode(t0.Add(time.Second)), lease: lease(t0), now: t0.Add(30 * time.Second), want: t0.Add(70 * time.Second)},
		{name: "a renewed lease counts as a heartbeat",
			hb: seenAt(t0, t0, t0), node: readyNode(t0), lease: lease(t0.Add(10 * time.Second)), now: t0.Add(20 * time.Second), want: t0.Add(60 * time.Second)},
		{name: "a lease renewed in the past (clock skew) does not revive the node",
			hb: seenAt(t0, t0, t0), node: readyNode(t0), lease: lease(t0.Add(-time.Second)), now: t0.Add(time.Minute), want: t0.Add(40 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := observe(tt.hb, tt.node, tt.lease, tt.now, g)
			if !got.Equal(tt.want) {
				t.Errorf("deadline %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMarkUnknown(t *testing.T) {
	t.Parallel()
	now := metav1.NewTime(t0)
	created := metav1.NewTime(t0.Add(-time.Hour))
	status := corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionUnknown, Reason: "Earlier"},
		{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse},
	}}
	if !markUnknown(&status, created, now) {
		t.Fatal("markUnknown reported no change")
	}
	want := map[corev1.NodeConditionType]struct {
		status corev1.ConditionStatus
		reason string
	}{
		corev1.NodeReady:              {corev1.ConditionUnknown, "NodeStatusUnknown"},
		corev1.NodeMemoryPressure:     {corev1.ConditionUnknown, "Earlier"},
		corev1.NodeDiskPressure:       {corev1.ConditionUnknown, "NodeStatusNeverUpdated"},
		corev1.NodePIDPressure:        {corev1.ConditionUnknown, "NodeStatusNeverUpdated"},
		corev1.NodeNetworkUnavailable: {corev1.ConditionFalse, ""},
	}
	for typ, w := range want {
		c := condition(status.Conditions, typ)
		if c == nil || c.Status != w.status || c.Reason != w.reason {
			t.Errorf("condition %s = %+v, want status %s reason %q", typ, c, w.status, w.reason)
		}
	}
	if c := condition(status.Conditions, corev1.NodeReady); c.Message != "Kubelet stopped posting node status." || !c.LastTransitionTime.Equal(&now) {
		t.Errorf("Ready condition %+v: want upstream's message and a transition now", c)
	}
	if markUnknown(&status, created, now) {
		t.Error("a second markUnknown changed the conditions again")
	}
}

func TestWantedNoSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		conds         []corev1.NodeCondition
		unschedulable bool
		want          []string
	}{
		{name: "a healthy node has none"},
		{name: "an unknown node is unreachable",
			conds: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}, want: []string{corev1.TaintNodeUnreachable}},
		{name: "a not-ready node is not-ready",
			conds: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}, want: []string{corev1.TaintNodeNotReady}},
		{name: "pressure conditions and cordoning add their taints",
			conds: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue}, {Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}},
			unschedulable: true, want: []string{corev1.TaintNodeDiskPressure, corev1.TaintNodeUnschedulable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tt.unschedulable}, Status: corev1.NodeStatus{Conditions: tt.conds}}
			var got []string
			for _, taint := range wantedNoSchedule(n) {
				if taint.Effect != corev1.TaintEffectNoSchedule {
					t.Errorf("taint %v is not NoSchedule", taint)
				}
				got = append(got, taint.Key)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("taints %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("taints %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestReconcileTaintsKeepsOthersAndTimes(t *testing.T) {
	t.Parallel()
	earlier := metav1.NewTime(t0.Add(-time.Minute))
	now := metav1.NewTime(t0)
	current := []corev1.Taint{
		{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute, TimeAdded: &earlier},
		{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule},
	}
	got, changed := reconcileTaints(current, ownsNoExecute, noExecute(corev1.TaintNodeNotReady), now)
	if changed || len(got) != 3 || !got[1].TimeAdded.Equal(&earlier) {
		t.Errorf("an already wanted taint: changed=%v taints %v; want no change, the old timeAdded", changed, got)
	}
	got, changed = reconcileTaints(current, ownsNoExecute, noExecute(corev1.TaintNodeUnreachable), now)
	if !changed || len(got) != 3 || got[0].Key != "dedicated" || got[2].Key != corev1.TaintNodeUnreachable ||
		got[2].Effect != corev1.TaintEffectNoExecute || !got[2].TimeAdded.Equal(&now) {
		t.Errorf("swapping not-ready for unreachable: changed=%v taints %v", changed, got)
	}
	got, changed = reconcileTaints(current, ownsNoExecute, nil, now)
	if !changed || len(got) != 2 || hasTaint(got, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) {
		t.Errorf("removing the NoExecute taints: changed=%v taints %v", changed, got)
	}
}

func TestZoneStateAndRate(t *testing.T) {
	t.Parallel()
	r := rates{Primary: 0.1, Secondary: 0.01, LargeClusterSize: 50}
	tests := []struct {
		name            string
		ready, notReady int
		state           zoneState
		rate            float64
	}{
		{name: "a healthy zone evicts at the primary rate", ready: 10, notReady: 1, state: stateNormal, rate: 0.1},
		{name: "two unhealthy nodes never make a disruption", ready: 0 + 1, notReady: 2, state: stateNormal, rate: 0.1},
		{name: "a small zone mostly down stops evicting", ready: 2, notReady: 3, state: statePartialDisruption, rate: 0},
		{name: "a large zone mostly down evicts at the secondary rate", ready: 20, notReady: 40, state: statePartialDisruption, rate: 0.01},
		{name: "a zone entirely down evicts at the primary rate", ready: 0, notReady: 5, state: stateFullDisruption, rate: 0.1},
		{name: "just under the threshold is normal", ready: 10, notReady: 12, state: stateNormal, rate: 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := computeZoneState(tt.ready, tt.notReady, 0.55)
			if st != tt.state {
				t.Fatalf("state %s, want %s", st, tt.state)
			}
			if got := zoneRate(st, tt.ready+tt.notReady, r); got != tt.rate {
				t.Errorf("rate %v, want %v", got, tt.rate)
			}
		})
	}
}

func TestZoneOf(t *testing.T) {
	t.Parallel()
	a := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelTopologyRegion: "r", corev1.LabelTopologyZone: "a"}}}
	b := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelFailureDomainBetaRegion: "r", corev1.LabelFailureDomainBetaZone: "a"}}}
	if zoneOf(a) != zoneOf(b) || zoneOf(a) == "" || zoneOf(&corev1.Node{}) != "" {
		t.Errorf("zones %q %q %q: want the GA and beta labels to agree and unlabelled nodes in \"\"", zoneOf(a), zoneOf(b), zoneOf(&corev1.Node{}))
	}
}

func TestTokenBucket(t *testing.T) {
	t.Parallel()
	b := newTokenBucket(0.1, t0)
	if !b.take(t0) {
		t.Fatal("a new bucket has no token")
	}
	if b.take(t0.Add(5 * time.Second)) {
		t.Error("a token came back after 5s at 0.1/s")
	}
	if d, ok := b.wait(t0.Add(5 * time.Second)); !ok || d != 5*time.Second {
		t.Errorf("wait = %v %v, want 5s", d, ok)
	}
	if !b.take(t0.Add(10 * time.Second)) {
		t.Error("no token after 10s at 0.1/s")
	}
	b.setRate(0, t0.Add(10*time.Second))
	if b.take(t0.Add(time.Hour)) {
		t.Error("a bucket at rate 0 gave a token")
	}
	if _, ok := b.wait(t0.Add(time.Hour)); ok {
		t.Error("a bucket at rate 0 promised a token")
	}
}

func TestDecideEviction(t *testing.T) {
	t.Parallel()
	added := metav1.NewTime(t0)
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	noTime := corev1.Taint{Key: "custom", Effect: corev1.TaintEffectNoExecute}
	tolerate := func(key string, secs *int64) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}
	}
	seen := t0.Add(time.Minute)
	tests := []struct {
		name   string
		tols   []corev1.Toleration
		taints []corev1.Taint
		want   evictionDecision
	}{
		{name: "no taints: stay", want: evictionDecision{}},
		{name: "a NoSchedule taint never evicts", taints: []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectNoSchedule}}},
		{name: "an untolerated taint evicts at once", taints: []corev1.Taint{unreachable}, want: evictionDecision{Evict: true, At: seen}},
		{name: "a toleration without seconds tolerates forever",
			tols: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)}, taints: []corev1.Taint{unreachable}},
		{name: "tolerationSeconds count from the taint's timeAdded",
			tols: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](300))}, taints: []corev1.Taint{unreachable},
			want: evictionDecision{Evict: true, At: t0.Add(300 * time.Second)}},
		{name: "a taint without timeAdded counts from when the pod was seen",
			tols: []corev1.Toleration{tolerate("custom", ptr.To[int64](10))}, taints: []corev1.Taint{noTime},
			want: evictionDecision{Evict: true, At: seen.Add(10 * time.Second)}},
		{name: "the earliest deadline wins",
			tols:   []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](300)), tolerate("custom", ptr.To[int64](10))},
			taints: []corev1.Taint{unreachable, noTime}, want: evictionDecision{Evict: true, At: seen.Add(10 * time.Second)}},
		{name: "the first matching toleration decides",
			tols:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}, tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](5))},
			taints: []corev1.Taint{unreachable}},
		{name: "negative seconds evict at the taint time",
			tols: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](-1))}, taints: []corev1.Taint{unreachable},
			want: evictionDecision{Evict: true, At: t0}},
		{name: "one untolerated taint among tolerated ones evicts at once",
			tols: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)}, taints: []corev1.Taint{unreachable, noTime},
			want: evictionDecision{Evict: true, At: seen}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideEviction(tt.tols, tt.taints, seen)
			if got.Evict != tt.want.Evict || !got.At.Equal(tt.want.At) {
				t.Errorf("decision %+v, want %+v", got, tt.want)
			}
		})
	}
}
