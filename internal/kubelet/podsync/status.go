package podsync

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusInput is what ComputeStatus reports from.
type StatusInput struct {
	// Pod as the API has it, with the status last reported.
	Pod     *corev1.Pod
	Runtime *Runtime
	Probes  ProbeResults
	// Waiting tells why containers wait (crash back-off, image pulls, config errors).
	Waiting map[string]Waiting
	// RuntimeName prefixes container IDs: "containerd" gives containerd://<id>.
	RuntimeName string
	// HostIPs of the node, the primary first.
	HostIPs []string
	// StartTime is when the kubelet first accepted the pod.
	StartTime metav1.Time
	// Now stamps condition transitions.
	Now metav1.Time
	// Terminal is set once the kubelet has stopped the pod for good (deleted, evicted, past
	// its deadline): the phase becomes Succeeded or Failed. Reason and Message, when set,
	// explain it (e.g. DeadlineExceeded).
	Terminal        bool
	Reason, Message string
}

// ComputeStatus returns the pod status the kubelet reports, as upstream fills it.
func ComputeStatus(in StatusInput) corev1.PodStatus {
	pod := in.Pod
	old := pod.Status
	s := corev1.PodStatus{
		QOSClass:              old.QOSClass,
		NominatedNodeName:     old.NominatedNodeName,
		Reason:                old.Reason,
		Message:               old.Message,
		Resize:                old.Resize,
		ResourceClaimStatuses: old.ResourceClaimStatuses,
	}
	if s.QOSClass == "" {
		s.QOSClass = QOSClass(pod)
	}
	if pod.Generation > 0 {
		s.ObservedGeneration = pod.Generation
	}
	if in.Reason != "" {
		s.Reason, s.Message = in.Reason, in.Message
	}
	for _, ip := range in.HostIPs {
		s.HostIPs = append(s.HostIPs, corev1.HostIP{IP: ip})
	}
	if len(in.HostIPs) > 0 {
		s.HostIP = in.HostIPs[0]
	}
	start := in.StartTime
	if old.StartTime != nil {
		start = *old.StartTime
	}
	if !start.IsZero() {
		s.StartTime = &start
	}
	sandbox := in.Runtime.ReadySandbox()
	podIPs := podIPsOf(pod, in.Runtime, in.HostIPs)
	for _, ip := range podIPs {
		s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
	}
	if len(podIPs) > 0 {
		s.PodIP = podIPs[0]
	}

	initializing := !initialized(pod, in.Runtime)
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(in, c, false))
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		s.ContainerStatuses = append(s.ContainerStatuses, containerStatus(in, c, initializing))
	}

	s.Phase = Phase(pod, s.InitContainerStatuses, s.ContainerStatuses, in.Terminal)
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		s.Phase = old.Phase // a terminal phase never changes
	}
	s.Conditions = conditions(pod, &s, sandbox != nil, in.Now)
	return s
}

// podIPsOf are the pod's IPs: the node's for host-network pods, else the ready sandbox's,
// else what was reported before (a stopped pod keeps its last IPs, as upstream).
func podIPsOf(pod *corev1.Pod, rt *Runtime, hostIPs []string) []string {
	if pod.Spec.HostNetwork {
		return hostIPs
	}
	if len(rt.Sandboxes) > 0 && len(rt.Sandboxes[0].IPs) > 0 {
		return rt.Sandboxes[0].IPs
	}
	var out []string
	for _, ip := range pod.Status.PodIPs {
		out = append(out, ip.IP)
	}
	if len(out) == 0 && pod.Status.PodIP != "" {
		out = []string{pod.Status.PodIP}
	}
	return out
}

