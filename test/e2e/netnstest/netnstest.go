// Package netnstest makes network namespaces for the root e2e tests that wire their own
// topologies: named <prefix>-<pid>-<role> (a number added when a role repeats), with lo
// up, deleted when the test ends. The first namespace of a prefix sweeps those that test
// processes which died before their cleanup left behind.
package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"capstan/internal/nsenter"
)

// NS is a network namespace a test made.
type NS struct{ Name, Path string }

var made = struct {
	sync.Mutex
	roles map[string]int  // uses of each prefix-role in this process
	swept map[string]bool // prefixes swept
}{roles: map[string]int{}, swept: map[string]bool{}}

// New makes a namespace for role, deleted when t ends.
func New(t testing.TB, prefix, role string) NS {
	t.Helper()
	made.Lock()
	if !made.swept[prefix] {
		made.swept[prefix] = true
		sweep(prefix)
	}
	name := fmt.Sprintf("%s-%d-%s", prefix, os.Getpid(), role)
	if made.roles[name]++; made.roles[name] > 1 {
		name += strconv.Itoa(made.roles[name])
	}
	made.Unlock()
	n := NS{Name: name, Path: filepath.Join("/run/netns", name)}
	Run(t, "ip", "netns", "add", n.Name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("deleting namespace %s: %v: %s", n.Name, err, out)
		}
	})
	Run(t, "ip", "-n", n.Name, "link", "set", "lo", "up")
	return n
}

// sweep deletes the namespaces of prefix whose test process is gone.
func sweep(prefix string) {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		parts := strings.SplitN(e.Name(), "-", 3)
		if len(parts) != 3 || parts[0] != prefix {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // a live run's
		}
		_ = exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

// Run runs a command on the host and fails the test if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Run runs a command inside the namespace.
func (n NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	return Run(t, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Do runs fn on a locked thread inside the namespace; sockets fn opens stay in it.
func (n NS) Do(fn func() error) error { return nsenter.Do(n.Path, fn) }
