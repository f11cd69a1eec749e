package cri

import "testing"

func TestSocketPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		endpoint, want string
		wantErr        bool
	}{
		{endpoint: "unix:///run/capstan/containerd/containerd.sock", want: "/run/capstan/containerd/containerd.sock"},
		{endpoint: "/run/containerd/containerd.sock", want: "/run/containerd/containerd.sock"},
		{endpoint: "tcp://127.0.0.1:1234", wantErr: true},
		{endpoint: "relative.sock", wantErr: true},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			got, err := SocketPath(tc.endpoint)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("SocketPath(%q) = %q, %v; want %q (error %v)", tc.endpoint, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
