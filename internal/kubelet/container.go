package kubelet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet/dns"
	"capstan/internal/kubelet/envvars"
	"capstan/internal/kubelet/podsync"
)

// startError is why a container could not start, as the reason its status waits with.
type startError struct {
	reason, message string
	// retry: when to try again (an image pull back-off); 0 for the default.
	retry time.Duration
	// created: a container was created (and is now in the runtime) before the failure.
	created bool
}

func (e *startError) Error() string { return e.reason + ": " + e.message }

// startContainer pulls the image, creates and starts one container, and runs its
// postStart hook.
func (k *Kubelet) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, s podsync.Start, sandboxID string, sandboxConfig *runtimeapi.PodSandboxConfig, podIPs []string, mounts map[string]string) error {
	if err := k.ensureImage(ctx, pod, c); err != nil {
		return err
	}
	cfg, err := k.containerConfig(ctx, pod, c, s.Attempt, podIPs, mounts)
	if err != nil {
		var ce *envvars.ConfigError
		if errors.As(err, &ce) {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", ce.Message)
			return &startError{reason: "CreateContainerConfigError", message: ce.Message}
		}
		return &startError{reason: "CreateContainerConfigError", message: err.Error()}
	}
	created, err := k.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sandboxID, Config: cfg, SandboxConfig: sandboxConfig})
	if err != nil {
		msg := criMessage(err)
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", msg)
		return &startError{reason: "CreateContainerError", message: msg}
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Created", "Created container: %s", c.Name)
	if _, err := k.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		msg := criMessage(err)
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", msg)
		return &startError{reason: "RunContainerError", message: msg, created: true}
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		msg, err := k.runHook(ctx, pod, created.ContainerId, c.Name, c.Lifecycle.PostStart)
		if err != nil {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed: %v%s", err, msgSuffix(msg))
			k.killContainer(ctx, pod, created.ContainerId, c.Name, gracePeriod(pod))
			return &startError{reason: "PostStartHookError", message: err.Error() + msgSuffix(msg), created: true}
		}
	}
	return nil
}

// criMessage strips gRPC's wrapping from a runtime error.
func criMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "desc = "); i >= 0 {
		msg = msg[i+len("desc = "):]
	}
	return msg
}

// containerConfig builds the CRI configuration of a container instance.
func (k *Kubelet) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt uint32, podIPs []string, volumes map[string]string) (*runtimeapi.ContainerConfig, error) {
	env, err := envvars.Resolve(ctx, k.sources(), pod, c, envvars.PodInfo{
		PodIPs: podIPs, HostIPs: k.hostIPs(), Allocatable: k.allocatable(), Services: k.services(),
	})
	if err != nil {
		return nil, err
	}
	envMap := map[string]string{}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: attempt},
		Image:      &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image},
		WorkingDir: c.WorkingDir,
		LogPath:    filepath.Join(c.Name, strconv.Itoa(int(attempt))+".log"),
		Stdin:      c.Stdin,
		StdinOnce:  c.StdinOnce,
		Tty:        c.TTY,
		Labels: map[string]string{
			labelPodName: pod.Name, labelPodNamespace: pod.Namespace, labelPodUID: string(pod.UID), labelContainerName: c.Name,
		},
		Annotations: map[string]string{
			annotationHash:              podsync.SpecHash(c),
			annotationRestartCount:      strconv.Itoa(int(attempt)),
			annotationTerminationPath:   c.TerminationMessagePath,
			annotationTerminationPolicy: string(c.TerminationMessagePolicy),
			annotationGracePeriod:       strconv.FormatInt(gracePeriod(pod), 10),
		},
	}
	for _, v := range env {
		cfg.Envs = append(cfg.Envs, &runtimeapi.KeyValue{Key: v.Name, Value: []byte(v.Value)})
		envMap[v.Name] = v.Value
	}
	lookup := func(name string) (string, bool) { v, ok := envMap[name]; return v, ok }
	for _, a := range c.Command {
		cfg.Command = append(cfg.Command, envvars.Expand(a, lookup))
	}
	for _, a := range c.Args {
		cfg.Args = append(cfg.Args, envvars.Expand(a, lookup))
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if data, err := json.Marshal(c.Lifecycle.PreStop); err == nil {
			cfg.Annotations[annotationPreStop] = string(data)
		}
	}
	if cfg.Mounts, err = k.containerMounts(pod, c, podIPs, volumes); err != nil {
		return nil, err
	}
	cfg.Linux = &runtimeapi.LinuxContainerConfig{
		Resources:       k.containerResources(pod, c),
		SecurityContext: containerSecurity(pod, c),
	}
	return cfg, nil
}

