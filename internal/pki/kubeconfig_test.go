package pki_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"capstan/internal/pki"
)

func TestWriteKubeconfigRoundTrips(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	admin, err := ca.Issue(pki.CertSpec{
		CommonName: "system:admin", Organization: []string{"system:masters"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		existing    os.FileMode // 0: no file before the write
		mode        os.FileMode
		spec        pki.KubeconfigSpec
		wantNames   [3]string // cluster, user, context
		wantCert    bool
		wantToken   string
		subdirDepth int
	}{
		{
			name:      "an admin kubeconfig with a client certificate uses the default names",
			mode:      0o600,
			spec:      pki.KubeconfigSpec{Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, CertPEM: admin.CertPEM, KeyPEM: admin.KeyPEM},
			wantNames: [3]string{"default", "default", "default"},
			wantCert:  true,
		},
		{
			name:      "writing over an existing 0644 file leaves it 0600",
			existing:  0o644,
			mode:      0o600,
			spec:      pki.KubeconfigSpec{Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, CertPEM: admin.CertPEM, KeyPEM: admin.KeyPEM},
			wantNames: [3]string{"default", "default", "default"},
			wantCert:  true,
		},
		{
			name:     "a bootstrap kubeconfig with a token and custom names",
			existing: 0o600,
			mode:     0o644,
			spec: pki.KubeconfigSpec{
				Server: "https://10.0.0.1:6443", CAPEM: ca.CertPEM, Token: "abcdef.0123456789abcdef",
				ClusterName: "capstan", UserName: "kubelet-bootstrap", ContextName: "bootstrap",
			},
			wantNames: [3]string{"capstan", "kubelet-bootstrap", "bootstrap"},
			wantToken: "abcdef.0123456789abcdef",
		},
		{
			name:        "missing parent directories are created",
			mode:        0o600,
			spec:        pki.KubeconfigSpec{Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM, CertPEM: admin.CertPEM, KeyPEM: admin.KeyPEM},
			wantNames:   [3]string{"default", "default", "default"},
			wantCert:    true,
			subdirDepth: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for i := range tt.subdirDepth {
				dir = filepath.Join(dir, "d"+string(rune('0'+i)))
			}
			path := filepath.Join(dir, "capstan.yaml")
			if tt.existing != 0 {
				writeFile(t, path, []byte("stale: true\n"), tt.existing)
				must(t, os.Chmod(path, tt.existing))
			}

			if err := pki.WriteKubeconfig(path, tt.spec, tt.mode); err != nil {
				t.Fatalf("WriteKubeconfig: %v", err)
			}
			assertMode(t, path, tt.mode)
			assertOnlyFiles(t, dir, "capstan.yaml")

			cfg, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatalf("LoadFromFile: %v", err)
			}
			clusterName, userName, contextName := tt.wantNames[0], tt.wantNames[1], tt.wantNames[2]
			if cfg.CurrentContext != contextName {
				t.Errorf("current-context = %q, want %q", cfg.CurrentContext, contextName)
			}
			kctx := cfg.Contexts[contextName]
			if kctx == nil || kctx.Cluster != clusterName || kctx.AuthInfo != userName {
				t.Fatalf("context %q = %+v, want cluster %q and user %q", contextName, kctx, clusterName, userName)
			}
			cluster := cfg.Clusters[clusterName]
			if cluster == nil || cluster.Server != tt.spec.Server || !bytes.Equal(cluster.CertificateAuthorityData, tt.spec.CAPEM) {
				t.Errorf("cluster %q = %+v, want server %q and the CA", clusterName, cluster, tt.spec.Server)
			}
			user := cfg.AuthInfos[userName]
			if user == nil {
				t.Fatalf("user %q missing", userName)
			}
			if tt.wantCert && (!bytes.Equal(user.ClientCertificateData, admin.CertPEM) || !bytes.Equal(user.ClientKeyData, admin.KeyPEM)) {
				t.Error("client certificate or key did not round-trip")
			}
			if user.Token != tt.wantToken {
				t.Errorf("token = %q, want %q", user.Token, tt.wantToken)
			}

			// The file must be usable as-is by client-go.
			rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
			if err != nil {
				t.Fatalf("building a rest config: %v", err)
			}
			if rc.Host != tt.spec.Server {
				t.Errorf("rest config host = %q, want %q", rc.Host, tt.spec.Server)
			}
		})
	}
}

func TestWriteKubeconfigRejectsIncompleteSpecs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec pki.KubeconfigSpec
	}{
		{name: "an empty server", spec: pki.KubeconfigSpec{Token: "t"}},
		{name: "a certificate without a key", spec: pki.KubeconfigSpec{Server: "https://x:6443", CertPEM: []byte("c")}},
		{name: "a key without a certificate", spec: pki.KubeconfigSpec{Server: "https://x:6443", KeyPEM: []byte("k")}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "kubeconfig")
			if err := pki.WriteKubeconfig(path, tt.spec, 0o600); err == nil {
				t.Error("WriteKubeconfig succeeded, want an error")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Error("a file was written for a rejected spec")
			}
		})
	}
}
