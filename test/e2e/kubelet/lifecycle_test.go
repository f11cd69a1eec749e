package kubelet

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"capstan/internal/kubelet/images"
	capstantesting "capstan/internal/testing"
	"capstan/test/e2e/framework"
)

// TestPodLifecycle runs the pod scenarios that can share one node, in parallel.
func TestPodLifecycle(t *testing.T) {
	n := startNode(t)

	t.Run("a crashing container restarts with back-off and counts its restarts", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("crasher", "sh", "-c", "echo crashing; exit 3")
		n.CreatePod(pod)
		got := n.WaitForPod(pod, 60*time.Second, "CrashLoopBackOff after two restarts", func(p *corev1.Pod) bool {
			if len(p.Status.ContainerStatuses) == 0 {
				return false
			}
			cs := p.Status.ContainerStatuses[0]
			return cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
		})
		cs := got.Status.ContainerStatuses[0]
		if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 3 || lt.Reason != "Error" {
			t.Fatalf("lastState = %+v", cs.LastTerminationState)
		}
		if !strings.Contains(cs.State.Waiting.Message, "back-off") || got.Status.Phase != corev1.PodRunning {
			t.Fatalf("status = %s", framework.DescribePod(got))
		}
		if logs := n.ReadLog(got, "main", true); !strings.Contains(logs, "crashing") {
			t.Fatalf("previous logs = %q", logs)
		}
	})

	t.Run("init containers run in order before the app containers", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("inits", "sh", "-c", "cat /work/log; sleep 600")
		pod.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		mount := []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
		pod.Spec.Containers[0].VolumeMounts = mount
		pod.Spec.InitContainers = []corev1.Container{
			{Name: "first", Image: framework.BusyboxImage, Command: []string{"sh", "-c", "echo first >> /work/log"}, VolumeMounts: mount},
			{Name: "second", Image: framework.BusyboxImage, Command: []string{"sh", "-c", "sleep 1; echo second >> /work/log"}, VolumeMounts: mount},
		}
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		for _, ics := range got.Status.InitContainerStatuses {
			if ics.State.Terminated == nil || ics.State.Terminated.Reason != "Completed" {
				t.Fatalf("init container %s: %+v", ics.Name, ics.State)
			}
		}
		n.WaitForLog(got, "main", "first\nsecond\n")
	})

	t.Run("a failing init container fails a pod that never restarts", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("badinit", "sleep", "600")
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: framework.BusyboxImage, Command: []string{"false"}}}
		n.CreatePod(pod)
		got := n.WaitForPhase(pod, corev1.PodFailed)
		if w := got.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
			t.Fatalf("app container = %+v", got.Status.ContainerStatuses[0].State)
		}
	})

	t.Run("a memory limit over-run is reported as OOMKilled", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("oom", "tail", "/dev/zero")
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("24Mi")}
		n.CreatePod(pod)
		got := n.WaitForPhase(pod, corev1.PodFailed)
		term := got.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
			t.Fatalf("terminated = %+v", term)
		}
	})

	t.Run("resources become cgroup limits and the security context applies", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		user, no, yes := int64(1234), false, true
		pod := n.BusyboxPod("limits", "sleep", "600")
		pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		}
		pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
			RunAsUser: &user, RunAsGroup: &user, ReadOnlyRootFilesystem: &yes, AllowPrivilegeEscalation: &no,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		if got.Status.QOSClass != corev1.PodQOSBurstable {
			t.Errorf("qosClass = %s", got.Status.QOSClass)
		}
		for cmd, want := range map[string]string{
			"cat /sys/fs/cgroup/memory/memory.limit_in_bytes": "67108864",
			"cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us":         "25000",
			"cat /sys/fs/cgroup/cpu/cpu.shares":               "102",
			"id -u; id -g":                                    "1234\n1234",
			"grep CapEff /proc/self/status":                   "0000000000000000",
			"grep NoNewPrivs /proc/self/status":               "1",
		} {
			out, _ := n.ExecSync(got, "main", "sh", "-c", cmd)
			if !strings.Contains(out, want) {
				t.Errorf("%s = %q; want %q", cmd, out, want)
			}
		}
		if out, code := n.ExecSync(got, "main", "touch", "/x"); code == 0 {
			t.Errorf("writing to a read-only root file system succeeded: %q", out)
		}
	})

	t.Run("activeDeadlineSeconds fails a pod that runs too long", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		deadline := int64(3)
		pod := n.BusyboxPod("deadline", "sleep", "600")
		pod.Spec.ActiveDeadlineSeconds = &deadline
		n.CreatePod(pod)
		got := n.WaitForPhase(pod, corev1.PodFailed)
		if got.Status.Reason != "DeadlineExceeded" {
			t.Fatalf("status = %s", framework.DescribePod(got))
		}
	})

	t.Run("a postStart hook runs and graceful deletion runs preStop, then SIGTERM", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		dir := t.TempDir()
		grace := int64(20)
		pod := n.BusyboxPod("graceful", "sh", "-c", "trap 'echo TERM >> /host/log; exit 0' TERM; while true; do sleep 0.2; done")
		pod.Spec.TerminationGracePeriodSeconds = &grace
		pod.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{
			PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo poststart >> /host/log"}}},
			PreStop:   &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo prestop >> /host/log; sleep 1"}}},
		}
		n.CreatePod(pod)
		n.WaitForReady(pod)
		took := n.DeletePod(pod, nil)
		data, _ := os.ReadFile(filepath.Join(dir, "log"))
		if string(data) != "poststart\nprestop\nTERM\n" {
			t.Fatalf("hook log = %q", data)
		}
		if took > 15*time.Second {
			t.Fatalf("deletion took %s although the container exits on SIGTERM", took)
		}
	})

	t.Run("a container that ignores SIGTERM is killed when the grace period ends", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		grace := int64(4)
		pod := n.BusyboxPod("stubborn", "sh", "-c", "trap '' TERM; while true; do sleep 0.2; done")
		pod.Spec.TerminationGracePeriodSeconds = &grace
		n.CreatePod(pod)
		n.WaitForReady(pod)
		took := n.DeletePod(pod, nil)
		if took < 3*time.Second || took > 15*time.Second {
			t.Fatalf("deletion took %s; want about the 4s grace period", took)
		}
	})

	t.Run("liveness probes of each kind restart the container", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		script := "mkdir -p /www; echo ok > /www/healthz; httpd -f -p 8080 -h /www & pid=$!; touch /tmp/healthy; sleep 4; rm /tmp/healthy /www/healthz; kill $pid; sleep 600"
		for name, handler := range map[string]corev1.ProbeHandler{
			"live-exec": {Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
			"live-http": {HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			"live-tcp":  {TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
		} {
			pod := n.BusyboxPod(name, "sh", "-c", script)
			pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
			pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: handler, PeriodSeconds: 1, FailureThreshold: 2, TimeoutSeconds: 1}
			n.CreatePod(pod)
		}
		for name := range map[string]bool{"live-exec": true, "live-http": true, "live-tcp": true} {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
			n.WaitForPod(pod, 60*time.Second, "a restart after failed liveness probes", func(p *corev1.Pod) bool {
				return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1
			})
		}
		events, err := n.Client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=live-http"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range events.Items {
			if e.Reason == "Unhealthy" && strings.Contains(e.Message, "Liveness probe failed") {
				found = true
			}
		}
		if !found {
			t.Errorf("no Unhealthy event among %d events", len(events.Items))
		}
	})

	t.Run("a readiness probe drives the Ready condition", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("readiness", "sh", "-c", "mkdir -p /www; httpd -p 8080 -h /www; sleep 3; echo ok > /www/ready; sleep 600")
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 1,
		}
		n.CreatePod(pod)
		running := n.WaitForPod(pod, 60*time.Second, "running", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil
		})
		if framework.PodReady(running) && time.Since(running.Status.ContainerStatuses[0].State.Running.StartedAt.Time) < 2*time.Second {
			t.Fatalf("ready before the probe could pass: %s", framework.DescribePod(running))
		}
		got := n.WaitForReady(pod)
		if cs := got.Status.ContainerStatuses[0]; !cs.Ready || cs.RestartCount != 0 {
			t.Fatalf("status = %s", framework.DescribePod(got))
		}
		n.ExecSync(got, "main", "rm", "/www/ready")
		n.WaitForPod(pod, 30*time.Second, "not ready again", func(p *corev1.Pod) bool { return !framework.PodReady(p) })
	})

	t.Run("a startup probe holds back liveness until it passes", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("startup", "sh", "-c", "sleep 3; touch /tmp/started; sleep 600")
		pod.Spec.Containers[0].StartupProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/started"}}},
			PeriodSeconds: 1, FailureThreshold: 30,
		}
		pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/started"}}},
			PeriodSeconds: 1, FailureThreshold: 1,
		}
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		cs := got.Status.ContainerStatuses[0]
		if cs.Started == nil || !*cs.Started || cs.RestartCount != 0 {
			t.Fatalf("status = %s", framework.DescribePod(got))
		}
	})

	t.Run("a grpc liveness probe restarts the container once it reports NOT_SERVING", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.AgnhostPod("grpc", "grpc-health", "--port=9090", "--fail-health-after=4s")
		pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "grpc", ContainerPort: 9090}}
		pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}},
			PeriodSeconds: 1, FailureThreshold: 2,
		}
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}},
			PeriodSeconds: 1,
		}
		n.CreatePod(pod)
		n.WaitForReady(pod)
		n.WaitForPod(pod, 60*time.Second, "a restart after NOT_SERVING", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1
		})
	})

	t.Run("images: Never without the image, and a failing pull backs off", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		never := n.BusyboxPod("never", "sleep", "600")
		never.Spec.Containers[0].Image, never.Spec.Containers[0].ImagePullPolicy = "capstan.test/absent:1", corev1.PullNever
		n.CreatePod(never)
		n.WaitForPod(never, 60*time.Second, "ErrImageNeverPull", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
				p.Status.ContainerStatuses[0].State.Waiting.Reason == "ErrImageNeverPull"
		})
		// A registry on a closed local port: the pull fails at once.
		pull := n.BusyboxPod("pullfail", "sleep", "600")
		pull.Spec.Containers[0].Image = "127.0.0.1:1/absent:1"
		n.CreatePod(pull)
		seen := map[string]bool{}
		n.WaitForPod(pull, 90*time.Second, "ErrImagePull, then ImagePullBackOff", func(p *corev1.Pod) bool {
			if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Waiting != nil {
				seen[p.Status.ContainerStatuses[0].State.Waiting.Reason] = true
			}
			return seen["ImagePullBackOff"]
		})
		events, err := n.Client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=pullfail"})
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]bool{}
		for _, e := range events.Items {
			reasons[e.Reason] = true
		}
		if !reasons["Pulling"] || !reasons["Failed"] || !reasons["BackOff"] {
			t.Errorf("event reasons = %v; want Pulling, Failed and BackOff", reasons)
		}
	})

	t.Run("a log over 10 MiB is rotated", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("chatty", "sh", "-c", "head -c 11000000 /dev/zero | tr '\\0' x | fold -w 1000; echo done; sleep 600")
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		ref, err := n.Kubelet().Container(context.Background(), got.Namespace, got.Name, "main", false)
		if err != nil {
			t.Fatal(err)
		}
		framework.Eventually(t, 60*time.Second, "a rotated log file", func() (bool, error) {
			rotated, _ := filepath.Glob(ref.LogPath + ".*")
			st, err := os.Stat(ref.LogPath)
			return len(rotated) == 1 && err == nil && st.Size() < 10<<20, nil
		})
	})

	t.Run("capstan images import makes an image available at run time", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		data, err := os.ReadFile("/bin/busybox")
		if err != nil {
			t.Fatal(err)
		}
		img, err := images.Pack(map[string]images.File{"bin/busybox": {Data: data, Mode: 0o755}, "bin/sh": {Link: "busybox"}}, images.ImageConfig{Env: []string{"PATH=/bin"}})
		if err != nil {
			t.Fatal(err)
		}
		tarball := filepath.Join(t.TempDir(), "late.tar")
		if err := images.WriteTarball(tarball, "capstan.test/late:1", img); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(capstantesting.Binary(t), "images", "import", "--container-runtime-endpoint", n.AgentOptions().ContainerdSocket, tarball).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "capstan.test/late:1") {
			t.Fatalf("capstan images import: %v: %s", err, out)
		}
		pod := n.BusyboxPod("late", "sh", "-c", "echo imported; sleep 600")
		pod.Spec.Containers[0].Image, pod.Spec.Containers[0].ImagePullPolicy = "capstan.test/late:1", corev1.PullNever
		n.CreatePod(pod)
		n.WaitForReady(pod)
	})

	t.Run("a pod writing past its emptyDir sizeLimit is evicted", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		limit := resource.MustParse("1Mi")
		pod := n.BusyboxPod("overlimit", "sh", "-c", "head -c 3000000 /dev/zero > /cache/big; sleep 600")
		pod.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &limit}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}}
		n.CreatePod(pod)
		got := n.WaitForPhase(pod, corev1.PodFailed)
		if got.Status.Reason != "Evicted" || !strings.Contains(got.Status.Message, `Usage of EmptyDir volume "cache" exceeds the limit "1Mi"`) {
			t.Fatalf("status = %s %q", framework.DescribePod(got), got.Status.Message)
		}
	})

	t.Run("a sidecar starts before the app and is stopped when the app completes", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		always := corev1.ContainerRestartPolicyAlways
		pod := n.BusyboxPod("sidecar", "sh", "-c", "test -f /work/sidecar-up && echo ok")
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		pod.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		mount := []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
		pod.Spec.Containers[0].VolumeMounts = mount
		pod.Spec.InitContainers = []corev1.Container{{
			Name: "side", Image: framework.BusyboxImage, RestartPolicy: &always, VolumeMounts: mount,
			Command: []string{"sh", "-c", "sleep 1; touch /work/sidecar-up; sleep 600"},
			// The app may start only once the sidecar has started, which this probe says.
			StartupProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/work/sidecar-up"}}},
				PeriodSeconds: 1, FailureThreshold: 30,
			},
		}}
		n.CreatePod(pod)
		got := n.WaitForPhase(pod, corev1.PodSucceeded)
		if term := got.Status.ContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 {
			t.Fatalf("app container = %s", framework.DescribePod(got))
		}
		if logs := n.ReadLog(got, "main", false); logs != "ok\n" {
			t.Fatalf("app logs = %q", logs)
		}
	})
}
