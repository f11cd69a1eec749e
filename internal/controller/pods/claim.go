package pods

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// RefManager claims objects of type T for one controller owner, as upstream's
// ControllerRefManager: objects it controls and that match are kept, orphans that match are
// adopted, and objects it controls that no longer match are released. T is any
// metav1.Object (pods, ControllerRevisions, PVCs, ...).
type RefManager[T metav1.Object] struct {
	// Owner is the controller claiming; its deletionTimestamp stops adoption and release.
	Owner metav1.Object
	// Kind of Owner, for the ownerReference written on adoption.
	Kind schema.GroupVersionKind
	// Match tells whether an object belongs to Owner (usually its selector).
	Match func(T) bool
	// CanAdopt is asked once per Claim, before the first adoption: it re-reads the owner
	// from the API (not the cache) and fails when it is being deleted or was replaced
	// (see RecheckOwner). Nil: adoption is always allowed.
	CanAdopt func(ctx context.Context) error
	// Patch applies a strategic merge patch to obj (see PatchPod).
	Patch func(ctx context.Context, obj T, patch []byte) error
}

// Claim returns the objects of objs that Owner controls after adopting and releasing.
// Failed adoptions and releases are joined into the error; the objects claimed so far
// are returned with it.
func (m *RefManager[T]) Claim(ctx context.Context, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	var once sync.Once
	var adoptErr error
	canAdopt := func() error {
		once.Do(func() {
			if m.CanAdopt != nil {
				adoptErr = m.CanAdopt(ctx)
			}
		})
		return adoptErr
	}
	for _, obj := range objs {
		ok, err := m.claimOne(ctx, obj, canAdopt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, obj)
		}
	}
	return claimed, errors.Join(errs...)
}

func (m *RefManager[T]) claimOne(ctx context.Context, obj T, canAdopt func() error) (bool, error) {
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != m.Owner.GetUID() {
			return false, nil // another controller's
		}
		if m.Match(obj) {
			return true, nil
		}
		// Ours but no longer matching. An owner being deleted leaves its objects to the
		// garbage collector rather than releasing them.
		if m.Owner.GetDeletionTimestamp() != nil {
			return false, nil
		}
		if err := m.Patch(ctx, obj, ReleasePatch(m.Owner.GetUID(), obj.GetUID())); err != nil {
			// Gone, or recreated under another UID (the patch's uid no longer matches).
			if apierrors.IsNotFound(err) || apierrors.IsInvalid(err) {
				return false, nil
			}
			return false, fmt.Errorf("releasing %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		return false, nil
	}
	// An orphan.
	if m.Owner.GetDeletionTimestamp() != nil || !m.Match(obj) || obj.GetDeletionTimestamp() != nil {
		return false, nil
	}
	if ns := m.Owner.GetNamespace(); ns != "" && ns != obj.GetNamespace() {
		return false, nil
	}
	if err := canAdopt(); err != nil {
		return false, fmt.Errorf("cannot adopt %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	if err := m.Patch(ctx, obj, AdoptPatch(m.Owner, m.Kind, obj.GetUID())); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("adopting %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return true, nil
}

// AdoptPatch is the strategic merge patch that adds owner as the controller of the object
// whose UID is uid (the uid makes the patch fail on an object recreated under the same name).
func AdoptPatch(owner metav1.Object, kind schema.GroupVersionKind, uid types.UID) []byte {
	ref := NewControllerRef(owner, kind)
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{*ref},
		"uid":             uid,
	}})
}

// ReleasePatch is the strategic merge patch that removes the ownerReference to ownerUID
// from the object whose UID is uid.
func ReleasePatch(ownerUID, uid types.UID) []byte {
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": ownerUID}},
		"uid":             uid,
	}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps and strings: cannot fail
	}
	return b
}

// RecheckOwner returns a CanAdopt that GETs the owner afresh and refuses adoption when it
// is being deleted or is no longer the object with uid (deleted and recreated).
func RecheckOwner(uid types.UID, get func(ctx context.Context) (metav1.Object, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		fresh, err := get(ctx)
		if err != nil {
			return err
		}
		if fresh.GetUID() != uid {
			return fmt.Errorf("original %s/%s is gone: got uid %v, wanted %v", fresh.GetNamespace(), fresh.GetName(), fresh.GetUID(), uid)
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s/%s has just been deleted at %v", fresh.GetNamespace(), fresh.GetName(), fresh.GetDeletionTimestamp())
		}
		return nil
	}
}

// PodRefManager is a RefManager for pods matching selector, patching them through client.
func PodRefManager(client kubernetes.Interface, owner metav1.Object, kind schema.GroupVersionKind, selector labels.Selector, canAdopt func(context.Context) error) *RefManager[*corev1.Pod] {
	return &RefManager[*corev1.Pod]{
		Owner:    owner,
		Kind:     kind,
		Match:    func(p *corev1.Pod) bool { return selector.Matches(labels.Set(p.Labels)) },
		CanAdopt: canAdopt,
		Patch:    PatchPod(client),
	}
}

// PatchPod returns a RefManager Patch for pods.
func PatchPod(client kubernetes.Interface) func(context.Context, *corev1.Pod, []byte) error {
	return func(ctx context.Context, p *corev1.Pod, patch []byte) error {
		_, err := client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return err
	}
}
