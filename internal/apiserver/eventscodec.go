package apiserver

import (
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"capstan/internal/apiserver/registry/events"
)

// eventsCodec stores events.k8s.io/v1 Events the way upstream does: as core/v1 Events under
// the same keys, converting on the way in and out. Core events read through it appear as
// events.k8s.io/v1 Events, and the reverse.
type eventsCodec struct {
	core runtime.Codec // the storage codec of core/v1
}

var _ runtime.Codec = eventsCodec{}

func (c eventsCodec) Encode(obj runtime.Object, w io.Writer) error {
	ev, ok := obj.(*eventsv1.Event)
	if !ok {
		return fmt.Errorf("events codec: cannot encode %T", obj)
	}
	return c.core.Encode(events.ToCore(ev), w)
}

func (c eventsCodec) Decode(data []byte, _ *schema.GroupVersionKind, _ runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	gvk := corev1.SchemeGroupVersion.WithKind("Event")
	obj, _, err := c.core.Decode(data, &gvk, &corev1.Event{})
	if err != nil {
		return nil, nil, err
	}
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return nil, nil, fmt.Errorf("events codec: stored object is a %T", obj)
	}
	out := events.FromCore(ev)
	outGVK := eventsv1.SchemeGroupVersion.WithKind("Event")
	return out, &outGVK, nil
}

func (c eventsCodec) Identifier() runtime.Identifier { return "capstan-events-v1" }
