package pods

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

var dsKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

func testDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "agent", UID: "ds-uid"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec: corev1.PodSpec{
					Containers:                    []corev1.Container{{Name: "c", Image: "agent:1", Command: []string{"run", "<&>"}}},
					TerminationGracePeriodSeconds: ptr.To[int64](30),
				},
			},
		},
	}
}

// kubectlPatch is how kubectl computes the patch of a live object to compare it with a
// revision: the whole object to a map, its spec.template with "$patch":"replace".
func kubectlPatch(t *testing.T, obj any) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	tmpl := m["spec"].(map[string]any)["template"].(map[string]any)
	tmpl["$patch"] = "replace"
	out, err := json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTemplatePatchIsByteForByteWhatKubectlCompares(t *testing.T) {
	t.Parallel()
	ds := testDaemonSet()
	got, err := TemplatePatch(&ds.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	if want := kubectlPatch(t, ds); string(got) != string(want) {
		t.Errorf("patch\n got %s\nwant %s", got, want)
	}
	back, err := RevisionTemplate(&appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: got}})
	if err != nil {
		t.Fatal(err)
	}
	if back.Spec.Containers[0].Command[1] != "<&>" || back.Labels["app"] != "agent" {
		t.Errorf("template read back: %+v", back)
	}
}

func TestNewRevisionNamesAndLabelsByHash(t *testing.T) {
	t.Parallel()
	ds := testDaemonSet()
	data, _ := TemplatePatch(&ds.Spec.Template)
	rev := NewRevision(ds, dsKind, ds.Spec.Template.Labels, data, 3, nil)
	hash := rev.Labels[appsv1.ControllerRevisionHashLabelKey]
	if hash == "" || rev.Name != "agent-"+hash || rev.Revision != 3 || rev.Labels["app"] != "agent" {
		t.Errorf("revision %s labels %v revision %d", rev.Name, rev.Labels, rev.Revision)
	}
	if !metav1.IsControlledBy(rev, ds) {
		t.Error("revision not controlled by its owner")
	}
	if other := RevisionHash(data, ptr.To[int32](1)); other == hash {
		t.Error("a collision count must change the hash")
	}
	if ds.Spec.Template.Labels[appsv1.ControllerRevisionHashLabelKey] != "" {
		t.Error("NewRevision changed the template's labels")
	}
}

func TestCreateRevisionResolvesNameCollisions(t *testing.T) {
	t.Parallel()
	ds := testDaemonSet()
	data, _ := TemplatePatch(&ds.Spec.Template)
	var count int32
	rev := NewRevision(ds, dsKind, ds.Spec.Template.Labels, data, 1, &count)
	// Someone else's revision squats on the name.
	squatter := rev.DeepCopy()
	squatter.OwnerReferences = nil
	squatter.Data.Raw = []byte(`{"spec":{"template":{"$patch":"replace"}}}`)
	client := fake.NewClientset(squatter)

	got, err := CreateRevision(t.Context(), client, ds, dsKind, rev, &count)
	if err != nil {
		t.Fatal(err)
	}
	if count != 1 || got.Name == squatter.Name || got.Labels[appsv1.ControllerRevisionHashLabelKey] != RevisionHash(data, &count) {
		t.Errorf("after a collision: count %d, name %s", count, got.Name)
	}
	again, err := CreateRevision(t.Context(), client, ds, dsKind, NewRevision(ds, dsKind, ds.Spec.Template.Labels, data, 1, &count), &count)
	if err != nil || again.Name != got.Name || count != 1 {
		t.Errorf("creating an equal revision again: %v, %s, count %d; want the existing one", err, again.Name, count)
	}
}

func TestSortAndNextRevision(t *testing.T) {
	t.Parallel()
	revs := []*appsv1.ControllerRevision{
		{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Revision: 3},
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Revision: 1},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Revision: 2},
	}
	SortRevisions(revs)
	if revs[0].Name != "a" || revs[2].Name != "c" || NextRevision(revs) != 4 || NextRevision(nil) != 1 {
		t.Errorf("sorted %s %s %s, next %d", revs[0].Name, revs[1].Name, revs[2].Name, NextRevision(revs))
	}
}

func TestEqualRevisionsComparesTemplates(t *testing.T) {
	t.Parallel()
	a := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"a":"1"}},"$patch":"replace"}}}`)}}
	b := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(`{"spec": {"template": {"$patch":"replace","metadata":{"labels":{"a":"1"}}}}}`)}}
	c := &appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(`{"spec":{"template":{"metadata":{"labels":{"a":"2"}},"$patch":"replace"}}}`)}}
	if !EqualRevisions(a, b) || EqualRevisions(a, c) {
		t.Errorf("equal(a,b)=%v equal(a,c)=%v", EqualRevisions(a, b), EqualRevisions(a, c))
	}
}
