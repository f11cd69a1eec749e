package garbagecollector

import (
	"errors"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
)

// ignored resources are never watched: events are numerous, short-lived and own nothing.
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// watchable is a resource to monitor, with the kind its objects have.
type watchable struct {
	gvr schema.GroupVersionResource
	gvk schema.GroupVersionKind
}

// deletableResources lists the preferred version of every resource that supports delete,
// list and watch. Groups discovery could not read are skipped (and looked at again at the
// next resync); err is set only when nothing could be read.
func deletableResources(d discovery.DiscoveryInterface) ([]watchable, error) {
	lists, err := discovery.ServerPreferredResources(d)
	var partial *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &partial) {
		return nil, err
	}
	var out []watchable
	for _, list := range lists {
		gv, perr := schema.ParseGroupVersion(list.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "delete") || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "watch") {
				continue
			}
			gvr := gv.WithResource(r.Name)
			if ignored[gvr.GroupResource()] {
				continue
			}
			out = append(out, watchable{gvr: gvr, gvk: gv.WithKind(r.Kind)})
		}
	}
	return out, nil
}

// resolver maps an owner reference's apiVersion and kind to its resource and scope,
// reading discovery again (at most once a second) when a kind is unknown.
type resolver struct {
	d         discovery.DiscoveryInterface
	mu        sync.Mutex
	mapper    meta.RESTMapper
	refreshed time.Time
}

func (r *resolver) resolve(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if r.mapper != nil {
			m, err := r.mapper.RESTMapping(gv.WithKind(kind).GroupKind(), gv.Version)
			if err == nil {
				return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
			}
			if !meta.IsNoMatchError(err) || attempt > 0 || time.Since(r.refreshed) < time.Second {
				return schema.GroupVersionResource{}, false, err
			}
		}
		if err := r.refresh(); err != nil {
			return schema.GroupVersionResource{}, false, err
		}
	}
}

// reset makes the next lookup read discovery again.
func (r *resolver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshed = time.Time{}
	r.mapper = nil
}

func (r *resolver) refresh() error {
	groups, err := restmapper.GetAPIGroupResources(r.d)
	var partial *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	r.mapper, r.refreshed = restmapper.NewDiscoveryRESTMapper(groups), time.Now()
	return nil
}
