package podsync

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func statusFor(pod *corev1.Pod, rt *Runtime, probes ProbeResults, waiting map[string]Waiting) corev1.PodStatus {
	return ComputeStatus(StatusInput{
		Pod: pod, Runtime: rt, Probes: probes, Waiting: waiting, RuntimeName: "containerd",
		HostIPs: []string{"192.0.2.2"}, StartTime: metav1.NewTime(t0), Now: metav1.NewTime(t0),
	})
}

type condWant struct {
	status          corev1.ConditionStatus
	reason, message string
}

func checkConditions(t *testing.T, s corev1.PodStatus, want map[corev1.PodConditionType]condWant) {
	t.Helper()
	order := []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady}
	for i, typ := range order {
		if i >= len(s.Conditions) || s.Conditions[i].Type != typ {
			t.Fatalf("conditions %+v; want the order %v", s.Conditions, order)
		}
		w, ok := want[typ]
		if !ok {
			continue
		}
		c := s.Conditions[i]
		if c.Status != w.status || c.Reason != w.reason || c.Message != w.message {
			t.Errorf("%s = %s %q %q; want %s %q %q", typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
		}
	}
}

func TestStatusOfARunningReadyPod(t *testing.T) {
	t.Parallel()
	pod := testPod(corev1.RestartPolicyAlways, []string{"init"}, "app")
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
	s := statusFor(pod, rtOf([]Sandbox{sandbox("sb", 0, true)}, exited("init", 0, 0), running("app", 0)), nil, nil)
	if s.Phase != corev1.PodRunning || s.PodIP != "10.42.0.7" || s.HostIP != "192.0.2.2" || s.StartTime == nil {
		t.Fatalf("status = %+v", s)
	}
	checkConditions(t, s, map[corev1.PodConditionType]condWant{
		corev1.PodReadyToStartContainers: {status: corev1.ConditionTrue},
		corev1.PodInitialized:            {status: corev1.ConditionTrue},
		corev1.PodReady:                  {status: corev1.ConditionTrue},
		corev1.ContainersReady:           {status: corev1.ConditionTrue},
	})
	if last := s.Conditions[len(s.Conditions)-1]; last.Type != corev1.PodScheduled {
		t.Errorf("PodScheduled should be kept last, got %v", last.Type)
	}
	cs := s.ContainerStatuses[0]
	if cs.State.Running == nil || !cs.Ready || cs.Started == nil || !*cs.Started || cs.ContainerID != "containerd://app-0" {
		t.Errorf("container status = %+v", cs)
	}
	if ics := s.InitContainerStatuses[0]; ics.State.Terminated == nil || ics.State.Terminated.Reason != "Completed" {
		t.Errorf("init container status = %+v", ics)
	}
	if s.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("qosClass = %s", s.QOSClass)
	}
}

func TestStatusWhileInitializing(t *testing.T) {
	t.Parallel()
	pod := testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "app")
	s := statusFor(pod, rtOf([]Sandbox{sandbox("sb", 0, true)}, exited("i1", 0, 0), running("i2", 0)), nil, nil)
	if s.Phase != corev1.PodPending {
		t.Fatalf("phase = %s; want Pending", s.Phase)
	}
	if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Fatalf("app container state = %+v; want waiting PodInitializing", s.ContainerStatuses[0].State)
	}
	checkConditions(t, s, map[corev1.PodConditionType]condWant{
		corev1.PodInitialized:  {status: corev1.ConditionFalse, reason: "ContainersNotInitialized", message: "containers with incomplete status: [i2]"},
		corev1.PodReady:        {status: corev1.ConditionFalse, reason: "ContainersNotReady", message: "containers with unready status: [app]"},
		corev1.ContainersReady: {status: corev1.ConditionFalse, reason: "ContainersNotReady", message: "containers with unready status: [app]"},
	})
}

