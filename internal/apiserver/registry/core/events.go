package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// Length limits of new-style (eventTime) events.
const (
	eventReportingInstanceLimit = 128
	eventActionLimit            = 128
	eventReasonLimit            = 128
	eventNoteLimit              = 1024
)

// eventStrategy holds the rules of core/v1 events. Upstream keeps the core/v1 rules
// loose for old clients: the stricter events.k8s.io rules (type, unset legacy fields)
// do not apply here.
type eventStrategy struct{ registry.DefaultStrategy }

func (eventStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateEvent(obj.(*corev1.Event))
}

func (eventStrategy) ValidateUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	return validateEvent(obj.(*corev1.Event))
}

// validateEvent requires the involved object's namespace to match the event's, and
// reporting fields on new-style events (those with eventTime).
func validateEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	const mismatch = "does not match event.namespace"
	involvedNS := e.InvolvedObject.Namespace
	if e.EventTime.IsZero() {
		// Old clients sent cluster-scoped objects' events to "default".
		if (involvedNS == "" && e.Namespace != "" && e.Namespace != metav1.NamespaceDefault) ||
			(involvedNS != "" && e.Namespace != involvedNS) {
			errs = append(errs, field.Invalid(nsPath, involvedNS, mismatch))
		}
	} else {
		if involvedNS == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, involvedNS, mismatch))
		}
		errs = append(errs, newStyleEventErrors(e)...)
	}
	return append(errs, messagesToErrors(validation.IsDNS1123Subdomain(e.Namespace), e.Namespace, field.NewPath("namespace"))...)
}

func newStyleEventErrors(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	// core/v1 calls reportingController reportingComponent.
	rc := field.NewPath("reportingComponent")
	if e.ReportingController == "" {
		errs = append(errs, field.Required(rc, ""))
	}
	errs = append(errs, messagesToErrors(validation.IsQualifiedName(e.ReportingController), e.ReportingController, rc)...)
	for _, f := range []struct {
		name     string
		value    string
		limit    int
		required bool
	}{
		{"reportingInstance", e.ReportingInstance, eventReportingInstanceLimit, true},
		{"action", e.Action, eventActionLimit, true},
		{"reason", e.Reason, eventReasonLimit, true},
		{"message", e.Message, eventNoteLimit, false},
	} {
		if f.required && f.value == "" {
			errs = append(errs, field.Required(field.NewPath(f.name), ""))
		}
		if len(f.value) > f.limit {
			errs = append(errs, field.Invalid(field.NewPath(f.name), "", fmt.Sprintf("can have at most %v characters", f.limit)))
		}
	}
	return errs
}

// eventNameValidation allows any name usable as a URL path segment, as upstream does for
// core/v1 events.
func eventNameValidation(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

func eventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

var eventTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: "string", Description: corev1.Event{}.SwaggerDoc()["lastTimestamp"]},
		{Name: "Type", Type: "string", Description: corev1.Event{}.SwaggerDoc()["type"]},
		{Name: "Reason", Type: "string", Description: corev1.Event{}.SwaggerDoc()["reason"]},
		{Name: "Object", Type: "string", Description: corev1.Event{}.SwaggerDoc()["involvedObject"]},
		{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["source"]},
		{Name: "Message", Type: "string", Description: corev1.Event{}.SwaggerDoc()["message"]},
		{Name: "First Seen", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["firstTimestamp"]},
		{Name: "Count", Type: "string", Priority: 1, Description: corev1.Event{}.SwaggerDoc()["count"]},
		{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: registry.NameColumn.Description},
	},
	Row: eventRow,
}

// eventRow renders an event like kubectl: new-style events fall back to eventTime and
// their series, and a singleton event counts 1.
func eventRow(obj runtime.Object, now time.Time) []any {
	e := obj.(*corev1.Event)
	first := registry.Age(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = registry.Age(metav1.Time{Time: e.EventTime.Time}, now)
	}
	last := registry.Age(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = registry.Age(metav1.Time{Time: e.Series.LastObservedTime.Time}, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1
	}
	object := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		object += "/" + e.InvolvedObject.Name
	}
	return []any{
		last, e.Type, e.Reason, object, e.InvolvedObject.FieldPath,
		eventSource(e), strings.TrimSpace(e.Message), first, int64(count), e.Name,
	}
}

// eventSource is "component, host", from the legacy source or the reporting fields.
func eventSource(e *corev1.Event) string {
	component, instance := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if instance == "" {
		instance = e.ReportingInstance
	}
	if instance == "" {
		return component
	}
	return component + ", " + instance
}
