package events

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var now = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func newEvent() *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.17a", Namespace: "ns"},
		EventTime:           metav1.NewMicroTime(now.Add(-time.Minute)),
		ReportingController: "kubernetes.io/kubelet",
		ReportingInstance:   "node-1",
		Action:              "Pulling",
		Reason:              "Pulling",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "web", UID: "u1", APIVersion: "v1", FieldPath: "spec.containers{web}"},
		Note:                "Pulling image \"nginx\"",
		Type:                corev1.EventTypeNormal,
	}
}

func fullEvent() *eventsv1.Event {
	ev := newEvent()
	ev.TypeMeta = metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}
	ev.Labels = map[string]string{"a": "b"}
	ev.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(now)}
	ev.Related = &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	ev.DeprecatedSource = corev1.EventSource{Component: "kubelet", Host: "node-1"}
	ev.DeprecatedFirstTimestamp = metav1.NewTime(now.Add(-time.Hour))
	ev.DeprecatedLastTimestamp = metav1.NewTime(now.Add(-time.Minute))
	ev.DeprecatedCount = 3
	return ev
}

func TestConversionMapsFields(t *testing.T) {
	t.Parallel()
	ev := fullEvent()
	core := ToCore(ev)
	checks := []struct {
		name string
		ok   bool
	}{
		{"regarding becomes involvedObject", core.InvolvedObject == ev.Regarding},
		{"note becomes message", core.Message == ev.Note},
		{"deprecatedSource becomes source", core.Source == ev.DeprecatedSource},
		{"deprecated timestamps become first and last timestamps", core.FirstTimestamp.Equal(&ev.DeprecatedFirstTimestamp) && core.LastTimestamp.Equal(&ev.DeprecatedLastTimestamp)},
		{"deprecatedCount becomes count", core.Count == 3},
		{"series is copied", core.Series.Count == 3 && core.Series.LastObservedTime.Equal(&ev.Series.LastObservedTime)},
		{"related is copied, not shared", *core.Related == *ev.Related && core.Related != ev.Related},
		{"reporting fields are copied", core.ReportingController == ev.ReportingController && core.ReportingInstance == ev.ReportingInstance},
		{"the core form is a core/v1 Event", core.APIVersion == "v1" && core.Kind == "Event"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if !c.ok {
				t.Errorf("core = %+v", core)
			}
		})
	}
}

func TestConversionRoundTrips(t *testing.T) {
	t.Parallel()
	cases := map[string]*eventsv1.Event{
		"a full event round-trips through core":    fullEvent(),
		"a minimal event round-trips through core": {TypeMeta: metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}},
	}
	for name, ev := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			back := FromCore(ToCore(ev))
			if !equality.Semantic.DeepEqual(ev, back) {
				t.Errorf("round trip changed the event:\n%+v\n%+v", ev, back)
			}
		})
	}
	t.Run("a core event round-trips through events/v1", func(t *testing.T) {
		t.Parallel()
		core := ToCore(fullEvent())
		if back := ToCore(FromCore(core)); !equality.Semantic.DeepEqual(core, back) {
			t.Errorf("round trip changed the event:\n%+v\n%+v", core, back)
		}
	})
	t.Run("conversion does not alias the input", func(t *testing.T) {
		t.Parallel()
		ev := fullEvent()
		core := ToCore(ev)
		core.Labels["a"] = "changed"
		if ev.Labels["a"] != "b" {
			t.Errorf("input labels changed")
		}
	})
}

func TestEventValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "events").Strategy
	cases := []struct {
		name   string
		mutate func(*eventsv1.Event)
		want   []wantErr
	}{
		{name: "a new-style event is valid", mutate: func(*eventsv1.Event) {}},
		{name: "eventTime is required", mutate: func(e *eventsv1.Event) { e.EventTime = metav1.MicroTime{} },
			want: []wantErr{{"eventTime", field.ErrorTypeRequired}}},
		{name: "reportingController is required", mutate: func(e *eventsv1.Event) { e.ReportingController = "" },
			want: []wantErr{{"reportingController", field.ErrorTypeRequired}, {"reportingController", field.ErrorTypeInvalid}, {"reportingController", field.ErrorTypeInvalid}}},
		{name: "reportingInstance, action and reason are required", mutate: func(e *eventsv1.Event) {
			e.ReportingInstance, e.Action, e.Reason = "", "", ""
		}, want: []wantErr{{"reportingInstance", field.ErrorTypeRequired}, {"action", field.ErrorTypeRequired}, {"reason", field.ErrorTypeRequired}}},
		{name: "a note longer than 1 KiB is rejected as message", mutate: func(e *eventsv1.Event) { e.Note = strings.Repeat("x", 1025) },
			want: []wantErr{{"message", field.ErrorTypeInvalid}}},
		{name: "the type must be Normal or Warning", mutate: func(e *eventsv1.Event) { e.Type = "Info" },
			want: []wantErr{{"type", field.ErrorTypeInvalid}}},
		{name: "deprecated fields must be unset on create", mutate: func(e *eventsv1.Event) {
			e.DeprecatedCount = 2
			e.DeprecatedSource.Component = "kubelet"
			e.DeprecatedFirstTimestamp = metav1.NewTime(now)
		}, want: []wantErr{{"count", field.ErrorTypeInvalid}, {"source", field.ErrorTypeInvalid}, {"firstTimestamp", field.ErrorTypeInvalid}}},
		{name: "a series needs two occurrences and a time", mutate: func(e *eventsv1.Event) { e.Series = &eventsv1.EventSeries{Count: 1} },
			want: []wantErr{{"series.count", field.ErrorTypeInvalid}, {"series.lastObservedTime", field.ErrorTypeRequired}}},
		{name: "a cluster object's event lives in default or kube-system", mutate: func(e *eventsv1.Event) {
			e.Regarding = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
		}, want: []wantErr{{"involvedObject.namespace", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev := newEvent()
			c.mutate(ev)
			checkErrs(t, s.Validate(t.Context(), ev), c.want...)
		})
	}
}

