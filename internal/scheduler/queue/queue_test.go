package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	testingclock "k8s.io/utils/clock/testing"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
	"capstan/internal/scheduler/plugins/queuesort"
	"capstan/internal/scheduler/plugins/schedulinggates"
)

const profile = corev1.DefaultSchedulerName

func newQueue(clk *testingclock.FakeClock, events map[string][]framework.ClusterEventWithHint) *Queue {
	return New(Options{
		Clock: clk,
		Less:  queuesort.PrioritySort{}.Less,
		PreEnqueue: map[string]func(context.Context, *corev1.Pod) *framework.Status{
			profile: schedulinggates.SchedulingGates{}.PreEnqueue,
		},
		Events: map[string]map[string][]framework.ClusterEventWithHint{profile: events},
	})
}

func pop(t *testing.T, q *Queue) *framework.QueuedPodInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() {
		<-ctx.Done()
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	}()
	p, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("pop: %v", err)
	}
	return p
}

func TestPopOrder(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, nil)
	q.Add(fwt.MakePod("low-old").Priority(1).Obj())
	clk.Step(time.Second)
	q.Add(fwt.MakePod("high").Priority(10).Obj())
	clk.Step(time.Second)
	q.Add(fwt.MakePod("low-new").Priority(1).Obj())
	for _, want := range []string{"high", "low-old", "low-new"} {
		if got := pop(t, q).Pod.Name; got != want {
			t.Errorf("popped %s, want %s", got, want)
		}
	}
}

func TestBackoffDoubles(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, nil)
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		if got := q.backoffDuration(&framework.QueuedPodInfo{Attempts: attempts}); got != want {
			t.Errorf("attempts %d: backoff %v, want %v", attempts, got, want)
		}
	}
}

func TestErrorGoesToBackoffThenActive(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, nil)
	q.Add(fwt.MakePod("p").Obj())
	p := pop(t, q)
	if err := q.AddUnschedulableIfNotPresent(p); err != nil { // no rejecting plugin: an error
		t.Fatal(err)
	}
	if where := q.Has(p.Pod.UID); where != "backoff" {
		t.Fatalf("pod in %q, want backoff", where)
	}
	clk.Step(500 * time.Millisecond)
	q.FlushBackoffCompleted()
	if where := q.Has(p.Pod.UID); where != "backoff" {
		t.Fatalf("after 0.5s pod in %q, want backoff", where)
	}
	clk.Step(600 * time.Millisecond)
	q.FlushBackoffCompleted()
	if where := q.Has(p.Pod.UID); where != "active" {
		t.Fatalf("after 1.1s pod in %q, want active", where)
	}
}

func TestEventsMoveOnlyHelpedPods(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	nodeAdd := framework.ClusterEventWithHint{Event: framework.EventNodeAdd}
	podDelete := framework.ClusterEventWithHint{Event: framework.EventAssignedPodDelete}
	q := newQueue(clk, map[string][]framework.ClusterEventWithHint{
		"NodeAffinity":     {nodeAdd},
		"NodeResourcesFit": {podDelete, nodeAdd},
	})
	q.Add(fwt.MakePod("affinity").Obj())
	q.Add(fwt.MakePod("resources").Obj())
	for range 2 {
		p := pop(t, q)
		p.UnschedulablePlugins = sets.New(map[string]string{"affinity": "NodeAffinity", "resources": "NodeResourcesFit"}[p.Pod.Name])
		if err := q.AddUnschedulableIfNotPresent(p); err != nil {
			t.Fatal(err)
		}
	}
	clk.Step(20 * time.Second) // past any backoff
	q.MoveAllToActiveOrBackoffQueue(framework.EventAssignedPodDelete, fwt.MakePod("gone").Node("n").Obj(), nil, nil)
	if q.Has("uid-resources") != "active" || q.Has("uid-affinity") != "unschedulable" {
		t.Errorf("after a pod delete: resources %q, affinity %q", q.Has("uid-resources"), q.Has("uid-affinity"))
	}
	q.MoveAllToActiveOrBackoffQueue(framework.EventNodeAdd, nil, fwt.MakeNode("n").Obj(), nil)
	if q.Has("uid-affinity") != "active" {
		t.Errorf("after a node add: affinity %q", q.Has("uid-affinity"))
	}
}

