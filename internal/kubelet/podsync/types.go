package podsync

import (
	"encoding/json"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// State of a container instance in the runtime.
type State int

// The states of CRI containers.
const (
	StateUnknown State = iota
	StateCreated
	StateRunning
	StateExited
)

func (s State) String() string {
	return [...]string{"unknown", "created", "running", "exited"}[s]
}

// Container is one instance of a pod's container in the runtime.
type Container struct {
	ID   string
	Name string
	// Attempt is the instance's restart count: 0 for the first, then one more each time.
	Attempt   uint32
	SandboxID string
	State     State
	CreatedAt time.Time
	StartedAt time.Time
	// FinishedAt, ExitCode, Reason and Message describe an exited instance. Reason is the
	// runtime's ("Completed", "Error", "OOMKilled", ...).
	FinishedAt time.Time
	ExitCode   int32
	Reason     string
	Message    string
	// Image is the image as the runtime names it; ImageRef its digest reference (imageID).
	Image, ImageRef string
	// Hash is SpecHash of the container spec the instance was created from.
	Hash string
}

// Sandbox is one pod sandbox in the runtime.
type Sandbox struct {
	ID        string
	Attempt   uint32
	Ready     bool
	CreatedAt time.Time
	// IPs of the pod, the primary first; empty for host-network pods.
	IPs []string
}

// Runtime is what the runtime holds of one pod.
type Runtime struct {
	// Sandboxes, newest first.
	Sandboxes []Sandbox
	// Containers, all instances, newest first.
	Containers []Container
}

// Sort orders sandboxes and containers newest first (by attempt, then creation time).
func (r *Runtime) Sort() {
	sort.SliceStable(r.Sandboxes, func(i, j int) bool {
		a, b := r.Sandboxes[i], r.Sandboxes[j]
		if a.Attempt != b.Attempt {
			return a.Attempt > b.Attempt
		}
		return a.CreatedAt.After(b.CreatedAt)
	})
	sort.SliceStable(r.Containers, func(i, j int) bool {
		a, b := r.Containers[i], r.Containers[j]
		if a.Attempt != b.Attempt {
			return a.Attempt > b.Attempt
		}
		return a.CreatedAt.After(b.CreatedAt)
	})
}

// Latest is the newest instance of the named container, or nil.
func (r *Runtime) Latest(name string) *Container {
	for i := range r.Containers {
		if r.Containers[i].Name == name {
			return &r.Containers[i]
		}
	}
	return nil
}

// Previous is the instance before the newest one, or nil.
func (r *Runtime) Previous(name string) *Container {
	seen := false
	for i := range r.Containers {
		if r.Containers[i].Name == name {
			if seen {
				return &r.Containers[i]
			}
			seen = true
		}
	}
	return nil
}

// ReadySandbox is the newest sandbox if it is ready, else nil.
func (r *Runtime) ReadySandbox() *Sandbox {
	if len(r.Sandboxes) > 0 && r.Sandboxes[0].Ready {
		return &r.Sandboxes[0]
	}
	return nil
}

// Running lists the running containers.
func (r *Runtime) Running() []Container {
	var out []Container
	for _, c := range r.Containers {
		if c.State == StateRunning {
			out = append(out, c)
		}
	}
	return out
}

// Probes is what the probes found about one container instance.
type Probes struct {
	// Started: the startup probe succeeded, or there is none.
	Started bool
	// Ready: the readiness probe succeeded last, or there is none (and it started).
	Ready bool
	// LivenessFailed and StartupFailed: the probe reached its failure threshold.
	LivenessFailed bool
	StartupFailed  bool
}

// ProbeResults looks up the probes of a container instance by its ID; a missing entry
// means no probe has run: started and ready unless the container has such probes.
type ProbeResults map[string]Probes

// probesOf returns what is known of a running instance, filling in the defaults for
// containers without probes.
func (p ProbeResults) probesOf(spec *corev1.Container, id string) Probes {
	if r, ok := p[id]; ok {
		return r
	}
	started := spec.StartupProbe == nil
	return Probes{Started: started, Ready: started && spec.ReadinessProbe == nil}
}

// Waiting is why a container waits: CrashLoopBackOff, ErrImagePull, ImagePullBackOff,
// CreateContainerConfigError, CreateContainerError, RunContainerError, ...
type Waiting struct {
	Reason, Message string
}

// SpecHash identifies the parts of a container spec whose change needs a new instance
// (everything but the resources, which can be resized in place).
func SpecHash(c *corev1.Container) string {
	cp := c.DeepCopy()
	cp.Resources = corev1.ResourceRequirements{}
	cp.ResizePolicy = nil
	data, _ := json.Marshal(cp)
	h := fnv.New32a()
	h.Write(data)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// IsRestartableInit tells whether an init container is a sidecar (restartPolicy Always).
func IsRestartableInit(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}
