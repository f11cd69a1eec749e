package streaming

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	capstantesting "capstan/internal/testing"
	"capstan/test/e2e/framework"
)

// TestStreaming runs every scenario against one cluster: starting a node costs seconds.
func TestStreaming(t *testing.T) {
	c := framework.Start(t)

	// logger writes five lines at once, then a tick a second.
	logger := c.BusyboxPod("logger", "sh", "-c", `for i in 1 2 3 4 5; do echo line $i; done; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done`)
	// crasher counts its runs in an emptyDir and fails after each.
	crasher := c.BusyboxPod("crasher", "sh", "-c", `n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo run $n; sleep 2; exit 1`)
	crasher.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	crasher.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	shell := c.BusyboxPod("shell", "sleep", "3600")
	web := c.AgnhostPod("web")
	attach := c.BusyboxPod("attach", "sh", "-c", `read line; echo got $line`)
	attach.Spec.Containers[0].Stdin, attach.Spec.Containers[0].StdinOnce = true, true
	attach.Spec.RestartPolicy = corev1.RestartPolicyNever
	for _, p := range []*corev1.Pod{logger, crasher, shell, web, attach} {
		c.CreatePod(p)
	}
	for _, p := range []*corev1.Pod{logger, shell, web, attach} {
		c.WaitForPhase(p, corev1.PodRunning)
	}

	t.Run("logs", func(t *testing.T) { testLogs(t, c, logger) })
	t.Run("logs --previous", func(t *testing.T) { testPrevious(t, c, crasher) })
	t.Run("logs -f", func(t *testing.T) { testFollow(t, c, logger) })
	t.Run("exec", func(t *testing.T) { testExec(t, c, shell) })
	t.Run("exec over websocket v4", func(t *testing.T) { testExecWebsocketV4(t, c, shell) })
	t.Run("exec -it", func(t *testing.T) { testExecTTY(t, c, shell) })
	t.Run("attach", func(t *testing.T) { testAttach(t, c, attach) })
	t.Run("port-forward", func(t *testing.T) { testPortForward(t, c, web) })
	t.Run("cp", func(t *testing.T) { testCopy(t, c, shell) })
	t.Run("stats summary", func(t *testing.T) { testSummary(t, c) })
}

