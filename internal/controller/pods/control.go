package pods

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Upstream's event reasons for pod creation and deletion by a controller.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

// Control creates and deletes pods on behalf of an owner and records upstream's events on
// the owner.
type Control struct {
	Client   kubernetes.Interface
	Recorder record.EventRecorder
}

// CreateFromTemplate creates a pod from template in namespace, owned by owner through ref
// (see FromTemplate).
func (c Control) CreateFromTemplate(ctx context.Context, namespace string, template *corev1.PodTemplateSpec, owner Owner, ref *metav1.OwnerReference) (*corev1.Pod, error) {
	pod := FromTemplate(template, owner.GetName(), ref)
	pod.Namespace = namespace
	return c.Create(ctx, pod, owner)
}

// Create creates pod (already built, e.g. with FromTemplate and a name or node affinity of
// the caller's) and records SuccessfulCreate or FailedCreate on owner. A pod without labels
// is refused, as upstream does: no selector could ever claim it. Creation refused because
// the namespace is terminating records no event.
func (c Control) Create(ctx context.Context, pod *corev1.Pod, owner Owner) (*corev1.Pod, error) {
	if len(pod.Labels) == 0 {
		return nil, errors.New("unable to create pods, no labels")
	}
	if pod.Namespace == "" {
		pod.Namespace = owner.GetNamespace()
	}
	created, err := c.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.Recorder.Eventf(owner, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
		}
		return nil, err
	}
	c.Recorder.Eventf(owner, corev1.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %v", created.Name)
	return created, nil
}

// Delete deletes the pod namespace/name and records SuccessfulDelete or FailedDelete on
// owner. A pod that is already gone returns its NotFound error with no event: callers
// usually count it as deleted.
func (c Control) Delete(ctx context.Context, namespace, name string, owner Owner) error {
	err := c.Client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return err
	case err != nil:
		c.Recorder.Eventf(owner, corev1.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("deleting pod %s/%s: %w", namespace, name, err)
	}
	c.Recorder.Eventf(owner, corev1.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %v", name)
	return nil
}
