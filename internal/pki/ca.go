package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

const (
	// caValidity is how long a new CA certificate is valid.
	caValidity = 10 * 365 * 24 * time.Hour
	// defaultLeafValidity is the validity of issued certificates when the
	// caller does not choose one.
	defaultLeafValidity = 365 * 24 * time.Hour
	// backdate moves NotBefore into the past so a certificate is valid at once
	// on a node whose clock is slightly behind the one that issued it.
	backdate = 5 * time.Minute
)

// CA is a certificate authority: a CA certificate and the key that signs with
// it. A CA is immutable after it is loaded and safe for concurrent use.
type CA struct {
	// Cert is the parsed CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// CertPEM is Cert encoded as PEM: the trust bundle to hand to clients.
	CertPEM []byte
}

// LoadOrCreateCA returns the CA stored as <dir>/<name>.crt and <dir>/<name>.key.
//
// When neither file exists it creates a self-signed CA (ECDSA P-256, valid 10
// years, CA:true, key usages cert sign, CRL sign and digital signature) with
// the given common name, creating dir 0700 if missing and writing the key
// (0600) before the certificate (0644). When only the key exists, which is what
// a crash between the two writes leaves, a new certificate is made for that
// key. When only the certificate exists it is an error: the CA cannot sign
// without its key, and replacing a CA others may trust must be a human
// decision. Files that exist but cannot be parsed, a key that does not match
// the certificate, or a certificate that is not a CA are errors.
func LoadOrCreateCA(dir, name, commonName string) (*CA, error) {
	certPath := filepath.Join(dir, name+".crt")
	keyPath := filepath.Join(dir, name+".key")
	certExists, err := fileExists(certPath)
	if err != nil {
		return nil, fmt.Errorf("loading CA %s: %w", certPath, err)
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return nil, fmt.Errorf("loading CA key %s: %w", keyPath, err)
	}

	switch {
	case certExists && keyExists:
		ca, err := loadCA(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("loading CA %q: %w", name, err)
		}
		return ca, nil
	case certExists:
		return nil, fmt.Errorf("loading CA %q: certificate %s exists but its key %s is missing", name, certPath, keyPath)
	}

	var key crypto.Signer
	if keyExists {
		if key, err = readKeyFile(keyPath); err != nil {
			return nil, fmt.Errorf("loading CA %q: %w", name, err)
		}
	} else {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("creating CA %q: generating key: %w", name, err)
		}
	}
	ca, err := newSelfSignedCA(key, commonName, time.Now())
	if err != nil {
		return nil, fmt.Errorf("creating CA %q: %w", name, err)
	}
	if err := os.MkdirAll(dir, pkiDirMode); err != nil {
		return nil, fmt.Errorf("creating CA %q: %w", name, err)
	}
	if !keyExists {
		keyPEM, err := encodeKeyPEM(key)
		if err != nil {
			return nil, fmt.Errorf("creating CA %q: %w", name, err)
		}
		if err := writeFileAtomic(keyPath, keyPEM, keyFileMode); err != nil {
			return nil, fmt.Errorf("creating CA %q: %w", name, err)
		}
	}
	if err := writeFileAtomic(certPath, ca.CertPEM, certFileMode); err != nil {
		return nil, fmt.Errorf("creating CA %q: %w", name, err)
	}
	return ca, nil
}

// loadCA reads a CA pair and checks that it is one.
func loadCA(certPath, keyPath string) (*CA, error) {
	cert, err := readCertFile(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("certificate %s is not a CA certificate", certPath)
	}
	if !samePublicKey(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("private key %s does not match certificate %s", keyPath, certPath)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCertPEM(cert.Raw)}, nil
}

// newSelfSignedCA makes a CA certificate for key.
func newSelfSignedCA(key crypto.Signer, commonName string, now time.Time) (*CA, error) {
	if commonName == "" {
		return nil, errors.New("empty CA common name")
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-backdate).UTC(),
		NotAfter:              now.Add(caValidity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("signing CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing new CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: encodeCertPEM(der)}, nil
}

// Sign issues a certificate for the public key and identity in csr: the
// subject and the DNS, IP, email and URI SANs are copied; every other
// extension the CSR requests (basic constraints, key usages) is ignored, so a
// CSR cannot obtain a CA certificate. usages must not be empty. A zero validity
// means one year; NotAfter never exceeds the CA's own NotAfter. It returns the
// certificate as PEM. Callers decide whether the requester may have that
// identity; Sign only checks the CSR's self-signature.
func (ca *CA) Sign(csr *x509.CertificateRequest, usages []x509.ExtKeyUsage, validity time.Duration) ([]byte, error) {
	if csr == nil {
		return nil, errors.New("signing CSR: nil request")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("signing CSR: invalid request signature: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:        csr.Subject,
		DNSNames:       csr.DNSNames,
		IPAddresses:    csr.IPAddresses,
		EmailAddresses: csr.EmailAddresses,
		URIs:           csr.URIs,
	}
	der, err := ca.issue(tmpl, csr.PublicKey, usages, validity, time.Now())
	if err != nil {
		return nil, fmt.Errorf("signing CSR for %q: %w", csr.Subject.CommonName, err)
	}
	return encodeCertPEM(der), nil
}

// issue fills in the fields every leaf certificate shares and signs tmpl.
func (ca *CA) issue(tmpl *x509.Certificate, pub crypto.PublicKey, usages []x509.ExtKeyUsage, validity time.Duration, now time.Time) ([]byte, error) {
	if len(usages) == 0 {
		return nil, errors.New("no extended key usages requested")
	}
	if validity < 0 {
		return nil, fmt.Errorf("negative validity %s", validity)
	}
	if validity == 0 {
		validity = defaultLeafValidity
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	keyUsage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		// RSA key exchange in TLS encrypts to the certificate's key.
		keyUsage |= x509.KeyUsageKeyEncipherment
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate).UTC()
	tmpl.NotAfter = notAfter.UTC()
	tmpl.KeyUsage = keyUsage
	tmpl.ExtKeyUsage = append([]x509.ExtKeyUsage(nil), usages...)
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = false
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate: %w", err)
	}
	return der, nil
}

// randomSerial returns a random, positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generating serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
