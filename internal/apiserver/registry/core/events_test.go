package core

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestEventValidation(t *testing.T) {
	t.Parallel()
	newStyle := func(e *corev1.Event) {
		e.EventTime = metav1.NewMicroTime(tableNow)
		e.ReportingController, e.ReportingInstance, e.Action, e.Reason = "example.com/ctrl", "ctrl-1", "Sync", "Synced"
	}
	cases := []struct {
		name   string
		mutate func(*corev1.Event)
		want   []wantErr
	}{
		{"an old-style event about a pod in its namespace", func(*corev1.Event) {}, nil},
		{"an old-style event whose object is elsewhere", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" },
			[]wantErr{{field.ErrorTypeInvalid, "involvedObject.namespace"}}},
		{"an old-style event about a node, stored in default", func(e *corev1.Event) {
			e.Namespace, e.InvolvedObject = "default", corev1.ObjectReference{Kind: "Node", Name: "n1"}
		}, nil},
		{"an old-style event about a node, stored elsewhere", func(e *corev1.Event) {
			e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "n1"}
		}, []wantErr{{field.ErrorTypeInvalid, "involvedObject.namespace"}}},
		{"a complete new-style event", newStyle, nil},
		{"a new-style event without reporting fields", func(e *corev1.Event) {
			newStyle(e)
			e.ReportingController, e.ReportingInstance, e.Action, e.Reason = "", "", "", ""
		}, []wantErr{
			{field.ErrorTypeRequired, "reportingComponent"},
			{field.ErrorTypeInvalid, "reportingComponent"}, {field.ErrorTypeInvalid, "reportingComponent"},
			{field.ErrorTypeRequired, "reportingInstance"}, {field.ErrorTypeRequired, "action"}, {field.ErrorTypeRequired, "reason"},
		}},
		{"a new-style event with a note over 1024 characters", func(e *corev1.Event) {
			newStyle(e)
			e.Message = strings.Repeat("x", 1025)
		}, []wantErr{{field.ErrorTypeInvalid, "message"}}},
		{"an event of any type, which core/v1 does not check", func(e *corev1.Event) { e.Type = "Odd" }, nil},
	}
	for _, tc := range cases {
		t.Run("validation of "+tc.name, func(t *testing.T) {
			t.Parallel()
			e := &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "web.17f", Namespace: "team-a"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "team-a"},
			}
			tc.mutate(e)
			assertErrs(t, eventStrategy{}.Validate(t.Context(), e), tc.want...)
			assertErrs(t, eventStrategy{}.ValidateUpdate(t.Context(), e, e), tc.want...)
		})
	}
	t.Run("event names may be any path segment", func(t *testing.T) {
		t.Parallel()
		if len(eventNameValidation("Pod.Web:1", false)) != 0 || len(eventNameValidation("a/b", false)) == 0 {
			t.Errorf("event names are not validated as path segments")
		}
	})
}

func TestEventTable(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range eventTable.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"}; !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v", names)
	}
	cases := []struct {
		name  string
		event corev1.Event
		want  []any
	}{
		{"an old-style repeated event", corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "web.1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
			Type:           "Warning", Reason: "BackOff", Message: " Back-off restarting \n", Count: 7,
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(time.Hour), LastTimestamp: ago(2 * time.Minute),
		}, []any{"2m", "Warning", "BackOff", "pod/web", "spec.containers{app}", "kubelet, node-1", "Back-off restarting", "60m", int64(7), "web.1"}},
		{"a new-style singleton event", corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "n.2"},
			InvolvedObject: corev1.ObjectReference{Kind: "Node"},
			Type:           "Normal", Reason: "Starting", EventTime: metav1.NewMicroTime(tableNow.Add(-10 * time.Second)),
			ReportingController: "kube-proxy",
		}, []any{"10s", "Normal", "Starting", "node", "", "kube-proxy", "", "10s", int64(1), "n.2"}},
		{"a new-style event series", corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: "s.3"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"},
			EventTime: metav1.NewMicroTime(tableNow.Add(-time.Hour)), ReportingController: "sched", ReportingInstance: "sched-1",
			Series: &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(tableNow.Add(-time.Minute))},
		}, []any{"60s", "", "", "pod/p", "", "sched, sched-1", "", "60m", int64(4), "s.3"}},
	}
	for _, tc := range cases {
		t.Run("the row of "+tc.name, func(t *testing.T) {
			t.Parallel()
			if got := eventTable.Row(&tc.event, tableNow); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("row = %#v\nwant  %#v", got, tc.want)
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	t.Parallel()
	e := &corev1.Event{
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "web", UID: "u1", APIVersion: "v1", ResourceVersion: "5", FieldPath: "spec"},
		Reason:         "Started", Type: "Normal", ReportingController: "kubelet",
	}
	want := map[string]string{
		"involvedObject.kind": "Pod", "involvedObject.namespace": "ns", "involvedObject.name": "web",
		"involvedObject.uid": "u1", "involvedObject.apiVersion": "v1", "involvedObject.resourceVersion": "5",
		"involvedObject.fieldPath": "spec", "reason": "Started", "reportingComponent": "kubelet",
		"source": "kubelet", "type": "Normal",
	}
	got := eventFields(e)
	if len(got) != len(want) {
		t.Errorf("fields = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q", k, got[k], v)
		}
	}
}
