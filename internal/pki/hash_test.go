package pki_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"capstan/internal/pki"
)

var caHashFormat = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func TestCAHash(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")

	first, err := pki.CAHash(ca.CertPEM)
	if err != nil {
		t.Fatalf("CAHash: %v", err)
	}
	if !caHashFormat.MatchString(first) {
		t.Errorf("CAHash = %q, want sha256:<64 hex>", first)
	}
	second, err := pki.CAHash(ca.CertPEM)
	if err != nil || second != first {
		t.Errorf("CAHash is not stable: %q then %q (%v)", first, second, err)
	}

	// The hash is of the SubjectPublicKeyInfo, computed here independently.
	spki, err := x509.MarshalPKIXPublicKey(ca.Cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	if want := "sha256:" + hex.EncodeToString(sum[:]); first != want {
		t.Errorf("CAHash = %q, want %q", first, want)
	}

	if other, err := pki.CAHash(newCA(t, "ca").CertPEM); err != nil || other == first {
		t.Errorf("another CA hashes to %q (%v), want a different hash", other, err)
	}
}

func TestCAHashSurvivesRecertifyingTheSameKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before, err := pki.LoadOrCreateCA(dir, "ca", "ca")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Remove(filepath.Join(dir, "ca.crt")))
	after, err := pki.LoadOrCreateCA(dir, "ca", "ca")
	if err != nil {
		t.Fatal(err)
	}
	h1, err1 := pki.CAHash(before.CertPEM)
	h2, err2 := pki.CAHash(after.CertPEM)
	if err1 != nil || err2 != nil || h1 != h2 {
		t.Errorf("hashes differ for the same key: %q (%v) vs %q (%v)", h1, err1, h2, err2)
	}
}

func TestCAHashRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if h, err := pki.CAHash([]byte(in)); err == nil {
			t.Errorf("CAHash(%q) = %q, want an error", in, h)
		}
	}
}