func TestEventUpdate(t *testing.T) {
	t.Parallel()
	s := findResource(t, "events").Strategy
	t.Run("a new series may be recorded", func(t *testing.T) {
		t.Parallel()
		old := newEvent()
		ev := old.DeepCopy()
		ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(now)}
		checkErrs(t, s.ValidateUpdate(t.Context(), ev, old))
	})
	t.Run("the note and the regarded object are immutable", func(t *testing.T) {
		t.Parallel()
		old := newEvent()
		ev := old.DeepCopy()
		ev.Note = "other"
		ev.Regarding.Name = "other"
		checkErrs(t, s.ValidateUpdate(t.Context(), ev, old),
			wantErr{"message", field.ErrorTypeInvalid}, wantErr{"involvedObject", field.ErrorTypeInvalid})
	})
	t.Run("a changed reason is reported twice, as upstream", func(t *testing.T) {
		t.Parallel()
		old := newEvent()
		ev := old.DeepCopy()
		ev.Reason = "Pulled"
		checkErrs(t, s.ValidateUpdate(t.Context(), ev, old),
			wantErr{"reason", field.ErrorTypeInvalid}, wantErr{"reason", field.ErrorTypeInvalid})
	})
}

func TestLegacyCoreEventValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ev   corev1.Event
		want []wantErr
	}{
		{name: "an old-style event in its object's namespace is valid",
			ev: corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}, InvolvedObject: corev1.ObjectReference{Namespace: "ns"}}},
		{name: "an old-style event about a cluster object may live in default",
			ev: corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}}},
		{name: "an old-style event must live in its object's namespace",
			ev:   corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}, InvolvedObject: corev1.ObjectReference{Namespace: "b"}},
			want: []wantErr{{"involvedObject.namespace", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkErrs(t, ValidateCoreEvent(&c.ev), c.want...)
		})
	}
}

func TestEventTableAndFields(t *testing.T) {
	t.Parallel()
	r := findResource(t, "events")
	if r.GVK.String() != "events.k8s.io/v1, Kind=Event" || !r.Namespaced || r.ShortNames[0] != "ev" {
		t.Errorf("identity: %+v", r)
	}
	var names []string
	for _, col := range r.Table.Columns {
		if col.Priority == 0 {
			names = append(names, col.Name)
		}
	}
	if got := strings.Join(names, ","); got != "Last Seen,Type,Reason,Object,Message" {
		t.Errorf("narrow columns = %s", got)
	}
	t.Run("a singleton new-style event counts one and ages from eventTime", func(t *testing.T) {
		t.Parallel()
		checkRow(t, r.Table.Row(newEvent(), now), []any{"60s", "Normal", "Pulling", "pod/web", "spec.containers{web}",
			"kubernetes.io/kubelet, node-1", "Pulling image \"nginx\"", "60s", int64(1), "web.17a"})
	})
	t.Run("a series shows its count and last observation", func(t *testing.T) {
		t.Parallel()
		ev := fullEvent()
		checkRow(t, r.Table.Row(ev, now), []any{"0s", "Normal", "Pulling", "pod/web", "spec.containers{web}",
			"kubelet, node-1", "Pulling image \"nginx\"", "60m", int64(3), "web.17a"})
	})
	t.Run("an old-style core event shows its timestamps and source", func(t *testing.T) {
		t.Parallel()
		ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "n"}, InvolvedObject: corev1.ObjectReference{Kind: "Node"},
			Source: corev1.EventSource{Component: "kubelet"}, Message: " Starting \n", Count: 2, Type: "Normal", Reason: "Starting",
			FirstTimestamp: metav1.NewTime(now.Add(-2 * time.Hour)), LastTimestamp: metav1.NewTime(now.Add(-time.Hour))}
		checkRow(t, CoreEventRow(ev, now), []any{"60m", "Normal", "Starting", "node", "", "kubelet", "Starting", "120m", int64(2), "n"})
	})
	t.Run("field selectors use the events.k8s.io names", func(t *testing.T) {
		t.Parallel()
		got := r.Fields(newEvent())
		want := map[string]string{
			"regarding.kind": "Pod", "regarding.namespace": "ns", "regarding.name": "web", "regarding.uid": "u1",
			"regarding.apiVersion": "v1", "regarding.resourceVersion": "", "regarding.fieldPath": "spec.containers{web}",
			"reason": "Pulling", "reportingController": "kubernetes.io/kubelet", "source": "kubernetes.io/kubelet", "type": "Normal",
		}
		if len(got) != len(want) {
			t.Errorf("fields = %v", got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("field %s = %q, want %q", k, got[k], v)
			}
		}
	})
}
