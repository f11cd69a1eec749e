package pki_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"capstan/internal/pki"
)

func TestLoadOrCreateServiceAccountKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tls", "service.key")

	created, err := pki.LoadOrCreateServiceAccountKey(path)
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
	rk, ok := created.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != 2048 {
		t.Errorf("key is %T, want RSA 2048", created)
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700)
	assertOnlyFiles(t, filepath.Dir(path), "service.key")

	reloaded, err := pki.LoadOrCreateServiceAccountKey(path)
	if err != nil {
		t.Fatalf("reloading: %v", err)
	}
	if !samePublic(reloaded.Public(), created.Public()) {
		t.Error("reloaded key differs from the created one")
	}
}

func TestLoadOrCreateServiceAccountKeyLoadsOtherFormats(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sa.key")
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)

	got, err := pki.LoadOrCreateServiceAccountKey(path)
	if err != nil {
		t.Fatalf("loading a PKCS#8 EC key: %v", err)
	}
	if !samePublic(got.Public(), key.Public()) {
		t.Error("loaded a different key")
	}
}

func TestLoadOrCreateServiceAccountKeyRefusesCorruptFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
	}{
		{name: "garbage", content: "garbage"},
		{name: "an empty file", content: ""},
		{name: "a key block with garbage inside", content: "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"},
		{name: "a certificate instead of a key", content: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error naming the file", func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "sa.key")
			writeFile(t, path, []byte(tt.content), 0o600)
			_, err := pki.LoadOrCreateServiceAccountKey(path)
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if string(readFile(t, path)) != tt.content {
				t.Error("the corrupt file was overwritten")
			}
		})
	}
}