// initialized tells whether every regular init container succeeded (or an app container
// has already run in the current sandbox).
func initialized(pod *corev1.Pod, rt *Runtime) bool {
	var sandboxID string
	if len(rt.Sandboxes) > 0 {
		sandboxID = rt.Sandboxes[0].ID
	}
	for i := range pod.Spec.Containers {
		if l := rt.Latest(pod.Spec.Containers[i].Name); l != nil && l.SandboxID == sandboxID {
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		l := rt.Latest(c.Name)
		if IsRestartableInit(c) {
			if l == nil || l.State != StateRunning {
				return false
			}
			continue
		}
		if l == nil || l.State != StateExited || l.ExitCode != 0 {
			return false
		}
	}
	return true
}

func containerStatus(in StatusInput, c *corev1.Container, podInitializing bool) corev1.ContainerStatus {
	rt := in.Runtime
	st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: new(bool)}
	latest := rt.Latest(c.Name)
	waiting, hasWaiting := in.Waiting[c.Name]
	if latest == nil {
		reason := "ContainerCreating"
		if podInitializing {
			reason = "PodInitializing"
		}
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
		if hasWaiting {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting.Reason, Message: waiting.Message}
		}
		return st
	}
	st.RestartCount = int32(latest.Attempt)
	if latest.Image != "" {
		st.Image = latest.Image
	}
	st.ImageID = latest.ImageRef
	st.ContainerID = in.RuntimeName + "://" + latest.ID
	prev := rt.Previous(c.Name)
	switch latest.State {
	case StateRunning:
		p := in.Probes.probesOf(c, latest.ID)
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(latest.StartedAt)}
		*st.Started = p.Started
		st.Ready = p.Started && p.Ready
		if prev != nil && prev.State == StateExited {
			st.LastTerminationState.Terminated = terminated(in, prev)
		}
	case StateExited:
		if hasWaiting {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting.Reason, Message: waiting.Message}
			st.LastTerminationState.Terminated = terminated(in, latest)
		} else {
			st.State.Terminated = terminated(in, latest)
			if prev != nil && prev.State == StateExited {
				st.LastTerminationState.Terminated = terminated(in, prev)
			}
		}
	default:
		reason := "ContainerCreating"
		if hasWaiting {
			reason = waiting.Reason
		}
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: waiting.Message}
		if prev != nil && prev.State == StateExited {
			st.LastTerminationState.Terminated = terminated(in, prev)
		}
	}
	for _, m := range c.VolumeMounts {
		vm := corev1.VolumeMountStatus{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly}
		if m.ReadOnly {
			disabled := corev1.RecursiveReadOnlyDisabled
			vm.RecursiveReadOnly = &disabled
		}
		st.VolumeMounts = append(st.VolumeMounts, vm)
	}
	return st
}

func terminated(in StatusInput, c *Container) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		ExitCode:    c.ExitCode,
		Reason:      c.Reason,
		Message:     c.Message,
		StartedAt:   metav1.NewTime(c.StartedAt),
		FinishedAt:  metav1.NewTime(c.FinishedAt),
		ContainerID: in.RuntimeName + "://" + c.ID,
	}
	if t.Reason == "" {
		t.Reason = "Error"
		if c.ExitCode == 0 {
			t.Reason = "Completed"
		}
	}
	if c.StartedAt.IsZero() {
		t.StartedAt = metav1.Time{}
	}
	return t
}

