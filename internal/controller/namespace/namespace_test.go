package namespace

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metadatafake "k8s.io/client-go/metadata/fake"
)

func TestDeletionConditionsReportWhatBlocks(t *testing.T) {
	t.Parallel()
	byType := func(cs []corev1.NamespaceCondition) map[corev1.NamespaceConditionType]corev1.NamespaceCondition {
		m := map[corev1.NamespaceConditionType]corev1.NamespaceCondition{}
		for _, c := range cs {
			m[c.Type] = c
		}
		return m
	}
	for _, tc := range []struct {
		name string
		o    outcome
		want map[corev1.NamespaceConditionType][2]string // status, message
	}{
		{"an emptied namespace reports every condition False", outcome{}, map[corev1.NamespaceConditionType][2]string{
			corev1.NamespaceDeletionDiscoveryFailure: {"False", "All resources successfully discovered"},
			corev1.NamespaceDeletionGVParsingFailure: {"False", "All legacy kube types successfully parsed"},
			corev1.NamespaceDeletionContentFailure:   {"False", "All content successfully deleted, may be waiting on finalization"},
			corev1.NamespaceContentRemaining:         {"False", "All content successfully removed"},
			corev1.NamespaceFinalizersRemaining:      {"False", "All content-preserving finalizers finished"},
		}},
		{"remaining objects and their finalizers are counted", outcome{
			remaining:  map[string]int{"pods.": 2, "configmaps.": 1},
			finalizers: map[string]int{"example.com/hold": 1},
		}, map[corev1.NamespaceConditionType][2]string{
			corev1.NamespaceContentRemaining:    {"True", "Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances"},
			corev1.NamespaceFinalizersRemaining: {"True", "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
		}},
		{"failures are listed", outcome{discoveryFailures: []string{"metrics.k8s.io/v1beta1: down"}, deleteFailures: []string{"b: x", "a: y"}},
			map[corev1.NamespaceConditionType][2]string{
				corev1.NamespaceDeletionDiscoveryFailure: {"True", "Discovery failed for some groups, 1 failing: metrics.k8s.io/v1beta1: down"},
				corev1.NamespaceDeletionContentFailure:   {"True", "Failed to delete all resource types, 2 remaining: a: y, b: x"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := byType(deletionConditions(tc.o))
			if len(got) != 5 {
				t.Errorf("%d conditions, want 5", len(got))
			}
			for typ, want := range tc.want {
				if c := got[typ]; string(c.Status) != want[0] || c.Message != want[1] || c.Reason == "" {
					t.Errorf("%s = %s %q (%s), want %s %q", typ, c.Status, c.Message, c.Reason, want[0], want[1])
				}
			}
		})
	}
}

func TestMergeConditionsKeepsTransitionTimesOfUnchangedStatus(t *testing.T) {
	t.Parallel()
	t1, t2 := time.Unix(100, 0), time.Unix(200, 0)
	first, changed := mergeConditions(nil, deletionConditions(outcome{remaining: map[string]int{"pods.": 1}}), t1)
	if !changed || len(first) != 5 {
		t.Fatalf("first merge: changed %v, %d conditions", changed, len(first))
	}
	if _, changed := mergeConditions(first, deletionConditions(outcome{remaining: map[string]int{"pods.": 1}}), t2); changed {
		t.Error("identical conditions reported as a change")
	}
	second, _ := mergeConditions(first, deletionConditions(outcome{}), t2)
	for _, c := range second {
		want := t1
		if c.Type == corev1.NamespaceContentRemaining {
			want = t2
		}
		if !c.LastTransitionTime.Time.Equal(want) {
			t.Errorf("%s transitioned at %v, want %v", c.Type, c.LastTransitionTime, want)
		}
	}
}

func TestDeleteContentEmptiesEveryResourceAndCountsWhatStays(t *testing.T) {
	t.Parallel()
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	obj := func(apiVersion, kind, ns, name string, finalizers ...string) runtime.Object {
		return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers}}
	}
	cm := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	dep := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	client := metadatafake.NewSimpleMetadataClient(scheme,
		obj("v1", "ConfigMap", "doomed", "a"), obj("v1", "ConfigMap", "doomed", "b"), obj("v1", "ConfigMap", "other", "c"),
		obj("apps/v1", "Deployment", "doomed", "d"))
	o := deleteContent(t.Context(), client, "doomed", []resource{{gvr: cm, collection: true}, {gvr: dep}})
	if !o.done() {
		t.Errorf("outcome %+v, want done", o)
	}
	left, err := client.Resource(cm).Namespace("other").List(t.Context(), metav1.ListOptions{})
	if err != nil || len(left.Items) != 1 {
		t.Errorf("another namespace's content was touched: %v %v", left, err)
	}
	for _, gvr := range []schema.GroupVersionResource{cm, dep} {
		if l, _ := client.Resource(gvr).Namespace("doomed").List(t.Context(), metav1.ListOptions{}); len(l.Items) != 0 {
			t.Errorf("%s left: %d", gvr.Resource, len(l.Items))
		}
	}
}
