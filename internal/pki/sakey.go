package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
)

// serviceAccountKeyBits is the size of a new service-account key; upstream
// tooling (kubeadm, k3s) generates RSA 2048 keys too.
const serviceAccountKeyBits = 2048

// LoadOrCreateServiceAccountKey returns the private key that signs
// service-account tokens, read from path (PEM: PKCS#1, SEC1 or PKCS#8, so keys
// made by kubeadm or k3s load) or, when path does not exist, a new RSA 2048 key
// written there as a PKCS#1 "RSA PRIVATE KEY" with mode 0600 (parent directory
// created 0700 if missing). RSA keeps tokens verifiable by every JWT library
// and matches upstream's default (RS256). A file that exists but cannot be
// parsed is an error.
func LoadOrCreateServiceAccountKey(path string) (crypto.Signer, error) {
	exists, err := fileExists(path)
	if err != nil {
		return nil, fmt.Errorf("loading service-account key %s: %w", path, err)
	}
	if exists {
		key, err := readKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("loading service-account key: %w", err)
		}
		return key, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, serviceAccountKeyBits)
	if err != nil {
		return nil, fmt.Errorf("creating service-account key: %w", err)
	}
	keyPEM, err := encodeKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("creating service-account key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), pkiDirMode); err != nil {
		return nil, fmt.Errorf("creating service-account key: %w", err)
	}
	if err := writeFileAtomic(path, keyPEM, keyFileMode); err != nil {
		return nil, fmt.Errorf("creating service-account key: %w", err)
	}
	return key, nil
}
