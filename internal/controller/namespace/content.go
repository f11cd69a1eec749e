package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
)

// resource is a namespaced resource whose content can be deleted.
type resource struct {
	gvr schema.GroupVersionResource
	// collection: the resource supports deletecollection.
	collection bool
}

// name is how conditions name the resource: "pods." or "deployments.apps".
func (r resource) name() string { return r.gvr.Resource + "." + r.gvr.Group }

// discover lists the namespaced resources that support list and delete, in each group's
// preferred version. failures names the groups discovery could not read; the resources of
// the other groups are still returned.
func discover(d discovery.DiscoveryInterface) (out []resource, failures []string, err error) {
	lists, err := discovery.ServerPreferredNamespacedResources(d)
	var failed *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &failed) {
		for gv, e := range failed.Groups {
			failures = append(failures, fmt.Sprintf("%s: %v", gv, e))
		}
		err = nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			out = append(out, resource{gvr: gv.WithResource(r.Name), collection: slices.Contains(r.Verbs, "deletecollection")})
		}
	}
	return out, failures, nil
}

// deleteContent deletes the objects of every resource in namespace ns and reports what is
// left.
func deleteContent(ctx context.Context, meta metadata.Interface, ns string, resources []resource) outcome {
	o := outcome{remaining: map[string]int{}, finalizers: map[string]int{}}
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	for _, r := range resources {
		client := meta.Resource(r.gvr).Namespace(ns)
		// Most resources are empty: a list (served from the watch cache) is the cheapest
		// way to find out.
		list, err := client.List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			continue
		}
		if err == nil && len(list.Items) > 0 && r.collection {
			err = client.DeleteCollection(ctx, opts, metav1.ListOptions{})
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				err = nil
			}
			if err == nil {
				list, err = client.List(ctx, metav1.ListOptions{})
			}
		}
		if err == nil {
			deleted, derr := deleteEach(ctx, client, list.Items)
			if derr != nil {
				o.deleteFailures = append(o.deleteFailures, fmt.Sprintf("%s: %v", r.name(), derr))
			}
			if deleted {
				// Look again at what the deletes left.
				list, err = client.List(ctx, metav1.ListOptions{})
			}
		}
		if err != nil {
			o.deleteFailures = append(o.deleteFailures, fmt.Sprintf("%s: %v", r.name(), err))
			continue
		}
		if len(list.Items) == 0 {
			continue
		}
		o.remaining[r.name()] += len(list.Items)
		for _, item := range list.Items {
			for _, f := range item.Finalizers {
				o.finalizers[f]++
			}
			if r.gvr.Group == "" && r.gvr.Resource == "pods" && item.DeletionGracePeriodSeconds != nil {
				o.estimate = max(o.estimate, *item.DeletionGracePeriodSeconds)
			}
		}
	}
	return o
}

// deleteEach deletes the objects not yet being deleted (those a deletecollection missed, or
// all of them without one). It reports whether it sent any delete, and the first failure.
func deleteEach(ctx context.Context, client metadata.ResourceInterface, items []metav1.PartialObjectMetadata) (bool, error) {
	background := metav1.DeletePropagationBackground
	sent := false
	var first error
	for _, item := range items {
		if item.DeletionTimestamp != nil {
			continue
		}
		uid := item.UID
		err := client.Delete(ctx, item.Name, metav1.DeleteOptions{PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && first == nil {
			first = err
		}
		sent = true
	}
	return sent, first
}
