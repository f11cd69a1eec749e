package core

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// newPod returns a created pod as the store would hold it: defaulted and prepared.
func newPod(t *testing.T, mutate ...func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
	for _, m := range mutate {
		m(pod)
	}
	s := podStrategy{}
	s.Default(pod)
	s.PrepareForCreate(t.Context(), pod)
	return pod
}

func TestPodCreate(t *testing.T) {
	t.Parallel()
	t.Run("a new pod is Pending with its QoS class and no client status", func(t *testing.T) {
		t.Parallel()
		pod := newPod(t, func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("64Mi"),
			}
		})
		if pod.Status.Phase != corev1.PodPending || pod.Status.PodIP != "" {
			t.Errorf("status = %+v", pod.Status)
		}
		if pod.Status.QOSClass != corev1.PodQOSGuaranteed {
			t.Errorf("qosClass = %s, want Guaranteed (requests default to limits)", pod.Status.QOSClass)
		}
	})
	t.Run("a gated pod says scheduling is blocked", func(t *testing.T) {
		t.Parallel()
		pod := newPod(t, func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}} })
		if c := pod.Status.Conditions; len(c) != 1 || c[0].Reason != corev1.PodReasonSchedulingGated || c[0].Status != corev1.ConditionFalse {
			t.Errorf("conditions = %+v", c)
		}
	})
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []wantErr
	}{
		{"a valid pod", func(*corev1.Pod) {}, nil},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.ephemeralContainers"}}},
		{"a node name with scheduling gates", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.nodeName"}}},
		{"an image with surrounding spaces", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].image"}}},
		{"a host network pod whose host port differs", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81}}
		}, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"}}},
	}
	for _, tc := range cases {
		t.Run("validation of "+tc.name, func(t *testing.T) {
			t.Parallel()
			pod := newPod(t, tc.mutate)
			assertErrs(t, podStrategy{}.Validate(t.Context(), pod), tc.want...)
		})
	}
}

func TestPodUpdate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		old    func(*corev1.Pod)
		mutate func(*corev1.Pod)
		want   []wantErr
	}{
		{"changing an image is allowed", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"adding a toleration is allowed", nil, func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, nil},
		{"removing a toleration is forbidden", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, func(p *corev1.Pod) { p.Spec.Tolerations = nil }, []wantErr{{field.ErrorTypeForbidden, "spec.tolerations"}}},
		{"lowering the active deadline is allowed", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) }, nil},
		{"raising the active deadline is refused", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](90) },
			[]wantErr{{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"}}},
		{"clearing the active deadline is refused", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			[]wantErr{{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"}}},
		{"removing a scheduling gate is allowed", func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}}
		}, func(p *corev1.Pod) { p.Spec.SchedulingGates = nil }, nil},
		{"adding a scheduling gate is forbidden", nil, func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.schedulingGates[0].name"}}},
		{"adding a container is forbidden", nil, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox"})
			DefaultPodSpec(&p.Spec)
		}, []wantErr{{field.ErrorTypeForbidden, "spec.containers"}}},
		{"changing the restart policy is forbidden", nil, func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]wantErr{{field.ErrorTypeForbidden, "spec"}}},
		{"setting a negative grace period to 1 is allowed", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1) },
			func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1) }, nil},
		{"an update still runs the create checks", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].image"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old := newPod(t)
			if tc.old != nil {
				tc.old(old)
			}
			pod := old.DeepCopy()
			tc.mutate(pod)
			s := podStrategy{}
			s.Default(pod)
			s.PrepareForUpdate(t.Context(), pod, old)
			errs := s.ValidateUpdate(t.Context(), pod, old)
			if len(tc.want) == 1 && tc.want[0].Path == "spec" && !strings.Contains(errs.ToAggregate().Error(), "pod updates may not change fields other than `spec.containers[*].image`,") {
				t.Errorf("message = %v", errs)
			}
			assertErrs(t, dedupeErrs(errs), tc.want...)
		})
	}
}

// dedupeErrs drops exact repeats, as the generic store does.
func dedupeErrs(errs field.ErrorList) field.ErrorList {
	seen := map[string]bool{}
	var out field.ErrorList
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

func TestPodUpdateKeepsStatus(t *testing.T) {
	t.Parallel()
	old := newPod(t)
	old.Status.Phase = corev1.PodRunning
	pod := old.DeepCopy()
	pod.Status.Phase = corev1.PodFailed
	podStrategy{}.PrepareForUpdate(t.Context(), pod, old)
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("phase = %s, want the stored Running", pod.Status.Phase)
	}
}

