package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
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

// LoadServiceAccountKey reads the private key that signs service-account tokens from
// path (PEM: PKCS#1, SEC1 or PKCS#8), for components that use the key but never make it
// (the controller-manager's --service-account-private-key-file). A missing file is an error.
func LoadServiceAccountKey(path string) (crypto.Signer, error) {
	key, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading service-account key: %w", err)
	}
	return key, nil
}

// LoadServiceAccountPublicKeys reads every key of a PEM file that may verify
// service-account tokens, as upstream's --service-account-key-file: public keys (PKIX or
// PKCS#1), certificates and private keys (their public halves). A file without any is an
// error.
func LoadServiceAccountPublicKeys(path string) ([]crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading service-account public keys: %w", err)
	}
	var keys []crypto.PublicKey
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		key, err := publicKeyOf(block)
		if err != nil {
			return nil, fmt.Errorf("service-account public keys %s: %w", path, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("service-account public keys %s: no keys found", path)
	}
	return keys, nil
}

func publicKeyOf(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case pemCertificate:
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	key, err := parseKeyPEM(pem.EncodeToMemory(block))
	if err != nil {
		return nil, err
	}
	return key.Public(), nil
}
