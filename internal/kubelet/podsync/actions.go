package podsync

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Input is what ComputeActions decides from.
type Input struct {
	Pod     *corev1.Pod
	Runtime *Runtime
	Probes  ProbeResults
	// CrashWait reports how long a restart of the named container must still wait after an
	// instance that finished at finishedAt, and the current back-off delay. Nil: never.
	CrashWait func(name string, finishedAt time.Time) (wait, delay time.Duration)
}

// Actions is what a sync of a running pod does, in this order: kill the whole pod (to
// replace its sandbox), create the sandbox, kill single instances, start containers.
type Actions struct {
	// KillPod stops every container and sandbox of the pod before a new sandbox is made.
	KillPod bool
	// CreateSandbox makes a new sandbox with SandboxAttempt.
	CreateSandbox  bool
	SandboxAttempt uint32
	// Kill lists the instances to stop (failed liveness, changed spec, stale creations).
	Kill []Kill
	// Start lists the containers to start, in order: at most one regular init container,
	// or the app containers (with the sidecars that need a restart).
	Start []Start
	// Waiting tells why a container is left waiting (crash back-off).
	Waiting map[string]Waiting
	// Retry is when to look again because a back-off ends; 0 when nothing waits.
	Retry time.Duration
	// StopSandbox stops the sandbox of a pod that will run nothing more (its containers
	// all finished for good), releasing its IP; it is not replaced.
	StopSandbox bool
}

// Kill is an instance to stop; Reason and Message go to the Killing event.
type Kill struct {
	ID, Name string
	Reason   string
	Message  string
	// Remove: the instance was never started: remove it rather than stop it.
	Remove bool
}

// Start is a container to create and start with the given attempt (restart count).
type Start struct {
	Name    string
	Init    bool
	Attempt uint32
}

// ComputeActions decides how to converge a pod that should run (not deleted, not
// terminal) towards its spec.
func ComputeActions(in Input) Actions {
	pod, rt := in.Pod, in.Runtime
	a := Actions{Waiting: map[string]Waiting{}}
	if Finished(pod, rt) {
		if sb := rt.ReadySandbox(); sb != nil {
			a.StopSandbox = true
		}
		return a
	}
	if need, attempt := needsSandbox(pod, rt); need {
		a.KillPod = len(rt.Sandboxes) > 0 || len(rt.Running()) > 0
		a.CreateSandbox, a.SandboxAttempt = true, attempt
		// A new sandbox starts the pod over: init containers first.
		if len(pod.Spec.InitContainers) > 0 {
			first := &pod.Spec.InitContainers[0]
			a.Start = append(a.Start, Start{Name: first.Name, Init: true, Attempt: nextAttempt(rt, first.Name)})
			return a
		}
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			a.Start = append(a.Start, Start{Name: c.Name, Attempt: nextAttempt(rt, c.Name)})
		}
		return a
	}
	sandboxID := rt.Sandboxes[0].ID
	if !initDone(pod, rt, sandboxID, in, &a) {
		return a
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		a.converge(c, false, rt, sandboxID, in)
	}
	return a
}

// converge decides for one app container (or a sidecar after initialization).
func (a *Actions) converge(c *corev1.Container, sidecar bool, rt *Runtime, sandboxID string, in Input) {
	latest := rt.Latest(c.Name)
	switch {
	case latest == nil:
		a.Start = append(a.Start, Start{Name: c.Name, Init: sidecar, Attempt: 0})
	case latest.State == StateRunning:
		if latest.SandboxID != sandboxID {
			a.Kill = append(a.Kill, Kill{ID: latest.ID, Name: c.Name, Reason: "Killing", Message: "Stopping container " + c.Name + " of an old sandbox"})
			return
		}
		if k, ok := killReason(c, latest, in.Probes); ok {
			a.Kill = append(a.Kill, k)
		}
	case latest.State == StateCreated || latest.State == StateUnknown:
		// Created but never started (an interrupted sync): replace it.
		a.Kill = append(a.Kill, Kill{ID: latest.ID, Name: c.Name, Remove: true})
		a.Start = append(a.Start, Start{Name: c.Name, Init: sidecar, Attempt: latest.Attempt + 1})
	case latest.State == StateExited:
		if !sidecar && !shouldRestart(in.Pod.Spec.RestartPolicy, latest.ExitCode) {
			return
		}
		a.restart(c.Name, sidecar, latest, in)
	}
}

