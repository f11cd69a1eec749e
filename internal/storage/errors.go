package storage

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// OptimisticLockErrorMsg is upstream's message for an update whose resourceVersion is stale.
// The REST layer's tryUpdate uses it:
// apierrors.NewConflict(resource, name, errors.New(storage.OptimisticLockErrorMsg)).
const OptimisticLockErrorMsg = "the object has been modified; please apply your changes to the latest version and try again"

// Upstream's messages for lists that can no longer be served.
const (
	msgListExpired     = "The resourceVersion for the provided list is too old."
	msgContinueExpired = "The provided continue parameter is too old to display a consistent list result. " +
		"You can start a new list without the continue parameter, or use the continue token in this " +
		"response to retrieve the remainder of the results. Continuing with the provided token results " +
		"in an inconsistent list - objects that were created, modified, or deleted between the time the " +
		"first chunk was returned and now may show up in the list."
)

// nameOf is the last path segment of a key, the object name in errors.
func nameOf(key string) string {
	return key[strings.LastIndexByte(key, '/')+1:]
}

func (s *Store) notFound(key string) error {
	return apierrors.NewNotFound(s.resource, nameOf(key))
}

func (s *Store) alreadyExists(key string) error {
	return apierrors.NewAlreadyExists(s.resource, nameOf(key))
}

func (s *Store) conflict(key, msg string) error {
	return apierrors.NewConflict(s.resource, nameOf(key), errors.New(msg))
}

func badRequest(msg string) error { return apierrors.NewBadRequest(msg) }

func apiInternal(err error) error { return apierrors.NewInternalError(err) }

// tooLargeRV is upstream's 504 for a resourceVersion the cache did not reach in time.
func tooLargeRV(want, have int64) error {
	err := apierrors.NewTimeoutError(fmt.Sprintf("Too large resource version: %d, current: %d", want, have), 1)
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{
		Type:    metav1.CauseTypeResourceVersionTooLarge,
		Message: "Too large resource version",
	}}
	return err
}

// tooOldRV is upstream's 410 for a watch from a revision older than the event history.
func tooOldRV(want, oldest int64) error {
	return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", want, oldest))
}

// checkPreconditions reports upstream's Conflict when obj does not satisfy pre.
func (s *Store) checkPreconditions(key string, pre *metav1.Preconditions, obj runtime.Object) error {
	if pre == nil {
		return nil
	}
	m, err := metaOf(obj)
	if err != nil {
		return err
	}
	if pre.UID != nil && *pre.UID != m.GetUID() {
		return s.conflict(key, fmt.Sprintf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *pre.UID, m.GetUID()))
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != m.GetResourceVersion() {
		return s.conflict(key, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v",
			*pre.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}
