package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandRejectsAnUnknownMode(t *testing.T) {
	t.Parallel()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: x}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for mode, want := range map[string]string{
		"ipvs": `unknown --proxy-mode "ipvs" (one of iptables, nftables, userspace)`,
	} {
		cmd := NewCommand()
		cmd.SetArgs([]string{"--kubeconfig", kubeconfig, "--proxy-mode", mode, "--healthz-bind-address", "", "--metrics-bind-address", ""})
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.ExecuteContext(t.Context())
		if err == nil || err.Error() != want {
			t.Errorf("--proxy-mode %s: %v, want %q", mode, err, want)
		}
	}
}
