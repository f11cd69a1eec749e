package pods

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
)

func testOwner() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "rs-uid"}}
}

func webTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
	}
}

func events(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestControlCreateRecordsSuccessfulCreate(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.Name = p.GenerateName + "abcde"
		return false, nil, nil
	})
	rec := record.NewFakeRecorder(10)
	c := Control{Client: client, Recorder: rec}
	owner := testOwner()
	pod, err := c.CreateFromTemplate(t.Context(), "ns", webTemplate(), owner, NewControllerRef(owner, rsKind))
	if err != nil {
		t.Fatal(err)
	}
	if pod.Name != "web-abcde" || pod.Namespace != "ns" {
		t.Errorf("created %s/%s", pod.Namespace, pod.Name)
	}
	got := events(rec)
	if len(got) != 1 || got[0] != "Normal SuccessfulCreate Created pod: web-abcde" {
		t.Errorf("events %q", got)
	}
}

func TestControlCreateFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		err       error
		labels    map[string]string
		wantEvent string
	}{
		{name: "a refused creation records FailedCreate", err: apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New("quota")),
			labels: map[string]string{"app": "web"}, wantEvent: "Warning FailedCreate Error creating: "},
		{name: "a terminating namespace records nothing", err: &apierrors.StatusError{ErrStatus: metav1.Status{
			Reason: metav1.StatusReasonForbidden, Code: 403,
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}}}},
			labels: map[string]string{"app": "web"}},
		{name: "a pod without labels is refused before the API", labels: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := fake.NewClientset()
			client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			rec := record.NewFakeRecorder(10)
			tmpl := webTemplate()
			tmpl.Labels = tc.labels
			owner := testOwner()
			_, err := Control{Client: client, Recorder: rec}.CreateFromTemplate(t.Context(), "ns", tmpl, owner, nil)
			if err == nil {
				t.Fatal("no error")
			}
			got := events(rec)
			switch {
			case tc.wantEvent == "" && len(got) != 0:
				t.Errorf("events %q, want none", got)
			case tc.wantEvent != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.wantEvent)):
				t.Errorf("events %q, want %q...", got, tc.wantEvent)
			}
		})
	}
}

func TestControlDelete(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-1"}})
	rec := record.NewFakeRecorder(10)
	c := Control{Client: client, Recorder: rec}
	ctx := context.Background()
	if err := c.Delete(ctx, "ns", "web-1", testOwner()); err != nil {
		t.Fatal(err)
	}
	if got := events(rec); len(got) != 1 || got[0] != "Normal SuccessfulDelete Deleted pod: web-1" {
		t.Errorf("events %q", got)
	}
	if err := c.Delete(ctx, "ns", "web-1", testOwner()); !apierrors.IsNotFound(err) {
		t.Errorf("deleting a gone pod: %v, want NotFound", err)
	}
	if got := events(rec); len(got) != 0 {
		t.Errorf("events for a gone pod %q, want none", got)
	}
	client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("boom"))
	})
	if err := c.Delete(ctx, "ns", "web-2", testOwner()); err == nil {
		t.Fatal("no error")
	}
	if got := events(rec); len(got) != 1 || !strings.HasPrefix(got[0], "Warning FailedDelete Error deleting: ") {
		t.Errorf("events %q", got)
	}
}
