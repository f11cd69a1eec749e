package events

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// Resources returns every served events.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{eventResource()}
}

func eventResource() registry.Resource {
	return registry.Resource{
		GVK:        eventsv1.SchemeGroupVersion.WithKind("Event"),
		Plural:     "events",
		Singular:   "event",
		Namespaced: true,
		ShortNames: []string{"ev"},
		Strategy:   eventStrategy{},
		Table: &registry.Table{
			Columns: EventColumns(),
			Row: func(obj runtime.Object, now time.Time) []any {
				return CoreEventRow(ToCore(obj.(*eventsv1.Event)), now)
			},
		},
		Fields: eventFields,
	}
}

type eventStrategy struct{ registry.DefaultStrategy }

// Validate applies the strict events.k8s.io/v1 create rules to the event's core form.
func (eventStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateCreate(ToCore(obj.(*eventsv1.Event)))
}

// ValidateUpdate allows only the series and metadata of an event to change.
func (eventStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validateUpdate(ToCore(obj.(*eventsv1.Event)), ToCore(old.(*eventsv1.Event)))
}

// eventFields are the events.k8s.io/v1 field selector names: upstream's core field set
// with involvedObject renamed regarding and reportingComponent reportingController.
func eventFields(obj runtime.Object) fields.Set {
	set := fields.Set{}
	for k, v := range CoreEventFields(ToCore(obj.(*eventsv1.Event))) {
		switch {
		case strings.HasPrefix(k, "involvedObject."):
			set["regarding."+strings.TrimPrefix(k, "involvedObject.")] = v
		case k == "reportingComponent":
			set["reportingController"] = v
		default:
			set[k] = v
		}
	}
	return set
}

// CoreEventFields are the field selector fields of a core/v1 Event beyond metadata.
// "source" falls back to the reporting controller for new-style events.
func CoreEventFields(ev *corev1.Event) fields.Set {
	source := ev.Source.Component
	if source == "" {
		source = ev.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            ev.InvolvedObject.Kind,
		"involvedObject.namespace":       ev.InvolvedObject.Namespace,
		"involvedObject.name":            ev.InvolvedObject.Name,
		"involvedObject.uid":             string(ev.InvolvedObject.UID),
		"involvedObject.apiVersion":      ev.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": ev.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       ev.InvolvedObject.FieldPath,
		"reason":                         ev.Reason,
		"reportingComponent":             ev.ReportingController,
		"source":                         source,
		"type":                           ev.Type,
	}
}

// EventColumns are the kubectl get columns of events, core or events.k8s.io alike. Unlike
// other kinds, Name is not first: it is a wide column at the end.
func EventColumns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: doc["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Reason", Type: "string", Description: doc["reason"]},
		{Name: "Object", Type: "string", Description: doc["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: doc["source"]},
		{Name: "Message", Type: "string", Description: doc["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: doc["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: doc["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: registry.NameColumn.Description},
	}
}

// CoreEventRow renders an event for EventColumns. New-style events (no timestamps, no
// count) fall back to eventTime and the series; a singleton counts 1.
func CoreEventRow(ev *corev1.Event, now time.Time) []any {
	first := registry.Age(ev.FirstTimestamp, now)
	if ev.FirstTimestamp.IsZero() {
		first = microAge(ev.EventTime, now)
	}
	last := registry.Age(ev.LastTimestamp, now)
	if ev.LastTimestamp.IsZero() {
		last = first
	}
	count := ev.Count
	if ev.Series != nil {
		last = microAge(ev.Series.LastObservedTime, now)
		count = ev.Series.Count
	} else if count == 0 {
		count = 1
	}
	target := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		target = fmt.Sprintf("%s/%s", target, ev.InvolvedObject.Name)
	}
	return []any{last, ev.Type, ev.Reason, target, ev.InvolvedObject.FieldPath, eventSource(ev),
		strings.TrimSpace(ev.Message), first, int64(count), ev.Name}
}

// eventSource is "component, host", preferring the legacy source and falling back to the
// reporting controller and instance.
func eventSource(ev *corev1.Event) string {
	component, instance := ev.Source.Component, ev.Source.Host
	if component == "" {
		component = ev.ReportingController
	}
	if instance == "" {
		instance = ev.ReportingInstance
	}
	if instance == "" {
		return component
	}
	return component + ", " + instance
}

func microAge(t metav1.MicroTime, now time.Time) string {
	return registry.Age(metav1.Time{Time: t.Time}, now)
}
