package garbagecollector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
)

// errScope marks a cluster-scoped dependent naming a namespaced owner: the reference
// can never resolve, so retrying is pointless.
var errScope = errors.New("cluster-scoped object refers to a namespaced owner")

// attemptToDelete looks at one object of the graph: a virtual owner is checked for
// existence; an owner deleting in the foreground loses its finalizer once nothing blocks
// it; a dependent is deleted, or loses references, according to decide.
func (c *Controller) attemptToDelete(ctx context.Context, key string) error {
	v, ok := c.graph.snapshot(types.UID(key))
	if !ok {
		return nil
	}
	latest, err := c.get(ctx, v.id)
	switch {
	case apierrors.IsNotFound(err):
		c.builder.events.Add(&event{typ: deleteEvent, virtual: true, id: v.id})
		return nil
	case err != nil:
		return err
	case !v.observed:
		// The owner exists; its informer will show it.
		return nil
	}
	if latest.DeletionTimestamp != nil {
		if !slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents) {
			return nil
		}
		return c.finishForeground(ctx, v, latest)
	}
	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return nil
	}
	states, err := c.classify(ctx, v.id, refs)
	if errors.Is(err, errScope) {
		if c.opts.Recorder != nil {
			c.opts.Recorder.Eventf(reference(v.id), corev1.EventTypeWarning, "OwnerRefInvalidNamespace",
				"ownerRef %v of a cluster-scoped object refers to a namespaced kind", refs)
		}
		return nil
	}
	if err != nil {
		return err
	}
	inForeground := slices.ContainsFunc(v.dependents, func(d dependentView) bool { return d.deletingDependents })
	p := decide(refs, states, len(v.dependents) > 0, inForeground, latest.Finalizers)
	return c.carryOut(ctx, v.id, latest, p)
}

