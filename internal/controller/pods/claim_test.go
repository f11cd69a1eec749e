package pods

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name string, lbls map[string]string, owner types.UID) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name + "-uid"), Labels: lbls}}
	if owner != "" {
		o := &metav1.ObjectMeta{Name: "owner", UID: owner}
		p.OwnerReferences = []metav1.OwnerReference{*NewControllerRef(o, rsKind)}
	}
	return p
}

func names(ps []*corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}

func TestClaimAdoptsMatchingOrphansAndReleasesNonMatchingPods(t *testing.T) {
	t.Parallel()
	web := map[string]string{"app": "web"}
	other := map[string]string{"app": "other"}
	deleting := pod("orphan-deleting", web, "")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	otherNS := pod("orphan-elsewhere", web, "")
	otherNS.Namespace = "other"
	all := []*corev1.Pod{
		pod("mine", web, "rs-uid"),
		pod("mine-relabelled", other, "rs-uid"),
		pod("orphan", web, ""),
		pod("orphan-other", other, ""),
		pod("theirs", web, "someone-else"),
		deleting, otherNS,
	}
	var objs []runtime.Object
	for _, p := range all {
		objs = append(objs, p)
	}
	client := fake.NewClientset(objs...)
	owner := testOwner()
	calls := 0
	m := PodRefManager(client, owner, rsKind, labels.SelectorFromSet(web), func(context.Context) error {
		calls++
		return nil
	})
	claimed, err := m.Claim(t.Context(), all)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(claimed), []string{"mine", "orphan"}; !slices.Equal(got, want) {
		t.Errorf("claimed %v, want %v", got, want)
	}
	if calls != 1 {
		t.Errorf("CanAdopt called %d times, want once", calls)
	}
	adopted, _ := client.CoreV1().Pods("ns").Get(t.Context(), "orphan", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(adopted); ref == nil || ref.UID != "rs-uid" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("adopted pod's controller %+v, want rs-uid with blockOwnerDeletion", ref)
	}
	released, _ := client.CoreV1().Pods("ns").Get(t.Context(), "mine-relabelled", metav1.GetOptions{})
	if len(released.OwnerReferences) != 0 {
		t.Errorf("released pod keeps %v", released.OwnerReferences)
	}
	theirs, _ := client.CoreV1().Pods("ns").Get(t.Context(), "theirs", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(theirs); ref == nil || ref.UID != "someone-else" {
		t.Errorf("another controller's pod changed: %+v", ref)
	}
}

func TestClaimDoesNotAdoptWhenTheOwnerCannot(t *testing.T) {
	t.Parallel()
	web := map[string]string{"app": "web"}
	orphan := pod("orphan", web, "")
	client := fake.NewClientset(orphan)
	owner := testOwner()
	m := PodRefManager(client, owner, rsKind, labels.SelectorFromSet(web), func(context.Context) error {
		return errors.New("being deleted")
	})
	claimed, err := m.Claim(t.Context(), []*corev1.Pod{orphan})
	if err == nil || len(claimed) != 0 {
		t.Fatalf("claimed %v, err %v; want an error and nothing", names(claimed), err)
	}
	got, _ := client.CoreV1().Pods("ns").Get(t.Context(), "orphan", metav1.GetOptions{})
	if len(got.OwnerReferences) != 0 {
		t.Errorf("orphan adopted: %v", got.OwnerReferences)
	}
}

func TestClaimByADeletingOwnerNeitherAdoptsNorReleases(t *testing.T) {
	t.Parallel()
	web := map[string]string{"app": "web"}
	orphan := pod("orphan", web, "")
	relabelled := pod("relabelled", map[string]string{"app": "x"}, "rs-uid")
	client := fake.NewClientset(orphan, relabelled)
	owner := testOwner()
	owner.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	m := PodRefManager(client, owner, rsKind, labels.SelectorFromSet(web), nil)
	claimed, err := m.Claim(t.Context(), []*corev1.Pod{orphan, relabelled})
	if err != nil || len(claimed) != 0 {
		t.Fatalf("claimed %v, err %v", names(claimed), err)
	}
	if acts := client.Actions(); len(acts) != 0 {
		t.Errorf("API calls %v, want none", acts)
	}
}

func TestClaimWorksOnAnyObject(t *testing.T) {
	t.Parallel()
	owner := testOwner()
	objs := []metav1.Object{
		&metav1.ObjectMeta{Namespace: "ns", Name: "a", Labels: map[string]string{"x": "1"}},
		&metav1.ObjectMeta{Namespace: "ns", Name: "b"},
	}
	var patched []string
	m := &RefManager[metav1.Object]{
		Owner: owner, Kind: rsKind,
		Match: func(o metav1.Object) bool { return o.GetLabels()["x"] == "1" },
		Patch: func(_ context.Context, o metav1.Object, _ []byte) error {
			patched = append(patched, o.GetName())
			return nil
		},
	}
	claimed, err := m.Claim(t.Context(), objs)
	if err != nil || len(claimed) != 1 || claimed[0].GetName() != "a" || !slices.Equal(patched, []string{"a"}) {
		t.Errorf("claimed %v patched %v err %v", claimed, patched, err)
	}
}

func TestRecheckOwner(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	for _, tc := range []struct {
		name  string
		fresh metav1.ObjectMeta
		ok    bool
	}{
		{"the same live owner may adopt", metav1.ObjectMeta{UID: "u"}, true},
		{"a recreated owner may not", metav1.ObjectMeta{UID: "v"}, false},
		{"a deleting owner may not", metav1.ObjectMeta{UID: "u", DeletionTimestamp: &now}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := tc.fresh
			err := RecheckOwner("u", func(context.Context) (metav1.Object, error) { return &fresh, nil })(t.Context())
			if (err == nil) != tc.ok {
				t.Errorf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