func TestStatusOfANewPod(t *testing.T) {
	t.Parallel()
	s := statusFor(testPod(corev1.RestartPolicyAlways, nil, "app"), rtOf(nil), nil, map[string]Waiting{"app": {Reason: "ErrImagePull", Message: "no such image"}})
	if s.Phase != corev1.PodPending {
		t.Fatalf("phase = %s", s.Phase)
	}
	if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ErrImagePull" || w.Message != "no such image" {
		t.Fatalf("state = %+v", s.ContainerStatuses[0].State)
	}
	checkConditions(t, s, map[corev1.PodConditionType]condWant{corev1.PodReadyToStartContainers: {status: corev1.ConditionFalse}})
	s = statusFor(testPod(corev1.RestartPolicyAlways, nil, "app"), rtOf(nil), nil, nil)
	if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ContainerCreating" {
		t.Fatalf("state = %+v; want ContainerCreating", s.ContainerStatuses[0].State)
	}
}

func TestStatusOfACrashLoopingContainer(t *testing.T) {
	t.Parallel()
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	oom := exited("app", 2, 137)
	oom.Reason = "OOMKilled"
	s := statusFor(pod, rtOf([]Sandbox{sandbox("sb", 0, true)}, oom, exited("app", 1, 137)), nil,
		map[string]Waiting{"app": {Reason: "CrashLoopBackOff", Message: "back-off 20s"}})
	cs := s.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.RestartCount != 2 {
		t.Fatalf("status = %+v", cs)
	}
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.Reason != "OOMKilled" || lt.ExitCode != 137 || lt.ContainerID != "containerd://app-2" {
		t.Fatalf("lastState = %+v", cs.LastTerminationState)
	}
	if s.Phase != corev1.PodRunning {
		t.Fatalf("phase = %s; want Running (restarting under Always)", s.Phase)
	}
}

func TestStatusReadinessProbe(t *testing.T) {
	t.Parallel()
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	rt := rtOf([]Sandbox{sandbox("sb", 0, true)}, running("app", 0))
	if s := statusFor(pod, rt, nil, nil); s.ContainerStatuses[0].Ready || !*s.ContainerStatuses[0].Started {
		t.Fatalf("before any probe result: %+v; want started, not ready", s.ContainerStatuses[0])
	}
	if s := statusFor(pod, rt, ProbeResults{"app-0": {Started: true, Ready: true}}, nil); !s.ContainerStatuses[0].Ready {
		t.Fatal("a passing readiness probe does not make the container ready")
	}
}

func TestReadinessGates(t *testing.T) {
	t.Parallel()
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	rt := rtOf([]Sandbox{sandbox("sb", 0, true)}, running("app", 0))
	s := statusFor(pod, rt, nil, nil)
	checkConditions(t, s, map[corev1.PodConditionType]condWant{
		corev1.PodReady:        {status: corev1.ConditionFalse, reason: "ReadinessGatesNotReady", message: `corresponding condition of pod readiness gate "example.com/lb" does not exist.`},
		corev1.ContainersReady: {status: corev1.ConditionTrue},
	})
	pod.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}}
	s = statusFor(pod, rt, nil, nil)
	checkConditions(t, s, map[corev1.PodConditionType]condWant{corev1.PodReady: {status: corev1.ConditionTrue}})
}

