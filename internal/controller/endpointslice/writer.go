package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/controller/endpointutil"
)

// sliceMeta is the metadata every slice of one owner must carry.
type sliceMeta struct {
	namespace, generateName string
	labels                  map[string]string
	owner                   metav1.OwnerReference
	// annotations to set on written slices (besides the trigger time).
	annotations map[string]string
	trigger     time.Time
}

// writer applies plans and remembers what it wrote, so a sync on a cache that has not
// seen its own writes yet waits instead of acting on stale slices.
type writer struct {
	client kubernetes.Interface
	now    func() time.Time
	mu     sync.Mutex
	// expect maps an owner key to slice name -> what was written.
	expect map[string]map[string]written
}

// written is a write the cache should show: a resourceVersion, or "" for a deletion.
type written struct {
	rv string
	at time.Time
}

// expectTimeout bounds the wait for the cache: someone else may have deleted or
// replaced a slice, and the write will then never show.
const expectTimeout = 30 * time.Second

func newWriter(client kubernetes.Interface) *writer {
	return &writer{client: client, now: time.Now, expect: map[string]map[string]written{}}
}

// errStale asks for a retry: the cache is behind the controller's own writes.
var errStale = errors.New("endpoint slice cache is behind the last writes; retrying")

// fresh reports whether the cached slices include every write made for key.
func (w *writer) fresh(key string, cached []*discoveryv1.EndpointSlice) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	want := w.expect[key]
	if len(want) == 0 {
		return true
	}
	have := map[string]string{}
	for _, s := range cached {
		have[s.Name] = s.ResourceVersion
	}
	now := w.now()
	for name, wr := range want {
		got, ok := have[name]
		seen := (wr.rv == "" && !ok) || (wr.rv != "" && ok && newerOrSame(got, wr.rv))
		if !seen && now.Sub(wr.at) < expectTimeout {
			return false
		}
	}
	delete(w.expect, key)
	return true
}

func newerOrSame(got, want string) bool {
	g, err1 := strconv.ParseUint(got, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	if err1 != nil || err2 != nil {
		return got == want
	}
	return g >= w
}

func (w *writer) record(key, name, rv string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expect[key] == nil {
		w.expect[key] = map[string]written{}
	}
	w.expect[key][name] = written{rv: rv, at: w.now()}
}

func (w *writer) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.expect, key)
}

// apply writes the plan, and corrects the metadata of existing slices the plan keeps.
func (w *writer) apply(ctx context.Context, key string, p plan, existing []*discoveryv1.EndpointSlice, m sliceMeta) error {
	api := w.client.DiscoveryV1().EndpointSlices(m.namespace)
	var errs []error
	touched := map[string]bool{}
	for _, s := range p.delete {
		touched[s.Name] = true
		err := api.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting endpoint slice %s/%s: %w", m.namespace, s.Name, err))
			continue
		}
		w.record(key, s.Name, "")
	}
	updates := p.update
	for _, s := range updates {
		touched[s.Name] = true
	}
	for _, s := range existing {
		if !touched[s.Name] && !metaOK(s, m) {
			updates = append(updates, s.DeepCopy())
		}
	}
	for _, s := range updates {
		stamp(s, m)
		out, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("updating endpoint slice %s/%s: %w", m.namespace, s.Name, err))
			continue
		}
		w.record(key, out.Name, out.ResourceVersion)
	}
	for _, s := range p.create {
		s.Namespace, s.GenerateName = m.namespace, m.generateName
		stamp(s, m)
		out, err := api.Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				continue
			}
			errs = append(errs, fmt.Errorf("creating endpoint slice for %s: %w", key, err))
			continue
		}
		w.record(key, out.Name, out.ResourceVersion)
	}
	return errors.Join(errs...)
}

// metaOK reports that a slice carries the owner's labels and controller reference.
func metaOK(s *discoveryv1.EndpointSlice, m sliceMeta) bool {
	if !maps.Equal(s.Labels, m.labels) || len(s.OwnerReferences) != 1 {
		return false
	}
	return apiequality.Semantic.DeepEqual(s.OwnerReferences[0], m.owner)
}

// stamp sets the owner's metadata on a slice about to be written.
func stamp(s *discoveryv1.EndpointSlice, m sliceMeta) {
	s.Labels = maps.Clone(m.labels)
	s.OwnerReferences = []metav1.OwnerReference{m.owner}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	maps.Copy(s.Annotations, m.annotations)
	if !m.trigger.IsZero() {
		s.Annotations[endpointutil.LastChangeTriggerTimeAnnotation] = m.trigger.UTC().Format(time.RFC3339Nano)
	} else {
		delete(s.Annotations, endpointutil.LastChangeTriggerTimeAnnotation)
	}
	if len(s.Annotations) == 0 {
		s.Annotations = nil
	}
}
