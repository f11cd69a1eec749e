package kubectl

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKubeconfigToUse(t *testing.T) {
	t.Parallel()
	const admin = "/etc/capstan/capstan.yaml"
	for _, tc := range []struct {
		name     string
		env      map[string]string
		args     []string
		readable []string // files that can be read
		want     string
	}{
		{
			name:     "the admin kubeconfig is used when the user chose none and it is readable",
			args:     []string{"get", "ns", "-o", "wide"},
			readable: []string{admin},
			want:     admin,
		},
		{
			name: "nothing is set when the admin kubeconfig is not readable",
			args: []string{"get", "ns"},
		},
		{
			name:     "KUBECONFIG in the environment wins",
			env:      map[string]string{"KUBECONFIG": "/home/u/kc"},
			args:     []string{"get", "ns"},
			readable: []string{admin},
		},
		{
			name:     "an empty KUBECONFIG counts as unset, as it does for kubectl",
			env:      map[string]string{"KUBECONFIG": ""},
			readable: []string{admin},
			want:     admin,
		},
		{
			name:     "--kubeconfig with a separate value wins",
			args:     []string{"--kubeconfig", "/tmp/kc", "get", "ns"},
			readable: []string{admin},
		},
		{
			name:     "--kubeconfig=value after the command wins",
			args:     []string{"get", "ns", "--kubeconfig=/tmp/kc"},
			readable: []string{admin},
		},
		{
			name:     "--kubeconfig after -- belongs to the command kubectl runs",
			args:     []string{"exec", "pod", "--", "tool", "--kubeconfig=/x"},
			readable: []string{admin},
			want:     admin,
		},
		{
			name:     "CAPSTAN_KUBECONFIG replaces the admin kubeconfig",
			env:      map[string]string{KubeconfigEnv: "/srv/kc.yaml"},
			readable: []string{admin, "/srv/kc.yaml"},
			want:     "/srv/kc.yaml",
		},
		{
			name:     "an unreadable CAPSTAN_KUBECONFIG does not fall back to the admin kubeconfig",
			env:      map[string]string{KubeconfigEnv: "/srv/missing.yaml"},
			readable: []string{admin},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tc.env[k] }
			readable := func(p string) bool {
				for _, r := range tc.readable {
					if p == r {
						return true
					}
				}
				return false
			}
			if got := kubeconfigToUse(getenv, tc.args, admin, readable); got != tc.want {
				t.Errorf("kubeconfigToUse(env %v, args %q) = %q, want %q", tc.env, tc.args, got, tc.want)
			}
		})
	}
}

func TestIsReadableFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "kc.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       bool
	}{
		{"a regular file is readable", file, true},
		{"a missing file is not", filepath.Join(dir, "missing"), false},
		{"a directory is not", dir, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := isReadableFile(tc.path); got != tc.want {
				t.Errorf("isReadableFile(%q) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

func TestInvokedAs(t *testing.T) {
	t.Parallel()
	for argv0, want := range map[string]bool{
		"kubectl":                true,
		"/usr/local/bin/kubectl": true,
		"bin/capstan":            false,
		"kubectl-foo":            false,
	} {
		if got := InvokedAs(argv0); got != want {
			t.Errorf("InvokedAs(%q) = %v, want %v", argv0, got, want)
		}
	}
}