func (k *Kubelet) containerResources(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{}
	req := c.Resources.Requests.Cpu()
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		req = nil
	}
	if lim, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		if req == nil {
			req = &lim
		}
		r.CpuQuota, r.CpuPeriod = podsync.CPUQuota(&lim)
	}
	r.CpuShares = podsync.CPUShares(req)
	if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimitInBytes = lim.Value()
	}
	r.OomScoreAdj = podsync.OOMScoreAdj(pod, c, k.memoryCapacity())
	return r
}

// Default masked and read-only paths of unprivileged containers: the kernel interfaces a
// container must not read or write.
var (
	defaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	defaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

func containerSecurity(pod *corev1.Pod, c *corev1.Container) *runtimeapi.LinuxContainerSecurityContext {
	out := &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: namespaceOptions(pod)}
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	runAsUser, runAsGroup := psc.RunAsUser, psc.RunAsGroup
	if sc.RunAsUser != nil {
		runAsUser = sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		runAsGroup = sc.RunAsGroup
	}
	if runAsUser != nil {
		out.RunAsUser = &runtimeapi.Int64Value{Value: *runAsUser}
	}
	if runAsGroup != nil {
		out.RunAsGroup = &runtimeapi.Int64Value{Value: *runAsGroup}
	}
	out.SupplementalGroups = supplementalGroups(psc)
	out.Privileged = sc.Privileged != nil && *sc.Privileged
	out.ReadonlyRootfs = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	out.NoNewPrivs = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	if caps := sc.Capabilities; caps != nil {
		out.Capabilities = &runtimeapi.Capability{}
		for _, a := range caps.Add {
			out.Capabilities.AddCapabilities = append(out.Capabilities.AddCapabilities, string(a))
		}
		for _, d := range caps.Drop {
			out.Capabilities.DropCapabilities = append(out.Capabilities.DropCapabilities, string(d))
		}
	}
	profile := psc.SeccompProfile
	if sc.SeccompProfile != nil {
		profile = sc.SeccompProfile
	}
	out.Seccomp = seccomp(profile)
	if !out.Privileged && (sc.ProcMount == nil || *sc.ProcMount == corev1.DefaultProcMount) {
		out.MaskedPaths = defaultMaskedPaths
		out.ReadonlyPaths = defaultReadonlyPaths
	}
	return out
}

// containerMounts lists the container's volume mounts, its /etc/hosts and its termination
// message file.
func (k *Kubelet) containerMounts(pod *corev1.Pod, c *corev1.Container, podIPs []string, volumes map[string]string) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	mountsHosts := false
	for _, m := range c.VolumeMounts {
		host, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume %q of mount %s is not ready", m.Name, m.MountPath)
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			sub := m.SubPath
			if m.SubPathExpr != "" {
				sub = envvars.Expand(m.SubPathExpr, func(string) (string, bool) { return "", false })
			}
			clean := filepath.Clean("/" + sub)
			host = filepath.Join(host, clean)
			if _, err := os.Lstat(host); os.IsNotExist(err) {
				if err := os.MkdirAll(host, 0o755); err != nil {
					return nil, err
				}
			}
		}
		mount := &runtimeapi.Mount{ContainerPath: m.MountPath, HostPath: host, Readonly: m.ReadOnly}
		if m.MountPropagation != nil {
			switch *m.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				mount.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
			case corev1.MountPropagationBidirectional:
				mount.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
			}
		}
		if m.MountPath == "/etc/hosts" {
			mountsHosts = true
		}
		out = append(out, mount)
	}
	podDir := filepath.Join(k.opts.RootDir, "pods", string(pod.UID))
	if !mountsHosts {
		hostsPath := filepath.Join(podDir, "etc-hosts")
		var hostHosts []byte
		if pod.Spec.HostNetwork {
			hostHosts, _ = os.ReadFile("/etc/hosts")
		}
		data := dns.HostsFile(pod, podIPs, dns.Hostname(pod), k.opts.ClusterDomain, hostHosts)
		if err := os.MkdirAll(podDir, 0o750); err != nil {
			return nil, err
		}
		if err := os.WriteFile(hostsPath, data, 0o644); err != nil {
			return nil, err
		}
		out = append(out, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: hostsPath})
	}
	if c.TerminationMessagePath != "" {
		dir := filepath.Join(podDir, "containers", c.Name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		var b [4]byte
		_, _ = rand.Read(b[:])
		file := filepath.Join(dir, hex.EncodeToString(b[:]))
		if err := os.WriteFile(file, nil, 0o666); err != nil {
			return nil, err
		}
		_ = os.Chmod(file, 0o666)
		out = append(out, &runtimeapi.Mount{ContainerPath: c.TerminationMessagePath, HostPath: file})
	}
	return out, nil
}