// Phase computes the pod phase from the container statuses, following upstream's rules.
// terminal says the kubelet stopped the pod for good: no container restarts anymore.
func Phase(pod *corev1.Pod, initStatuses, statuses []corev1.ContainerStatus, terminal bool) corev1.PodPhase {
	policy := pod.Spec.RestartPolicy
	byName := func(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
		return nil
	}
	initPending, initFailed := 0, 0
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if IsRestartableInit(c) {
			st := byName(initStatuses, c.Name)
			if st == nil || st.State.Running == nil || st.Started == nil || !*st.Started {
				initPending++
			}
			continue
		}
		st := byName(initStatuses, c.Name)
		switch {
		case st == nil:
			initPending++
		case st.State.Running != nil:
			initPending++
		case st.State.Terminated != nil:
			if st.State.Terminated.ExitCode != 0 {
				initFailed++
			}
		case st.State.Waiting != nil:
			if lt := st.LastTerminationState.Terminated; lt == nil {
				initPending++
			} else if lt.ExitCode != 0 {
				initFailed++
			}
		default:
			initPending++
		}
	}
	running, waiting, stopped, succeeded, unknown := 0, 0, 0, 0, 0
	anyStarted := false
	for i := range pod.Spec.Containers {
		st := byName(statuses, pod.Spec.Containers[i].Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			running++
			anyStarted = true
		case st.State.Terminated != nil:
			stopped++
			anyStarted = true
			if st.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated != nil {
				stopped++
				anyStarted = true
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}
	if initFailed > 0 && policy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	if terminal && running == 0 && unknown == 0 {
		if stopped > 0 && stopped == succeeded && waiting == 0 {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	switch {
	case initPending > 0 && !anyStarted, waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		switch {
		case policy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case stopped == succeeded:
			return corev1.PodSucceeded
		case policy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// kubeletConditions are the condition types the kubelet owns; others (PodScheduled,
// DisruptionTarget, readiness gates) are kept as the API has them.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodReadyToStartContainers: true,
	corev1.PodInitialized:            true,
	corev1.PodReady:                  true,
	corev1.ContainersReady:           true,
}

func conditions(pod *corev1.Pod, s *corev1.PodStatus, sandboxReady bool, now metav1.Time) []corev1.PodCondition {
	old := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range pod.Status.Conditions {
		old[c.Type] = c
	}
	stamp := func(c corev1.PodCondition) corev1.PodCondition {
		c.ObservedGeneration = s.ObservedGeneration
		if o, ok := old[c.Type]; ok && o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
		return c
	}
	var out []corev1.PodCondition
	ready := corev1.ConditionFalse
	if sandboxReady {
		ready = corev1.ConditionTrue
	}
	out = append(out, stamp(corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: ready}))
	out = append(out, stamp(initializedCondition(pod, s)))
	containersReady := containersReadyCondition(pod, s)
	out = append(out, stamp(readyCondition(pod, s, containersReady)))
	out = append(out, stamp(containersReady))
	for _, c := range pod.Status.Conditions {
		if !kubeletConditions[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

func initializedCondition(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if s.Phase == corev1.PodSucceeded {
		c.Reason = "PodCompleted"
		return c
	}
	// Once an app container has run, the pod stays initialized.
	for _, st := range s.ContainerStatuses {
		if st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil {
			return c
		}
	}
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		st := statusOf(s.InitContainerStatuses, ic.Name)
		done := st != nil && st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
		if IsRestartableInit(ic) {
			done = st != nil && st.State.Running != nil && st.Started != nil && *st.Started
		}
		if !done {
			incomplete = append(incomplete, ic.Name)
		}
	}
	if len(incomplete) > 0 {
		c.Status = corev1.ConditionFalse
		c.Reason = "ContainersNotInitialized"
		c.Message = fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))
	}
	return c
}

func containersReadyCondition(pod *corev1.Pod, s *corev1.PodStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	if s.Phase == corev1.PodSucceeded {
		c.Status, c.Reason = corev1.ConditionFalse, "PodCompleted"
		return c
	}
	var unready []string
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		if IsRestartableInit(ic) {
			if st := statusOf(s.InitContainerStatuses, ic.Name); st == nil || !st.Ready {
				unready = append(unready, ic.Name)
			}
		}
	}
	for i := range pod.Spec.Containers {
		if st := statusOf(s.ContainerStatuses, pod.Spec.Containers[i].Name); st == nil || !st.Ready {
			unready = append(unready, pod.Spec.Containers[i].Name)
		}
	}
	if len(unready) > 0 {
		c.Status = corev1.ConditionFalse
		c.Reason = "ContainersNotReady"
		c.Message = fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	}
	return c
}

func readyCondition(pod *corev1.Pod, s *corev1.PodStatus, containersReady corev1.PodCondition) corev1.PodCondition {
	c := containersReady
	c.Type = corev1.PodReady
	if c.Status != corev1.ConditionTrue {
		return c
	}
	var missing, notTrue []string
	for _, gate := range pod.Spec.ReadinessGates {
		found := false
		for _, pc := range pod.Status.Conditions {
			if pc.Type == gate.ConditionType {
				found = true
				if pc.Status != corev1.ConditionTrue {
					notTrue = append(notTrue, string(gate.ConditionType))
				}
			}
		}
		if !found {
			missing = append(missing, string(gate.ConditionType))
		}
	}
	if len(missing)+len(notTrue) == 0 {
		return c
	}
	var msgs []string
	if len(missing) > 0 {
		sort.Strings(missing)
		msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", strings.Join(missing, ", ")))
	}
	if len(notTrue) > 0 {
		sort.Strings(notTrue)
		msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but False.", strings.Join(notTrue, ", ")))
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady", Message: strings.Join(msgs, ", ")}
}

func statusOf(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}