func (c *Controller) carryOut(ctx context.Context, id identity, latest *metav1.PartialObjectMetadata, p plan) error {
	switch p.action {
	case removeRefs:
		c.log.Debug("removing dangling owner references", "object", id, "owners", p.remove)
		return c.patchOwners(ctx, id, latest, withoutOwners(latest.OwnerReferences, p.remove))
	case deleteObject:
		if len(p.unblock) > 0 {
			if err := c.patchOwners(ctx, id, latest, unblocked(latest.OwnerReferences, p.unblock)); err != nil {
				return err
			}
		}
		c.log.Debug("deleting object whose owners are gone", "object", id, "propagation", p.policy)
		client, err := c.client(id)
		if err != nil {
			return err
		}
		uid := id.UID
		err = client.Delete(ctx, id.Name, metav1.DeleteOptions{PropagationPolicy: &p.policy, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting %s: %w", id, err)
		}
	}
	return nil
}

// finishForeground removes the foregroundDeletion finalizer of an owner once no dependent
// blocks it; until then it makes sure each blocking dependent is being dealt with.
func (c *Controller) finishForeground(ctx context.Context, v view, latest *metav1.PartialObjectMetadata) error {
	blocking := 0
	for _, d := range v.dependents {
		if !d.blocking {
			continue
		}
		blocking++
		if !d.deletingDependents {
			c.deleter.EnqueueKey(string(d.id.UID))
		}
	}
	if blocking > 0 {
		return nil
	}
	return c.removeFinalizer(ctx, v.id, latest, metav1.FinalizerDeleteDependents)
}

// attemptToOrphan removes an owner's references from its dependents, then its orphan
// finalizer.
func (c *Controller) attemptToOrphan(ctx context.Context, key string) error {
	v, ok := c.graph.snapshot(types.UID(key))
	if !ok {
		return nil
	}
	var errs []error
	for _, d := range v.dependents {
		if err := c.dropOwner(ctx, d.id, v.id.UID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	latest, err := c.get(ctx, v.id)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.removeFinalizer(ctx, v.id, latest, metav1.FinalizerOrphanDependents)
}

// dropOwner removes the reference to owner from a dependent.
func (c *Controller) dropOwner(ctx context.Context, dep identity, owner types.UID) error {
	latest, err := c.get(ctx, dep)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	refs := withoutOwners(latest.OwnerReferences, []types.UID{owner})
	if len(refs) == len(latest.OwnerReferences) {
		return nil
	}
	return c.patchOwners(ctx, dep, latest, refs)
}

// classify looks up each owner of the object id: solid, dangling or waiting for its
// dependents. Owners are read live; the absent cache saves lookups of owners known gone.
func (c *Controller) classify(ctx context.Context, id identity, refs []metav1.OwnerReference) (map[types.UID]ownerState, error) {
	states := map[types.UID]ownerState{}
	for _, ref := range refs {
		if c.absent.has(id.Namespace, ref.UID) || c.absent.has("", ref.UID) {
			states[ref.UID] = dangling
			continue
		}
		gvr, namespaced, err := c.resolver.resolve(ref.APIVersion, ref.Kind)
		if err != nil {
			return nil, fmt.Errorf("owner %s/%s of %s: %w", ref.APIVersion, ref.Kind, id, err)
		}
		ns := ""
		if namespaced {
			if id.Namespace == "" {
				return nil, errScope
			}
			ns = id.Namespace
		}
		owner, err := c.opts.Metadata.Resource(gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			states[ref.UID] = dangling
			c.absent.add(ns, ref.UID)
		case err != nil:
			return nil, err
		case owner.UID != ref.UID:
			// The name now belongs to another object: the owner is gone.
			states[ref.UID] = dangling
			c.absent.add(ns, ref.UID)
		case owner.DeletionTimestamp != nil && slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents):
			states[ref.UID] = waiting
		default:
			states[ref.UID] = solid
		}
	}
	return states, nil
}

// get reads an object live; an object with the same name but another uid is NotFound.
func (c *Controller) get(ctx context.Context, id identity) (*metav1.PartialObjectMetadata, error) {
	client, err := c.client(id)
	if err != nil {
		return nil, err
	}
	obj, err := client.Get(ctx, id.Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if obj.UID != id.UID {
		return nil, apierrors.NewNotFound(obj.GroupVersionKind().GroupVersion().WithResource("").GroupResource(), id.Name)
	}
	return obj, nil
}

// client is the metadata client of the resource and namespace of id.
func (c *Controller) client(id identity) (metadata.ResourceInterface, error) {
	gvr, namespaced, err := c.resolver.resolve(id.APIVersion, id.Kind)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", id, err)
	}
	if !namespaced {
		return c.opts.Metadata.Resource(gvr), nil
	}
	return c.opts.Metadata.Resource(gvr).Namespace(id.Namespace), nil
}

// patchOwners replaces the owner references of an object, failing with a conflict if it
// changed since latest was read.
func (c *Controller) patchOwners(ctx context.Context, id identity, latest *metav1.PartialObjectMetadata, refs []metav1.OwnerReference) error {
	var value any = refs
	if len(refs) == 0 {
		value = nil
	}
	return c.patchMeta(ctx, id, latest, "ownerReferences", value)
}

// removeFinalizer removes one finalizer of an object.
func (c *Controller) removeFinalizer(ctx context.Context, id identity, latest *metav1.PartialObjectMetadata, finalizer string) error {
	if !slices.Contains(latest.Finalizers, finalizer) {
		return nil
	}
	fs := slices.DeleteFunc(slices.Clone(latest.Finalizers), func(f string) bool { return f == finalizer })
	var value any = fs
	if len(fs) == 0 {
		value = nil
	}
	return c.patchMeta(ctx, id, latest, "finalizers", value)
}

func (c *Controller) patchMeta(ctx context.Context, id identity, latest *metav1.PartialObjectMetadata, field string, value any) error {
	client, err := c.client(id)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		field: value, "uid": latest.UID, "resourceVersion": latest.ResourceVersion,
	}})
	if err != nil {
		return err
	}
	_, err = client.Patch(ctx, id.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating %s of %s: %w", field, id, err)
	}
	return nil
}