// restart starts a new instance after an exited one, unless the crash back-off holds it.
func (a *Actions) restart(name string, init bool, latest *Container, in Input) {
	if in.CrashWait != nil {
		if wait, delay := in.CrashWait(name, latest.FinishedAt); wait > 0 {
			a.Waiting[name] = Waiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, name, in.Pod.Name, in.Pod.Namespace, in.Pod.UID),
			}
			if a.Retry == 0 || wait < a.Retry {
				a.Retry = wait
			}
			return
		}
	}
	a.Start = append(a.Start, Start{Name: name, Init: init, Attempt: latest.Attempt + 1})
}

// killReason tells whether a running instance must be stopped, and why.
func killReason(c *corev1.Container, inst *Container, probes ProbeResults) (Kill, bool) {
	p := probes.probesOf(c, inst.ID)
	switch {
	case inst.Hash != "" && inst.Hash != SpecHash(c):
		return Kill{ID: inst.ID, Name: c.Name, Reason: "Killing", Message: fmt.Sprintf("Container %s definition changed, will be restarted", c.Name)}, true
	case p.StartupFailed:
		return Kill{ID: inst.ID, Name: c.Name, Reason: "Killing", Message: fmt.Sprintf("Container %s failed startup probe, will be restarted", c.Name)}, true
	case p.LivenessFailed:
		return Kill{ID: inst.ID, Name: c.Name, Reason: "Killing", Message: fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.Name)}, true
	}
	return Kill{}, false
}

// initDone walks the init containers in order and adds what the next step needs. It
// reports whether initialization is complete, so the app containers may run.
func initDone(pod *corev1.Pod, rt *Runtime, sandboxID string, in Input, a *Actions) bool {
	// Once an app container has run in this sandbox, initialization is over for good,
	// even if finished init instances were removed since.
	for i := range pod.Spec.Containers {
		if l := rt.Latest(pod.Spec.Containers[i].Name); l != nil && l.SandboxID == sandboxID {
			for j := range pod.Spec.InitContainers {
				if c := &pod.Spec.InitContainers[j]; IsRestartableInit(c) {
					a.converge(c, true, rt, sandboxID, in)
				}
			}
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		latest := rt.Latest(c.Name)
		if latest != nil && latest.SandboxID != sandboxID && latest.State != StateRunning {
			latest = nil // an instance of an older sandbox: this sandbox runs it anew
		}
		if IsRestartableInit(c) {
			if latest != nil && latest.State == StateRunning && in.Probes.probesOf(c, latest.ID).Started {
				if k, ok := killReason(c, latest, in.Probes); ok {
					a.Kill = append(a.Kill, k)
					return false
				}
				continue
			}
			if latest == nil || latest.State != StateRunning {
				a.converge(c, true, rt, sandboxID, in)
			}
			return false
		}
		switch {
		case latest == nil:
			a.Start = append(a.Start, Start{Name: c.Name, Init: true, Attempt: nextAttempt(rt, c.Name)})
			return false
		case latest.State == StateRunning:
			return false
		case latest.State == StateExited && latest.ExitCode == 0:
			continue
		case latest.State == StateExited:
			if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				return false // the pod has failed
			}
			a.restart(c.Name, true, latest, in)
			return false
		default:
			a.Kill = append(a.Kill, Kill{ID: latest.ID, Name: c.Name, Remove: true})
			a.Start = append(a.Start, Start{Name: c.Name, Init: true, Attempt: latest.Attempt + 1})
			return false
		}
	}
	return true
}

// needsSandbox tells whether the pod needs a (new) sandbox, and its attempt number.
func needsSandbox(pod *corev1.Pod, rt *Runtime) (bool, uint32) {
	if len(rt.Sandboxes) == 0 {
		return true, 0
	}
	ready := 0
	for _, s := range rt.Sandboxes {
		if s.Ready {
			ready++
		}
	}
	if rt.Sandboxes[0].Ready && ready == 1 {
		return false, 0
	}
	return true, rt.Sandboxes[0].Attempt + 1
}

// nextAttempt is the attempt number of a container's next instance.
func nextAttempt(rt *Runtime, name string) uint32 {
	if l := rt.Latest(name); l != nil {
		return l.Attempt + 1
	}
	return 0
}

func shouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// Finished tells whether the pod will run nothing more: an init container failed under
// restartPolicy Never, or every app container exited and the policy restarts none.
func Finished(pod *corev1.Pod, rt *Runtime) bool {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
		return false
	}
	if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		for i := range pod.Spec.InitContainers {
			c := &pod.Spec.InitContainers[i]
			if l := rt.Latest(c.Name); l != nil && !IsRestartableInit(c) && l.State == StateExited && l.ExitCode != 0 {
				return true
			}
		}
	}
	for i := range pod.Spec.Containers {
		l := rt.Latest(pod.Spec.Containers[i].Name)
		if l == nil || l.State != StateExited || shouldRestart(pod.Spec.RestartPolicy, l.ExitCode) {
			return false
		}
	}
	return true
}
