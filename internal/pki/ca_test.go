package pki_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"capstan/internal/pki"
)

func TestLoadOrCreateCACreatesThenReloadsTheSameCA(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "server", "tls")

	created, err := pki.LoadOrCreateCA(dir, "server-ca", "capstan-server-ca")
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, "server-ca.key"), 0o600)
	assertMode(t, filepath.Join(dir, "server-ca.crt"), 0o644)
	assertOnlyFiles(t, dir, "server-ca.crt", "server-ca.key")

	cert := created.Cert
	if !cert.IsCA || !cert.BasicConstraintsValid {
		t.Errorf("IsCA = %v, BasicConstraintsValid = %v; want both true", cert.IsCA, cert.BasicConstraintsValid)
	}
	wantUsage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	if cert.KeyUsage != wantUsage {
		t.Errorf("KeyUsage = %v, want %v", cert.KeyUsage, wantUsage)
	}
	if cert.Subject.CommonName != "capstan-server-ca" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if life := cert.NotAfter.Sub(time.Now()); life < 9*365*24*time.Hour || life > 11*365*24*time.Hour {
		t.Errorf("CA valid for %s more, want about 10 years", life)
	}
	if k, ok := created.Key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", created.Key)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if !bytes.Equal(created.CertPEM, readFile(t, filepath.Join(dir, "server-ca.crt"))) {
		t.Error("CertPEM differs from the file written")
	}

	reloaded, err := pki.LoadOrCreateCA(dir, "server-ca", "ignored-on-reload")
	if err != nil {
		t.Fatalf("reloading: %v", err)
	}
	if !reloaded.Cert.Equal(created.Cert) {
		t.Error("reloaded CA certificate differs from the created one")
	}
	if !samePublic(reloaded.Key.Public(), created.Key.Public()) {
		t.Error("reloaded CA key differs from the created one")
	}
	if !bytes.Equal(reloaded.CertPEM, created.CertPEM) {
		t.Error("reloaded CertPEM differs from the created one")
	}
}

func TestLoadOrCreateCAMakesACertificateForAKeyLeftAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := pki.LoadOrCreateCA(dir, "ca", "ca")
	if err != nil {
		t.Fatal(err)
	}
	// A crash between the key write and the certificate write leaves this.
	if err := os.Remove(filepath.Join(dir, "ca.crt")); err != nil {
		t.Fatal(err)
	}

	second, err := pki.LoadOrCreateCA(dir, "ca", "ca")
	if err != nil {
		t.Fatalf("recovering: %v", err)
	}
	if !samePublic(second.Key.Public(), first.Key.Public()) {
		t.Error("the existing key was replaced")
	}
	if !second.Cert.IsCA || second.Cert.CheckSignatureFrom(second.Cert) != nil {
		t.Error("recovered certificate is not a self-signed CA")
	}
	if pub, ok := second.Cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(first.Key.Public()) {
		t.Error("recovered certificate is not for the existing key")
	}
	assertMode(t, filepath.Join(dir, "ca.crt"), 0o644)
}

func TestLoadOrCreateCARefusesBrokenFiles(t *testing.T) {
	t.Parallel()
	other := newCA(t, "other")
	leaf, err := other.Issue(pki.CertSpec{CommonName: "leaf", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		breakIt  func(t *testing.T, dir string)
		wantText string
	}{
		{
			name:     "a certificate without its key is an error",
			breakIt:  func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "ca.key"))) },
			wantText: "ca.key is missing",
		},
		{
			name:     "a garbage key is an error",
			breakIt:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "ca.key"), []byte("not a key"), 0o600) },
			wantText: "ca.key",
		},
		{
			name: "a key block with garbage inside is an error",
			breakIt: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "ca.key"), []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), 0o600)
			},
			wantText: "parsing EC private key",
		},
		{
			name:     "an empty key file is an error",
			breakIt:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "ca.key"), nil, 0o600) },
			wantText: "no PEM private key block",
		},
		{
			name:     "a garbage certificate is an error",
			breakIt:  func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "ca.crt"), []byte("garbage"), 0o644) },
			wantText: "ca.crt",
		},
		{
			name: "a truncated certificate is an error",
			breakIt: func(t *testing.T, dir string) {
				data := readFile(t, filepath.Join(dir, "ca.crt"))
				writeFile(t, filepath.Join(dir, "ca.crt"), data[:len(data)/2], 0o644)
			},
			wantText: "ca.crt",
		},
		{
			name: "a key that does not match the certificate is an error",
			breakIt: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "ca.key"), keyPEM(t, newKey(t)), 0o600)
			},
			wantText: "does not match",
		},
		{
			name: "a certificate that is not a CA is an error",
			breakIt: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "ca.crt"), leaf.CertPEM, 0o644)
				writeFile(t, filepath.Join(dir, "ca.key"), leaf.KeyPEM, 0o600)
			},
			wantText: "not a CA",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if _, err := pki.LoadOrCreateCA(dir, "ca", "ca"); err != nil {
				t.Fatal(err)
			}
			tt.breakIt(t, dir)
			before := snapshot(t, dir)

			_, err := pki.LoadOrCreateCA(dir, "ca", "ca")
			if err == nil {
				t.Fatal("LoadOrCreateCA succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), `CA "ca"`) {
				t.Errorf("error %q should name the CA and contain %q", err, tt.wantText)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Error("a broken CA was overwritten")
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot returns the contents of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name()] = string(readFile(t, filepath.Join(dir, e.Name())))
	}
	return out
}
