package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
)

// ControllerRevisions record the pod template history of DaemonSets and StatefulSets. The
// data of a revision is the strategic merge patch that puts its template back (what
// `kubectl rollout undo` applies), byte for byte what kubectl computes to compare a revision
// with the live object.

// TemplatePatch returns the revision data for template: {"spec":{"template":{...,
// "$patch":"replace"}}}.
func TemplatePatch(template *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	var t map[string]any
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	t["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": t}})
}

// RevisionTemplate decodes the pod template stored in a revision made by TemplatePatch.
func RevisionTemplate(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var patch struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &patch); err != nil {
		return nil, fmt.Errorf("controllerrevision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return &patch.Spec.Template, nil
}

// RevisionHash hashes revision data and the owner's collision count into a short string safe
// for names and labels. A collision (another revision already has the name) is resolved by
// bumping the count.
func RevisionHash(data []byte, collisionCount *int32) string {
	h := fnv.New32a()
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// NewRevision builds (does not create) revision number revision of owner (of kind), named
// "<owner>-<hash>" and labelled with the owner's template labels plus the hash under
// controller-revision-hash, controlled by owner.
func NewRevision(owner metav1.Object, kind schema.GroupVersionKind, templateLabels map[string]string, data []byte, revision int64, collisionCount *int32) *appsv1.ControllerRevision {
	hash := RevisionHash(data, collisionCount)
	lbls := copyMap(templateLabels)
	lbls[appsv1.ControllerRevisionHashLabelKey] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            revisionName(owner.GetName(), hash),
			Namespace:       owner.GetNamespace(),
			Labels:          lbls,
			OwnerReferences: []metav1.OwnerReference{*NewControllerRef(owner, kind)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
}

// revisionName is "<owner>-<hash>", the owner's name cut so the whole stays a valid name.
func revisionName(owner, hash string) string {
	const maxLen = 253
	if len(owner)+1+len(hash) > maxLen {
		owner = strings.TrimRight(owner[:maxLen-1-len(hash)], "-.")
	}
	return owner + "-" + hash
}

// EqualRevisions reports whether two revisions record the same template.
func EqualRevisions(a, b *appsv1.ControllerRevision) bool {
	if a == nil || b == nil {
		return a == b
	}
	if string(a.Data.Raw) == string(b.Data.Raw) {
		return true
	}
	ta, errA := RevisionTemplate(a)
	tb, errB := RevisionTemplate(b)
	return errA == nil && errB == nil && apiequality.Semantic.DeepEqual(ta, tb)
}

// SortRevisions orders revisions oldest first: by revision number, then creation time, then
// name.
func SortRevisions(revs []*appsv1.ControllerRevision) {
	slices.SortStableFunc(revs, func(a, b *appsv1.ControllerRevision) int {
		if a.Revision != b.Revision {
			if a.Revision < b.Revision {
				return -1
			}
			return 1
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// NextRevision is one more than the highest revision number of revs (1 for none).
func NextRevision(revs []*appsv1.ControllerRevision) int64 {
	var most int64
	for _, r := range revs {
		most = max(most, r.Revision)
	}
	return most + 1
}

// CreateRevision creates rev (from NewRevision, built with *collisionCount). When another
// revision already holds the name it returns that one if it records the same template, and
// otherwise bumps *collisionCount and tries the next name; the caller persists the count in
// its status so the names stay stable.
func CreateRevision(ctx context.Context, client kubernetes.Interface, owner metav1.Object, kind schema.GroupVersionKind, rev *appsv1.ControllerRevision, collisionCount *int32) (*appsv1.ControllerRevision, error) {
	revs := client.AppsV1().ControllerRevisions(rev.Namespace)
	for {
		hash := RevisionHash(rev.Data.Raw, collisionCount)
		try := rev.DeepCopy()
		try.Name = revisionName(owner.GetName(), hash)
		try.Labels[appsv1.ControllerRevisionHashLabelKey] = hash
		created, err := revs.Create(ctx, try, metav1.CreateOptions{})
		if err == nil {
			return created, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating controllerrevision %s/%s: %w", try.Namespace, try.Name, err)
		}
		existing, err := revs.Get(ctx, try.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading controllerrevision %s/%s: %w", try.Namespace, try.Name, err)
		}
		if metav1.IsControlledBy(existing, owner) && EqualRevisions(existing, try) {
			return existing, nil
		}
		*collisionCount++
	}
}

// SetRevisionNumber changes the revision number of rev (a rollback to an older template
// makes it the newest again).
func SetRevisionNumber(ctx context.Context, client kubernetes.Interface, rev *appsv1.ControllerRevision, revision int64) (*appsv1.ControllerRevision, error) {
	patch := fmt.Appendf(nil, `{"revision":%d}`, revision)
	out, err := client.AppsV1().ControllerRevisions(rev.Namespace).Patch(ctx, rev.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("renumbering controllerrevision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return out, nil
}

// RevisionRefManager is a RefManager for ControllerRevisions matching selector.
func RevisionRefManager(client kubernetes.Interface, owner metav1.Object, kind schema.GroupVersionKind, selector labels.Selector, canAdopt func(context.Context) error) *RefManager[*appsv1.ControllerRevision] {
	return &RefManager[*appsv1.ControllerRevision]{
		Owner:    owner,
		Kind:     kind,
		Match:    func(r *appsv1.ControllerRevision) bool { return selector.Matches(labels.Set(r.Labels)) },
		CanAdopt: canAdopt,
		Patch: func(ctx context.Context, r *appsv1.ControllerRevision, patch []byte) error {
			_, err := client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
			return err
		},
	}
}
