package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// CAHash returns the pin of the CA certificate in caPEM (its first
// certificate) in kubeadm's discovery-token-ca-cert-hash format:
// "sha256:" followed by the hex SHA-256 of the certificate's
// SubjectPublicKeyInfo. The pin survives re-signing the CA with the same key.
func CAHash(caPEM []byte) (string, error) {
	cert, err := parseCertPEM(caPEM)
	if err != nil {
		return "", fmt.Errorf("hashing CA certificate: %w", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