func TestHintsCanSkip(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	never := func(*corev1.Pod, any, any) framework.QueueingHint { return framework.QueueSkip }
	q := newQueue(clk, map[string][]framework.ClusterEventWithHint{"P": {{Event: framework.EventNodeAdd, Hint: never}}})
	q.Add(fwt.MakePod("p").Obj())
	p := pop(t, q)
	p.UnschedulablePlugins = sets.New("P")
	_ = q.AddUnschedulableIfNotPresent(p)
	q.MoveAllToActiveOrBackoffQueue(framework.EventNodeAdd, nil, fwt.MakeNode("n").Obj(), nil)
	if q.Has(p.Pod.UID) != "unschedulable" {
		t.Errorf("pod in %q, want unschedulable", q.Has(p.Pod.UID))
	}
}

func TestEventDuringAttemptRequeues(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, map[string][]framework.ClusterEventWithHint{"P": {{Event: framework.EventNodeAdd}}})
	q.Add(fwt.MakePod("p").Obj())
	q.Add(fwt.MakePod("other").Obj())
	p := pop(t, q)
	// While p is being scheduled a node appears; p then fails. It must not wait for a
	// further event.
	q.MoveAllToActiveOrBackoffQueue(framework.EventNodeAdd, nil, fwt.MakeNode("n").Obj(), nil)
	p.UnschedulablePlugins = sets.New("P")
	_ = q.AddUnschedulableIfNotPresent(p)
	if where := q.Has(p.Pod.UID); where != "backoff" && where != "active" {
		t.Errorf("pod in %q, want backoff or active", where)
	}
}

func TestUnschedulableLeftoverAfterFiveMinutes(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, map[string][]framework.ClusterEventWithHint{"P": {{Event: framework.EventNodeAdd}}})
	q.Add(fwt.MakePod("p").Obj())
	p := pop(t, q)
	p.UnschedulablePlugins = sets.New("P")
	_ = q.AddUnschedulableIfNotPresent(p)
	clk.Step(4 * time.Minute)
	q.FlushUnschedulableLeftover()
	if q.Has(p.Pod.UID) != "unschedulable" {
		t.Fatalf("after 4m: %q", q.Has(p.Pod.UID))
	}
	clk.Step(2 * time.Minute)
	q.FlushUnschedulableLeftover()
	if q.Has(p.Pod.UID) != "active" {
		t.Fatalf("after 6m: %q", q.Has(p.Pod.UID))
	}
}

func TestGatedPods(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, nil)
	gated := fwt.MakePod("g").Obj()
	gated.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "wait"}}
	q.Add(gated)
	if q.Has(gated.UID) != "gated" {
		t.Fatalf("gated pod in %q", q.Has(gated.UID))
	}
	q.MoveAllToActiveOrBackoffQueue(framework.EventForceActivate, nil, nil, nil)
	if q.Has(gated.UID) != "gated" {
		t.Fatalf("events move gated pods: %q", q.Has(gated.UID))
	}
	open := gated.DeepCopy()
	open.Spec.SchedulingGates = nil
	q.Update(gated, open)
	if q.Has(gated.UID) != "active" {
		t.Fatalf("ungated pod in %q", q.Has(gated.UID))
	}
}

func TestNominator(t *testing.T) {
	clk := testingclock.NewFakeClock(time.Now())
	q := newQueue(clk, nil)
	pi := framework.NewPodInfo(fwt.MakePod("p").Obj())
	q.AddNominatedPod(pi, "n1")
	if got := q.NominatedPodsForNode("n1"); len(got) != 1 || got[0] != pi {
		t.Fatalf("nominated on n1: %v", got)
	}
	q.AddNominatedPod(pi, "n2")
	if len(q.NominatedPodsForNode("n1")) != 0 || len(q.NominatedPodsForNode("n2")) != 1 {
		t.Fatal("renomination did not move the pod")
	}
	q.DeleteNominatedPod(pi.Pod)
	if len(q.NominatedPodsForNode("n2")) != 0 {
		t.Fatal("nomination not deleted")
	}
}
