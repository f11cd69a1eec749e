package pki_test

import (
	"crypto"
	"crypto/rand"
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

func TestLoadServiceAccountKeyAndPublicKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := newKey(t)
	keyPath := filepath.Join(dir, "sa.key")
	writeFile(t, keyPath, keyPEM(t, key), 0o600)
	got, err := pki.LoadServiceAccountKey(keyPath)
	if err != nil || !samePublic(got.Public(), key.Public()) {
		t.Fatalf("LoadServiceAccountKey = %v, %v", got, err)
	}
	if _, err := pki.LoadServiceAccountKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file loaded")
	}

	other := newKey(t)
	pkix, err := x509.MarshalPKIXPublicKey(other.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	bundle := append(keyPEM(t, key), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})...)
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})...)
	ca := newCA(t, "ca")
	bundle = append(bundle, ca.CertPEM...)
	pubPath := filepath.Join(dir, "sa.pub")
	writeFile(t, pubPath, bundle, 0o644)
	pubs, err := pki.LoadServiceAccountPublicKeys(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	want := []crypto.PublicKey{key.Public(), other.Public(), &rsaKey.PublicKey, ca.Cert.PublicKey}
	if len(pubs) != len(want) {
		t.Fatalf("got %d keys, want %d", len(pubs), len(want))
	}
	for i := range want {
		if !samePublic(pubs[i], want[i]) {
			t.Errorf("key %d differs", i)
		}
	}
	for name, content := range map[string]string{
		"no PEM at all":        "garbage",
		"a broken public key":  "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"a broken certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		path := filepath.Join(dir, "bad.pub")
		writeFile(t, path, []byte(content), 0o644)
		if _, err := pki.LoadServiceAccountPublicKeys(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
	if _, err := pki.LoadServiceAccountPublicKeys(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file loaded")
	}
}
