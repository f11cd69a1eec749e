package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandRejectsBadFlags(t *testing.T) {
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
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--proxy-mode", "ipvs"}, `unknown --proxy-mode "ipvs" (one of iptables, nftables, userspace)`},
		{[]string{"--proxy-mode", "userspace", "--udp-timeout", "-1s"}, "userspace: negative UDP idle timeout -1s"},
	} {
		cmd := NewCommand()
		cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig, "--healthz-bind-address", "", "--metrics-bind-address", ""}, tc.args...))
		cmd.SetOut(&strings.Builder{})
		cmd.SetErr(&strings.Builder{})
		err := cmd.ExecuteContext(t.Context())
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
