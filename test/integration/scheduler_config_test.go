package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

const schProfilesConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  plugins:
    multiPoint:
      disabled:
      - name: NodeResourcesBalancedAllocation
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`

func TestIntegrationSchedulerProfilesFromConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	file := filepath.Join(t.TempDir(), "scheduler.yaml")
	if err := os.WriteFile(file, []byte(schProfilesConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := capstantesting.StartServerWith(t, func(o *server.Options) { o.SchedulerConfig = file })
	c := s.Client
	schNode(t, c, schNodeSpec{name: "busy", cpu: "4", memory: "8Gi"})
	schNode(t, c, schNodeSpec{name: "idle", cpu: "4", memory: "8Gi"})
	base := schPod("base", "2", "4Gi")
	base.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "busy"}
	schCreate(t, c, "default", base)
	schWaitBound(t, c, "default", "base")

	// LeastAllocated (default profile) spreads to the idle node; MostAllocated packs onto
	// the busy one.
	schCreate(t, c, "default", schPod("spread", "500m", "1Gi"))
	if node := schWaitBound(t, c, "default", "spread"); node != "idle" {
		t.Errorf("default profile put spread on %s, want idle", node)
	}
	packed := schPod("packed", "500m", "1Gi")
	packed.Spec.SchedulerName = "bin-packer"
	schCreate(t, c, "default", packed)
	if node := schWaitBound(t, c, "default", "packed"); node != "busy" {
		t.Errorf("bin-packer put packed on %s, want busy", node)
	}
	schWaitEvent(t, c, "default", "packed", "Scheduled", "Successfully assigned default/packed to busy")

	// A pod for another scheduler is left alone.
	other := schPod("other", "", "")
	other.Spec.SchedulerName = "someone-else"
	schCreate(t, c, "default", other)
	schStaysPending(t, c, "default", "other", 1e9)
}

func TestIntegrationSchedulerDescribeShowsFailedScheduling(t *testing.T) {
	s := start(t)
	c := s.Client
	schNode(t, c, schNodeSpec{name: "n1", cpu: "1"})
	schCreate(t, c, "default", schPod("too-big", "2", ""))
	schWaitEvent(t, c, "default", "too-big", "FailedScheduling", "0/1 nodes are available")
	// The event may be rewritten (count, series) between the wait and describe: poll.
	want := "default-scheduler  0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	var out string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var stderr string
		var err error
		out, stderr, err = s.Kubectl("", "describe", "pod", "too-big")
		if err != nil {
			t.Fatalf("kubectl describe: %v: %s", err, stderr)
		}
		if strings.Contains(out, "Warning  FailedScheduling  ") && strings.Contains(out, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("describe output lacks the FailedScheduling event:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, "PodScheduled") || !strings.Contains(out, "False") {
		t.Errorf("describe output lacks PodScheduled False:\n%s", out)
	}
}