func TestPodStatusUpdate(t *testing.T) {
	t.Parallel()
	t.Run("a status update keeps spec and owners and backfills the QoS class", func(t *testing.T) {
		t.Parallel()
		old := newPod(t)
		old.OwnerReferences = []metav1.OwnerReference{{Name: "rs", Kind: "ReplicaSet", APIVersion: "apps/v1", UID: "u"}}
		pod := old.DeepCopy()
		pod.Spec.Containers[0].Image = "other"
		pod.OwnerReferences = nil
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning}
		podStrategy{}.PrepareForStatusUpdate(t.Context(), pod, old)
		if pod.Spec.Containers[0].Image != "nginx:1.27" || len(pod.OwnerReferences) != 1 {
			t.Errorf("spec or owners changed: %v %v", pod.Spec.Containers[0].Image, pod.OwnerReferences)
		}
		if pod.Status.QOSClass != corev1.PodQOSBestEffort || pod.Status.Phase != corev1.PodRunning {
			t.Errorf("status = %+v", pod.Status)
		}
	})
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []wantErr
	}{
		{"a valid report", func(p *corev1.Pod) {
			p.Status.Phase, p.Status.PodIPs = corev1.PodRunning, []corev1.PodIP{{IP: "10.42.0.7"}, {IP: "fd00::7"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/ok", Status: corev1.ConditionTrue}}
		}, nil},
		{"a condition type that is not a qualified name", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: "bad type", Status: corev1.ConditionTrue}}
		}, []wantErr{{field.ErrorTypeInvalid, "metadata.conditions[0].Type"}}},
		{"a changed QoS class", func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			[]wantErr{{field.ErrorTypeInvalid, "status.qosClass"}}},
		{"two IPv4 pod IPs", func(p *corev1.Pod) { p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}} },
			[]wantErr{{field.ErrorTypeInvalid, "status.podIPs"}}},
		{"a bad nominated node", func(p *corev1.Pod) { p.Status.NominatedNodeName = "Node_1" },
			[]wantErr{{field.ErrorTypeInvalid, "status.nominatedNodeName"}}},
		{"hostIPs that disagree with hostIP", func(p *corev1.Pod) {
			p.Status.HostIP, p.Status.HostIPs = "10.0.0.1", []corev1.HostIP{{IP: "10.0.0.2"}}
		}, []wantErr{{field.ErrorTypeInvalid, "status.hostIPs[0].ip"}}},
	}
	for _, tc := range cases {
		t.Run("validation of "+tc.name, func(t *testing.T) {
			t.Parallel()
			old := newPod(t)
			pod := old.DeepCopy()
			tc.mutate(pod)
			assertErrs(t, podStrategy{}.ValidateStatusUpdate(t.Context(), pod, old), tc.want...)
		})
	}
	t.Run("a terminated container of a Never pod may not run again", func(t *testing.T) {
		t.Parallel()
		old := newPod(t, func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever })
		old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}
		pod := old.DeepCopy()
		pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		assertErrs(t, podStrategy{}.ValidateStatusUpdate(t.Context(), pod, old),
			wantErr{field.ErrorTypeForbidden, "status.containerStatuses[0].state"})
	})
}

func TestValidateBinding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		target corev1.ObjectReference
		want   []wantErr
	}{
		{"a node by name", corev1.ObjectReference{Kind: "Node", Name: "n1"}, nil},
		{"a name without kind", corev1.ObjectReference{Name: "n1"}, nil},
		{"no name", corev1.ObjectReference{Kind: "Node"}, []wantErr{{field.ErrorTypeRequired, "target.name"}}},
		{"another kind", corev1.ObjectReference{Kind: "Pod", Name: "p"}, []wantErr{{field.ErrorTypeNotSupported, "target.kind"}}},
	}
	for _, tc := range cases {
		t.Run("a binding to "+tc.name, func(t *testing.T) {
			t.Parallel()
			assertErrs(t, ValidateBinding(&corev1.Binding{Target: tc.target}), tc.want...)
		})
	}
}

func TestPodFields(t *testing.T) {
	t.Parallel()
	pod := newPod(t, func(p *corev1.Pod) { p.Spec.NodeName, p.Spec.HostNetwork = "node-1", true })
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.42.0.9"}}
	got := podFields(pod)
	want := map[string]string{
		"spec.nodeName": "node-1", "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
		"spec.serviceAccountName": "", "spec.hostNetwork": "true", "status.phase": "Pending",
		"status.podIP": "10.42.0.9", "status.nominatedNodeName": "",
	}
	if len(got) != len(want) {
		t.Errorf("fields = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q", k, got[k], v)
		}
	}
}
