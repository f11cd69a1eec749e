package integration

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"capstan/internal/etcd"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// TestIntegrationExternalDatastore runs the server on an etcd cluster it does not own: the
// objects are in that etcd, under upstream's keys.
func TestIntegrationExternalDatastore(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	member, err := etcd.Start(t.Context(), etcd.Options{DataDir: t.TempDir(), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Close) // registered first, so it runs after the server has stopped
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		o.DatastoreEndpoint = strings.Join(member.Endpoints(), ",")
	})
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "external"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := etcd.NewClient(etcd.ClientOptions{Endpoints: member.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(t.Context(), "/registry/configmaps/default/external")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("configmap not in the external etcd: %v %v", resp, err)
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "server", "db", "etcd")); !os.IsNotExist(err) {
		t.Errorf("an embedded etcd data dir exists with an external datastore: %v", err)
	}
}

// TestIntegrationBinaryReadyAndSignals runs `capstan server`: it prints one ready line naming
// the kubeconfig, writes the kubeconfig 0600, stops cleanly on SIGTERM and keeps every object
// across a restart.
func TestIntegrationBinaryReadyAndSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	bin := capstantesting.Binary(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "admin.yaml")
	ports := freePorts(t, 3)
	run := func(sig syscall.Signal, during func()) {
		t.Helper()
		cmd := exec.Command(bin, "server", "--data-dir", dir, "--write-kubeconfig", kubeconfig,
			"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
			"--https-port", fmt.Sprint(ports[0]), "--etcd-client-port", fmt.Sprint(ports[1]), "--etcd-peer-port", fmt.Sprint(ports[2]), "--disable-agent")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = cmd.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("server exited before it was ready")
				}
				if strings.Contains(l, "ready") && strings.Contains(l, kubeconfig) {
					break wait
				}
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatal("no ready line naming the kubeconfig within 30s")
			}
		}
		during()
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for range lines {
			}
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exit after %s: %v", sig, err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("server did not stop within 30s of %s", sig)
		}
	}
	client := func() kubernetes.Interface {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	run(syscall.SIGTERM, func() {
		st, err := os.Stat(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("kubeconfig mode %o, want 600", st.Mode().Perm())
		}
		for i := 0; i < 50; i++ {
			if _, err := client().CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c-%d", i)}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})
	run(syscall.SIGINT, func() {
		list, err := client().CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, cm := range list.Items {
			if strings.HasPrefix(cm.Name, "c-") {
				n++
			}
		}
		if n != 50 {
			t.Errorf("after restart %d of our configmaps, want the 50 acknowledged before SIGTERM", n)
		}
	})
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
