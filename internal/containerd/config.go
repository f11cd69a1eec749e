package containerd

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is what the rendered containerd configuration depends on.
type Config struct {
	// Root holds containerd's persistent state (images, snapshots, content).
	Root string
	// State holds its runtime state (tasks, shims, the runc root, network namespaces).
	State string
	// Socket is the gRPC socket path; the ttrpc socket is next to it.
	Socket string
	// SandboxImage is the pause image's name, e.g. registry.k8s.io/pause:3.10.
	SandboxImage string
	// CNIBinDir and CNIConfDir are where the CRI plugin finds the CNI plugins and the
	// network configuration.
	CNIBinDir, CNIConfDir string
	// RegistryConfigPath, when set, is the directory of per-registry hosts.toml files
	// (<dir>/<registry>/hosts.toml).
	RegistryConfigPath string
	// RegistryAuth is the credentials section (Registries.AuthTOML), if any.
	RegistryAuth string
	// LogLevel of containerd: debug, info, warn or error. Empty means info.
	LogLevel string
}

// Render returns the containerd 1.6 configuration (version 2 schema) for c.
func Render(c Config) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	w("# Written by capstan: changes are overwritten at every start.")
	w("version = 2")
	w("root = %s", quote(c.Root))
	w("state = %s", quote(c.State))
	w("oom_score = 0")
	// Snapshotters and services a node does not use: fewer plugins start faster.
	w("disabled_plugins = [%s]", strings.Join(quoteAll(disabledPlugins), ", "))
	w("")
	w("[grpc]")
	w("  address = %s", quote(c.Socket))
	w("")
	w("[ttrpc]")
	w("  address = %s", quote(c.Socket+".ttrpc"))
	w("")
	w("[debug]")
	w("  level = %s", quote(level))
	w("")
	w("[plugins]")
	w("  [plugins.\"io.containerd.internal.v1.opt\"]")
	w("    path = %s", quote(filepath.Join(c.Root, "opt")))
	w("")
	w("  [plugins.\"io.containerd.grpc.v1.cri\"]")
	w("    sandbox_image = %s", quote(c.SandboxImage))
	// Without CAP_SYS_RESOURCE runc cannot lower oom_score_adj below containerd's own; this
	// makes the CRI plugin clamp the value instead of failing every sandbox.
	w("    restrict_oom_score_adj = true")
	w("    enable_selinux = false")
	w("    disable_hugetlb_controller = true")
	w("    tolerate_missing_hugetlb_controller = true")
	w("    stream_server_address = \"127.0.0.1\"")
	w("    stream_server_port = \"0\"")
	// Network namespaces under the state dir, so each containerd keeps its own.
	w("    netns_mounts_under_state_dir = true")
	w("    max_container_log_line_size = 16384")
	w("")
	w("    [plugins.\"io.containerd.grpc.v1.cri\".containerd]")
	w("      snapshotter = \"overlayfs\"")
	w("      default_runtime_name = \"runc\"")
	w("      disable_snapshot_annotations = true")
	w("")
	w("      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]")
	w("        runtime_type = \"io.containerd.runc.v2\"")
	w("")
	w("        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]")
	// cgroupfs: the hosts here have no systemd.
	w("          SystemdCgroup = false")
	w("          Root = %s", quote(filepath.Join(c.State, "runc")))
	w("")
	w("    [plugins.\"io.containerd.grpc.v1.cri\".cni]")
	w("      bin_dir = %s", quote(c.CNIBinDir))
	w("      conf_dir = %s", quote(c.CNIConfDir))
	w("      max_conf_num = 1")
	if c.RegistryConfigPath != "" {
		w("")
		w("    [plugins.\"io.containerd.grpc.v1.cri\".registry]")
		w("      config_path = %s", quote(c.RegistryConfigPath))
	}
	if c.RegistryAuth != "" {
		b.WriteString(c.RegistryAuth)
	}
	return []byte(b.String())
}

var disabledPlugins = []string{
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.zfs",
	"io.containerd.tracing.processor.v1.otlp",
	"io.containerd.internal.v1.tracing",
}

// quote writes s as a TOML basic string.
func quote(s string) string { return strconv.Quote(s) }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return out
}
