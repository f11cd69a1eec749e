package nodeipam

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

func node(name string, cidrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidrs[0], cidrs
	}
	return n
}

// fixture is a controller whose node cache the test fills by hand (no informer runs), on
// a fake clientset holding the same nodes.
type fixture struct {
	c      *Controller
	client *fake.Clientset
	cache  cache.Indexer
	rec    *record.FakeRecorder
}

func newFixture(t *testing.T, cluster string, nodes ...*corev1.Node) *fixture {
	t.Helper()
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(10)
	c, err := New(Options{Client: client, Informers: factory, ClusterCIDR: cluster, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{c: c, client: client, cache: factory.Core().V1().Nodes().Informer().GetIndexer(), rec: rec}
	for _, n := range nodes {
		f.add(t, n)
	}
	if err := c.rebuild(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) add(t *testing.T, n *corev1.Node) {
	t.Helper()
	if err := f.client.Tracker().Add(n); err != nil {
		t.Fatal(err)
	}
	if err := f.cache.Add(n); err != nil {
		t.Fatal(err)
	}
}

// sync syncs name and returns the podCIDRs the node has afterwards.
func (f *fixture) sync(t *testing.T, name string) ([]string, error) {
	t.Helper()
	err := f.c.sync(t.Context(), name)
	n, gerr := f.client.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
	if gerr != nil {
		t.Fatal(gerr)
	}
	if len(n.Spec.PodCIDRs) > 0 && n.Spec.PodCIDR != n.Spec.PodCIDRs[0] {
		t.Errorf("node %s: podCIDR %s does not match podCIDRs %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
	}
	return n.Spec.PodCIDRs, err
}

func TestControllerSkipsRangesExistingNodesHold(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.42.0.0/16", node("a", "10.42.0.0/24"), node("b", "10.42.1.0/24"), node("c"))
	got, err := f.sync(t, "c")
	if err != nil || len(got) != 1 || got[0] != "10.42.2.0/24" {
		t.Errorf("new node got %v (%v), want the first range no existing node holds (10.42.2.0/24)", got, err)
	}
}

func TestControllerGivesEveryNodeItsOwnRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.42.0.0/16", node("n1"), node("n2"), node("n3"), node("n4"))
	seen := map[string]string{}
	for _, name := range []string{"n1", "n2", "n3", "n4", "n1"} {
		got, err := f.sync(t, name)
		if err != nil || len(got) != 1 {
			t.Fatalf("sync %s: %v, podCIDRs %v", name, err, got)
		}
		if other, dup := seen[got[0]]; dup && other != name {
			t.Errorf("nodes %s and %s share %s", other, name, got[0])
		}
		seen[got[0]] = name
	}
}

func TestControllerGivesDualStackNodesOneRangePerFamily(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.42.0.0/16,fd00:42::/56", node("a"))
	got, err := f.sync(t, "a")
	if err != nil || len(got) != 2 || got[0] != "10.42.0.0/24" || got[1] != "fd00:42::/64" {
		t.Errorf("dual-stack node got %v (%v), want [10.42.0.0/24 fd00:42::/64]", got, err)
	}
}

func TestControllerReportsAFullRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.42.0.0/24", node("a", "10.42.0.0/24"), node("b"))
	if got, err := f.sync(t, "b"); err == nil || len(got) != 0 {
		t.Errorf("sync on a full range: podCIDRs %v, err %v; want none and an error to retry", got, err)
	}
	select {
	case e := <-f.rec.Events:
		if want := "Normal CIDRNotAvailable Node b status is now: CIDRNotAvailable"; e != want {
			t.Errorf("event %q, want %q", e, want)
		}
	default:
		t.Error("no CIDRNotAvailable event")
	}
}

func TestControllerReleasesTheRangeOfADeletedNode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10.42.0.0/24", node("a", "10.42.0.0/24"))
	a, _, _ := f.cache.GetByKey("a")
	if err := f.cache.Delete(a); err != nil {
		t.Fatal(err)
	}
	if err := f.c.sync(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	f.add(t, node("b"))
	if got, err := f.sync(t, "b"); err != nil || len(got) != 1 || got[0] != "10.42.0.0/24" {
		t.Errorf("node b got %v (%v), want the deleted node's range", got, err)
	}
}
