package cache

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestAssumeConfirmForget(t *testing.T) {
	c := New()
	c.AddNode(fwt.MakeNode("n").Obj())
	snap := framework.NewEmptySnapshot()
	pod := fwt.MakePod("p").Req("cpu", "1").Node("n").Obj()

	if err := c.AssumePod(framework.NewPodInfo(pod)); err != nil {
		t.Fatal(err)
	}
	c.UpdateSnapshot(snap)
	if got := snap.Get("n").Requested.MilliCPU; got != 1000 {
		t.Fatalf("assumed pod not counted: %d", got)
	}
	if !c.IsAssumed(pod) {
		t.Fatal("not assumed")
	}
	if err := c.ForgetPod(pod); err != nil {
		t.Fatal(err)
	}
	c.UpdateSnapshot(snap)
	if got := snap.Get("n").Requested.MilliCPU; got != 0 || len(snap.Get("n").Pods) != 0 {
		t.Fatalf("forgotten pod still counted: %d", got)
	}

	// Assumed, then seen bound by the informer: counted once.
	_ = c.AssumePod(framework.NewPodInfo(pod))
	c.FinishBinding(pod)
	if err := c.AddPod(pod); err != nil {
		t.Fatal(err)
	}
	c.UpdateSnapshot(snap)
	if n := len(snap.Get("n").Pods); n != 1 || c.IsAssumed(pod) {
		t.Fatalf("pods %d, assumed %v", n, c.IsAssumed(pod))
	}
	if err := c.RemovePod(pod); err != nil {
		t.Fatal(err)
	}
	c.UpdateSnapshot(snap)
	if n := len(snap.Get("n").Pods); n != 0 {
		t.Fatalf("pods after removal %d", n)
	}
}

func TestAssumedPodBoundElsewhere(t *testing.T) {
	c := New()
	c.AddNode(fwt.MakeNode("a").Obj())
	c.AddNode(fwt.MakeNode("b").Obj())
	_ = c.AssumePod(framework.NewPodInfo(fwt.MakePod("p").Req("cpu", "1").Node("a").Obj()))
	_ = c.AddPod(fwt.MakePod("p").Req("cpu", "1").Node("b").Obj())
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	if snap.Get("a").Requested.MilliCPU != 0 || snap.Get("b").Requested.MilliCPU != 1000 {
		t.Errorf("a %d b %d", snap.Get("a").Requested.MilliCPU, snap.Get("b").Requested.MilliCPU)
	}
}

func TestSnapshotIsIncrementalAndImmutable(t *testing.T) {
	c := New()
	for _, n := range []string{"a", "b", "c"} {
		c.AddNode(fwt.MakeNode(n).Obj())
	}
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 3 {
		t.Fatalf("nodes %d", snap.NumNodes())
	}
	before := snap.Get("a")
	beforeB := *snap.Get("b")
	_ = c.AddPod(fwt.MakePod("p").Node("a").Obj())
	// Nothing changes the snapshot until the next update.
	if len(before.Pods) != 0 {
		t.Fatal("snapshot changed without an update")
	}
	c.UpdateSnapshot(snap)
	if len(snap.Get("a").Pods) != 1 || snap.Get("a") != before {
		t.Fatal("update did not refresh node a in place")
	}
	if snap.Get("b").Generation != beforeB.Generation {
		t.Error("an unchanged node was copied again")
	}

	c.RemoveNode(fwt.MakeNode("c").Obj())
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 2 || snap.Get("c") != nil {
		t.Errorf("removed node still in the snapshot: %d nodes", snap.NumNodes())
	}
}

func TestSnapshotAffinityLists(t *testing.T) {
	c := New()
	c.AddNode(fwt.MakeNode("a").Obj())
	c.AddNode(fwt.MakeNode("b").Obj())
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	anti := fwt.MakePod("anti").PodAffinity(corev1.LabelHostname, "x", 0, true).Node("b").Obj()
	_ = c.AddPod(anti)
	c.UpdateSnapshot(snap)
	if len(snap.HavePodsWithRequiredAntiAffinity) != 1 || snap.HavePodsWithRequiredAntiAffinity[0].Node().Name != "b" {
		t.Fatalf("anti-affinity list %v", snap.HavePodsWithRequiredAntiAffinity)
	}
	_ = c.RemovePod(anti)
	c.UpdateSnapshot(snap)
	if len(snap.HavePodsWithRequiredAntiAffinity) != 0 {
		t.Fatal("anti-affinity list not emptied")
	}
}

func TestNodeListInterleavesZones(t *testing.T) {
	c := New()
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"a3", "a"}, {"b1", "b"}, {"c1", "c"}} {
		c.AddNode(fwt.MakeNode(n.name).Label(corev1.LabelTopologyZone, n.zone).Obj())
	}
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	var got []string
	for _, ni := range snap.NodeInfoList {
		got = append(got, ni.Node().Name)
	}
	want := []string{"a1", "b1", "c1", "a2", "a3"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestImageCounts(t *testing.T) {
	c := New()
	c.AddNode(fwt.MakeNode("a").Image(10, "img:1").Obj())
	c.AddNode(fwt.MakeNode("b").Image(10, "img:1").Obj())
	snap := framework.NewEmptySnapshot()
	c.UpdateSnapshot(snap)
	if n := snap.ImageNodes[framework.NormalizeImageName("img:1")]; n != 2 {
		t.Fatalf("image on %d nodes, want 2", n)
	}
	c.UpdateNode(nil, fwt.MakeNode("b").Obj())
	c.UpdateSnapshot(snap)
	if n := snap.ImageNodes[framework.NormalizeImageName("img:1")]; n != 1 {
		t.Fatalf("after b dropped it: %d nodes, want 1", n)
	}
}