func testLogs(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	framework.Eventually(t, 30*time.Second, "the first lines in the log", func() (bool, error) {
		out, _, err := c.Kubectl("", "logs", pod.Name)
		return strings.HasPrefix(out, "line 1\nline 2\nline 3\nline 4\nline 5\ntick 1\n"), err
	})
	out, errOut, err := c.Kubectl("", "logs", pod.Name, "--tail=2")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, "tick ") {
		t.Errorf("--tail=2: got %q (stderr %q, %v)", out, errOut, err)
	}
	out, errOut, err = c.Kubectl("", "logs", pod.Name, "--timestamps", "--limit-bytes=200")
	first, _, _ := strings.Cut(out, "\n")
	if err != nil || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) line 1$`).MatchString(first) {
		t.Errorf("--timestamps: got %q (stderr %q, %v)", out, errOut, err)
	}
	if len(out) > 200 {
		t.Errorf("--limit-bytes=200 gave %d bytes", len(out))
	}
	out, errOut, err = c.Kubectl("", "logs", pod.Name, "--since=1h")
	if err != nil || !strings.HasPrefix(out, "line 1\n") {
		t.Errorf("--since=1h: got %q (stderr %q, %v)", out, errOut, err)
	}
	_, errOut, err = c.Kubectl("", "logs", pod.Name, "--previous")
	if err == nil || !strings.Contains(errOut, `previous terminated container "main" in pod "logger" not found`) {
		t.Errorf("--previous of a first run: got %v, stderr %q", err, errOut)
	}
}

func testPrevious(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	p := c.WaitForRestarts(pod, 1)
	restarts := p.Status.ContainerStatuses[0].RestartCount
	out, errOut, err := c.Kubectl("", "logs", pod.Name, "--previous")
	if err != nil {
		t.Fatalf("--previous: %v (stderr %q)", err, errOut)
	}
	// A restart may happen between reading the count and the log.
	if out != fmt.Sprintf("run %d\n", restarts) && out != fmt.Sprintf("run %d\n", restarts+1) {
		t.Errorf("--previous after %d restarts: got %q", restarts, out)
	}
	out, errOut, err = c.Kubectl("", "logs", pod.Name)
	if err != nil || !regexp.MustCompile(`^run \d+\n$`).MatchString(out) || out == "run 1\n" {
		t.Errorf("current log after a restart: got %q (stderr %q, %v)", out, errOut, err)
	}
}

func testFollow(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	cmd := c.KubectlCommand("logs", "-f", "--tail=1", pod.Name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	lines := readLines(stdout)
	// The tail, then at least two new ticks as they are written.
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < 3 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("logs -f ended after %q: %s", got, stderr.String())
			}
			got = append(got, line)
		case <-deadline:
			t.Fatalf("logs -f: got %q in 30s: %s", got, stderr.String())
		}
	}
	var ticks []int
	for _, l := range got {
		var n int
		if _, err := fmt.Sscanf(l, "tick %d", &n); err != nil {
			t.Fatalf("logs -f: unexpected line %q in %q", l, got)
		}
		ticks = append(ticks, n)
	}
	if ticks[1] != ticks[0]+1 || ticks[2] != ticks[1]+1 {
		t.Errorf("logs -f: ticks not consecutive: %v", ticks)
	}
}

func readLines(r io.Reader) <-chan string {
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

func testExec(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"websocket", nil},
		{"SPDY", []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			out, errOut, err := c.Server.KubectlWithEnv(mode.env, "", "exec", pod.Name, "--", "sh", "-c", "echo out; echo err >&2")
			if err != nil || out != "out\n" || errOut != "err\n" {
				t.Errorf("echo: got %q, stderr %q, %v", out, errOut, err)
			}
			out, errOut, err = c.Server.KubectlWithEnv(mode.env, "line one\nline two\n", "exec", "-i", pod.Name, "--", "sh", "-c", "cat; echo done")
			if err != nil || out != "line one\nline two\ndone\n" {
				t.Errorf("stdin: got %q, stderr %q, %v", out, errOut, err)
			}
			_, errOut, err = c.Server.KubectlWithEnv(mode.env, "", "exec", pod.Name, "--", "sh", "-c", "exit 7")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 7 || !strings.Contains(errOut, "command terminated with exit code 7") {
				t.Errorf("exit 7: got %v, stderr %q", err, errOut)
			}
			_, errOut, err = c.Server.KubectlWithEnv(mode.env, "", "exec", pod.Name, "--", "/no/such/binary")
			if err == nil {
				t.Errorf("a missing binary ran: stderr %q", errOut)
			}
		})
	}
}

// testExecWebsocketV4 runs a command over websocket with the v4 protocol, which the API
// server and the kubelet pass through to the runtime's streaming server untranslated.
func testExecWebsocketV4(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	u := c.Client.CoreV1().RESTClient().Get().Namespace(pod.Namespace).Resource("pods").Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Command: []string{"sh", "-c", "echo v4; echo e >&2; exit 4"}, Stdout: true, Stderr: true},
			scheme.ParameterCodec).URL()
	executor, err := remotecommand.NewWebSocketExecutorForProtocols(c.Config, "GET", u.String(), "v4.channel.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	var exit utilexec.CodeExitError
	if !errors.As(err, &exit) || exit.Code != 4 || stdout.String() != "v4\n" || stderr.String() != "e\n" {
		t.Errorf("got %v, stdout %q, stderr %q; want exit code 4", err, stdout.String(), stderr.String())
	}
}

func testExecTTY(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	master, tty, err := framework.OpenPTY()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	cmd := c.KubectlCommand("exec", "-it", pod.Name, "--", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var out capstantesting.SyncBuffer
	go func() { _, _ = io.Copy(&out, master) }()
	// The shell's terminal has the size of ours, and a command's output comes back.
	if _, err := master.Write([]byte("stty size; tty; echo mark-$((40+2))\n")); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the shell's answer", func() (bool, error) {
		s := out.String()
		return strings.Contains(s, "mark-42") && strings.Contains(s, "33 101"), nil
	})
	if s := out.String(); !strings.Contains(s, "/dev/pts/") {
		t.Errorf("the command has no terminal: %q", s)
	}
	_, _ = master.Write([]byte("exit 3\n"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Errorf("exec -it ended with %v; output %q", err, out.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("exec -it did not end after exit; output %q", out.String())
	}
}

func testAttach(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	out, errOut, err := c.Kubectl("hello\n", "attach", "-i", pod.Name)
	if err != nil || !strings.Contains(out, "got hello") {
		t.Errorf("attach -i: got %q, stderr %q, %v", out, errOut, err)
	}
	done := c.WaitForPhase(pod, corev1.PodSucceeded)
	if st := done.Status.ContainerStatuses[0].State.Terminated; st == nil || st.ExitCode != 0 {
		t.Errorf("the attached container did not end well: %s", framework.DescribePod(done))
	}
}

// portForward starts kubectl port-forward to the pod's port 8080 and returns the local
// address.
func portForward(t *testing.T, c *framework.Cluster, pod *corev1.Pod, env []string) string {
	t.Helper()
	cmd := c.KubectlCommand("port-forward", "pod/"+pod.Name, "--address=127.0.0.1", ":8080")
	cmd.Env = append(cmd.Env, env...)
	return capstantesting.StartPortForward(t, cmd)
}

func testPortForward(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"websocket", nil},
		{"SPDY", []string{"KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			addr := portForward(t, c, pod, mode.env)
			client := &http.Client{Timeout: 20 * time.Second}
			for _, path := range []string{"/hostname", "/echo?msg=through+the+tunnel", "/hostname"} {
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := pod.Name
				if strings.HasPrefix(path, "/echo") {
					want = "through the tunnel"
				}
				if resp.StatusCode != 200 || string(body) != want {
					t.Errorf("GET %s = %d %q, want %q", path, resp.StatusCode, body, want)
				}
			}
		})
	}
}

func testCopy(t *testing.T, c *framework.Cluster, pod *corev1.Pod) {
	dir := t.TempDir()
	src := filepath.Join(dir, "up.txt")
	content := strings.Repeat("copied through exec and tar\n", 500)
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := c.Kubectl("", "cp", src, pod.Name+":/tmp/up.txt"); err != nil {
		t.Fatalf("cp to the pod: %v: %s %s", err, out, errOut)
	}
	out, errOut, err := c.Kubectl("", "exec", pod.Name, "--", "md5sum", "/tmp/up.txt")
	if err != nil || !strings.HasPrefix(out, md5hex(content)) {
		t.Errorf("the copied file in the pod: %q (stderr %q, %v)", out, errOut, err)
	}
	if _, errOut, err := c.Kubectl("", "exec", pod.Name, "--", "sh", "-c", "mkdir -p /tmp/d && echo inside > /tmp/d/f"); err != nil {
		t.Fatalf("making a file in the pod: %v: %s", err, errOut)
	}
	down := filepath.Join(dir, "down")
	if out, errOut, err := c.Kubectl("", "cp", pod.Name+":/tmp/d", down); err != nil {
		t.Fatalf("cp from the pod: %v: %s %s", err, out, errOut)
	}
	if data, err := os.ReadFile(filepath.Join(down, "f")); err != nil || string(data) != "inside\n" {
		t.Errorf("the copied directory: %q, %v", data, err)
	}
	back := filepath.Join(dir, "back.txt")
	if out, errOut, err := c.Kubectl("", "cp", pod.Name+":/tmp/up.txt", back); err != nil {
		t.Fatalf("cp the file back: %v: %s %s", err, out, errOut)
	}
	if data, err := os.ReadFile(back); err != nil || string(data) != content {
		t.Errorf("the file came back changed (%d bytes, %v)", len(data), err)
	}
}

func testSummary(t *testing.T, c *framework.Cluster) {
	framework.Eventually(t, 30*time.Second, "the pods in the stats summary", func() (bool, error) {
		out, errOut, err := c.Kubectl("", "get", "--raw", "/api/v1/nodes/"+c.NodeName+"/proxy/stats/summary")
		if err != nil {
			return false, fmt.Errorf("%v: %s", err, errOut)
		}
		return strings.Contains(out, `"nodeName":"`+c.NodeName+`"`) && strings.Contains(out, `"name":"web"`) &&
			strings.Contains(out, `"workingSetBytes"`), nil
	})
	out, errOut, err := c.Kubectl("", "get", "--raw", "/api/v1/nodes/"+c.NodeName+"/proxy/pods")
	if err != nil || !strings.Contains(out, `"name":"shell"`) {
		t.Errorf("/pods: got %.200q (stderr %q, %v)", out, errOut, err)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
