package agent

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestParseReserved(t *testing.T) {
	t.Parallel()
	got, err := ParseReserved(" cpu=100m, memory=256Mi,,ephemeral-storage=1Gi")
	if err != nil {
		t.Fatal(err)
	}
	if got.Cpu().MilliValue() != 100 || got.Memory().Value() != 256<<20 || got.StorageEphemeral().Value() != 1<<30 {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{"cpu", "memory=lots"} {
		if _, err := ParseReserved(bad); err == nil {
			t.Errorf("ParseReserved(%q) succeeded", bad)
		}
	}
}

func TestAddFlagsLeavesTheCommandsOwnFlags(t *testing.T) {
	t.Parallel()
	var dataDir string
	cmd := &cobra.Command{Use: "server"}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "")
	var opts Options
	AddFlags(cmd, &opts)
	if err := cmd.ParseFlags([]string{"--data-dir", "/d", "--node-name", "n1", "--node-label", "a=b,c=d", "--stop-pods-on-exit", "--proxy-mode", "none"}); err != nil {
		t.Fatal(err)
	}
	if dataDir != "/d" || opts.DataDir != "" {
		t.Errorf("--data-dir went to %q / %q; want the command's own", dataDir, opts.DataDir)
	}
	if opts.NodeName != "n1" || opts.NodeLabels["a"] != "b" || opts.NodeLabels["c"] != "d" || opts.ProxyMode != "none" {
		t.Errorf("opts = %+v", opts)
	}
	if opts.StopPodsOnExit == nil || !opts.StopPodsOnExit() {
		t.Error("--stop-pods-on-exit not seen")
	}
}