func TestPhase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		rt       *Runtime
		terminal bool
		want     corev1.PodPhase
	}{
		{"all succeeded under Never", testPod(corev1.RestartPolicyNever, nil, "a", "b"), rtOf(nil, exited("a", 0, 0), exited("b", 0, 0)), false, corev1.PodSucceeded},
		{"one failed under Never", testPod(corev1.RestartPolicyNever, nil, "a", "b"), rtOf(nil, exited("a", 0, 0), exited("b", 0, 1)), false, corev1.PodFailed},
		{"one failed under OnFailure is restarting", testPod(corev1.RestartPolicyOnFailure, nil, "a"), rtOf(nil, exited("a", 0, 1)), false, corev1.PodRunning},
		{"all exited under Always is restarting", testPod(corev1.RestartPolicyAlways, nil, "a"), rtOf(nil, exited("a", 0, 0)), false, corev1.PodRunning},
		{"one running, one not created", testPod(corev1.RestartPolicyAlways, nil, "a", "b"), rtOf(nil, running("a", 0)), false, corev1.PodPending},
		{"failed init under Never", testPod(corev1.RestartPolicyNever, []string{"i"}, "a"), rtOf(nil, exited("i", 0, 1)), false, corev1.PodFailed},
		{"killed on deletion", testPod(corev1.RestartPolicyAlways, nil, "a"), rtOf(nil, exited("a", 0, 143)), true, corev1.PodFailed},
		{"exited 0 on deletion", testPod(corev1.RestartPolicyAlways, nil, "a"), rtOf(nil, exited("a", 0, 0)), true, corev1.PodSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ComputeStatus(StatusInput{Pod: tc.pod, Runtime: tc.rt, RuntimeName: "containerd", Terminal: tc.terminal})
			if s.Phase != tc.want {
				t.Fatalf("phase = %s; want %s", s.Phase, tc.want)
			}
		})
	}
}

func TestCompletedPodConditions(t *testing.T) {
	t.Parallel()
	s := statusFor(testPod(corev1.RestartPolicyNever, nil, "a"), rtOf([]Sandbox{sandbox("sb", 0, false)}, exited("a", 0, 0)), nil, nil)
	checkConditions(t, s, map[corev1.PodConditionType]condWant{
		corev1.PodReadyToStartContainers: {status: corev1.ConditionFalse},
		corev1.PodInitialized:            {status: corev1.ConditionTrue, reason: "PodCompleted"},
		corev1.PodReady:                  {status: corev1.ConditionFalse, reason: "PodCompleted"},
		corev1.ContainersReady:           {status: corev1.ConditionFalse, reason: "PodCompleted"},
	})
	if s.PodIP != "10.42.0.7" {
		t.Errorf("a stopped pod should keep reporting its IP, got %q", s.PodIP)
	}
}

func TestQOSAndCPU(t *testing.T) {
	t.Parallel()
	q := resource.MustParse
	res := func(req, lim corev1.ResourceList) *corev1.Pod {
		p := testPod(corev1.RestartPolicyAlways, nil, "a")
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: req, Limits: lim}
		return p
	}
	both := corev1.ResourceList{corev1.ResourceCPU: q("500m"), corev1.ResourceMemory: q("64Mi")}
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		"nothing set":            {res(nil, nil), corev1.PodQOSBestEffort},
		"requests equal limits":  {res(both, both), corev1.PodQOSGuaranteed},
		"only a memory request":  {res(corev1.ResourceList{corev1.ResourceMemory: q("1Mi")}, nil), corev1.PodQOSBurstable},
		"limits above requests":  {res(corev1.ResourceList{corev1.ResourceCPU: q("100m"), corev1.ResourceMemory: q("64Mi")}, both), corev1.PodQOSBurstable},
		"only ephemeral storage": {res(corev1.ResourceList{corev1.ResourceEphemeralStorage: q("1Gi")}, nil), corev1.PodQOSBestEffort},
	} {
		if got := QOSClass(tc.pod); got != tc.want {
			t.Errorf("%s: QOS = %s; want %s", name, got, tc.want)
		}
	}
	half := q("500m")
	if s := CPUShares(&half); s != 512 {
		t.Errorf("shares(500m) = %d", s)
	}
	if s := CPUShares(nil); s != 2 {
		t.Errorf("shares(none) = %d", s)
	}
	tiny := q("1m")
	if quota, period := CPUQuota(&tiny); quota != 1000 || period != 100000 {
		t.Errorf("quota(1m) = %d/%d", quota, period)
	}
	if quota, _ := CPUQuota(&half); quota != 50000 {
		t.Errorf("quota(500m) = %d", quota)
	}
	burst := res(corev1.ResourceList{corev1.ResourceMemory: q("1Gi")}, nil)
	if adj := OOMScoreAdj(burst, &burst.Spec.Containers[0], 4<<30); adj != 750 {
		t.Errorf("oom_score_adj = %d; want 750", adj)
	}
}
