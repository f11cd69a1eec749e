package core

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var tableNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(tableNow.Add(-d)) }

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}
}

// tablePod is a pod with two containers created 5 minutes before tableNow.
func tablePod(mutate func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(5 * time.Minute)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	mutate(pod)
	return pod
}

func TestPodTableColumns(t *testing.T) {
	t.Parallel()
	var names []string
	wide := 0
	for _, c := range podTable.Columns {
		names = append(names, c.Name)
		if c.Priority == 1 {
			wide++
		}
	}
	want := []string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"}
	if !reflect.DeepEqual(names, want) || wide != 4 {
		t.Errorf("columns = %v with %d wide", names, wide)
	}
}

func TestPodTableRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		pod  *corev1.Pod
		want []any
	}{
		{"a new pod is Pending with nothing ready", tablePod(func(*corev1.Pod) {}),
			[]any{"web", "0/2", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a running pod counts ready containers and shows its IP and node", tablePod(func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.42.0.5"}}, ContainerStatuses: []corev1.ContainerStatus{
				{Name: "a", Ready: true, State: running()}, {Name: "b", State: running()},
			}}
		}), []any{"web", "1/2", "Running", "0", "5m", "10.42.0.5", "node-1", "<none>", "<none>"}},
		{"a waiting container's reason wins", tablePod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: waiting("ContainerCreating")}, {Name: "b", State: running(), Ready: true}}
		}), []any{"web", "1/2", "ContainerCreating", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"restarts show how long ago the last one was", tablePod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "a", RestartCount: 4, State: waiting("CrashLoopBackOff"), LastTerminationState: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(2 * time.Minute)}}},
				{Name: "b", RestartCount: 1, State: running(), Ready: true},
			}
		}), []any{"web", "1/2", "CrashLoopBackOff", "5 (2m ago)", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"an init container in progress shows Init:i/n", tablePod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i1"}, {Name: "i2"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: terminated("Completed", 0)}, {Name: "i2", State: running()}}
		}), []any{"web", "0/2", "Init:1/2", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a crashing init container shows Init:reason", tablePod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i1"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: waiting("CrashLoopBackOff"), RestartCount: 2}}
		}), []any{"web", "0/2", "Init:CrashLoopBackOff", "2", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a failed init container without reason shows its exit code", tablePod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i1"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "i1", State: terminated("", 3)}}
		}), []any{"web", "0/2", "Init:ExitCode:3", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a started sidecar counts towards ready", tablePod(func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
			p.Status.Phase = corev1.PodRunning
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", Started: ptr.To(true), Ready: true, State: running()}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", Ready: true, State: running()}, {Name: "b", Ready: true, State: running()}}
		}), []any{"web", "3/3", "Running", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a finished pod shows Completed", tablePod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: terminated("Completed", 0)}, {Name: "b", State: terminated("Completed", 0)}}
		}), []any{"web", "0/2", "Completed", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a completed container beside a running one reads Running when the pod is ready", tablePod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "a", State: terminated("Completed", 0)}, {Name: "b", Ready: true, State: running()}}
		}), []any{"web", "1/2", "Running", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a deleted running pod is Terminating", tablePod(func(p *corev1.Pod) {
			p.DeletionTimestamp = ptr.To(ago(time.Second))
			p.Status.Phase = corev1.PodRunning
		}), []any{"web", "0/2", "Terminating", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a deleted pod on a lost node is Unknown", tablePod(func(p *corev1.Pod) {
			p.DeletionTimestamp = ptr.To(ago(time.Second))
			p.Status.Reason = "NodeLost"
		}), []any{"web", "0/2", "Unknown", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"a gated pod is SchedulingGated", tablePod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Reason: corev1.PodReasonSchedulingGated}}
		}), []any{"web", "0/2", "SchedulingGated", "0", "5m", "<none>", "<none>", "<none>", "<none>"}},
		{"readiness gates count their true conditions", tablePod(func(p *corev1.Pod) {
			p.Status.NominatedNodeName = "node-2"
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/a"}, {ConditionType: "example.com/b"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/a", Status: corev1.ConditionTrue}}
		}), []any{"web", "0/2", "Pending", "0", "5m", "<none>", "<none>", "node-2", "1/2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := podTable.Row(tc.pod, tableNow); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("row = %#v\nwant  %#v", got, tc.want)
			}
		})
	}
}

func TestPodTemplateTableRow(t *testing.T) {
	t.Parallel()
	tmpl := &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "tmpl"}, Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "redis"}}},
	}}
	want := []any{"tmpl", "a,b", "nginx,redis", "app=web"}
	if got := podTemplateTable.Row(tmpl, tableNow); !reflect.DeepEqual(got, want) {
		t.Errorf("row = %#v", got)
	}
}
