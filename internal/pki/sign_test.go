package pki_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"net"
	"slices"
	"testing"
	"time"
)

// newCSR returns a parsed CSR for tmpl signed by key.
func newCSR(t *testing.T, key crypto.Signer, tmpl *x509.CertificateRequest) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatalf("creating CSR: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("parsing CSR: %v", err)
	}
	return csr
}

func TestSignIssuesVerifiableCertificates(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// A CSR asking to be a CA; Sign must not honour it.
	caRequest, err := asn1.Marshal(struct {
		IsCA bool
	}{true})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		key          crypto.Signer
		req          *x509.CertificateRequest
		usages       []x509.ExtKeyUsage
		validity     time.Duration
		wantKeyUsage x509.KeyUsage
	}{
		{
			name: "a kubelet client certificate carries the node identity",
			key:  newKey(t),
			req: &x509.CertificateRequest{Subject: pkix.Name{
				CommonName: "system:node:n1", Organization: []string{"system:nodes"},
			}},
			usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantKeyUsage: x509.KeyUsageDigitalSignature,
		},
		{
			name: "a kubelet serving certificate carries its SANs",
			key:  newKey(t),
			req: &x509.CertificateRequest{
				Subject:     pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}},
				DNSNames:    []string{"n1"},
				IPAddresses: []net.IP{net.ParseIP("10.0.0.5")},
			},
			usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			validity:     24 * time.Hour,
			wantKeyUsage: x509.KeyUsageDigitalSignature,
		},
		{
			name:         "an RSA key also gets key encipherment",
			key:          rsaKey,
			req:          &x509.CertificateRequest{Subject: pkix.Name{CommonName: "rsa-client"}},
			usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
			wantKeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		},
		{
			name: "a request to be a CA is ignored",
			key:  newKey(t),
			req: &x509.CertificateRequest{
				Subject: pkix.Name{CommonName: "sneaky"},
				ExtraExtensions: []pkix.Extension{{
					Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: caRequest,
				}},
			},
			usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			wantKeyUsage: x509.KeyUsageDigitalSignature,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			csr := newCSR(t, tt.key, tt.req)

			certPEM, err := ca.Sign(csr, tt.usages, tt.validity)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			cert := parseCert(t, certPEM)
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			for _, u := range tt.usages {
				if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
					t.Errorf("does not verify for usage %v: %v", u, err)
				}
			}
			if !slices.Equal(cert.ExtKeyUsage, tt.usages) {
				t.Errorf("ExtKeyUsage = %v, want %v", cert.ExtKeyUsage, tt.usages)
			}
			if cert.KeyUsage != tt.wantKeyUsage {
				t.Errorf("KeyUsage = %v, want %v", cert.KeyUsage, tt.wantKeyUsage)
			}
			if cert.IsCA {
				t.Error("signed certificate is a CA")
			}
			if cert.Subject.CommonName != tt.req.Subject.CommonName || !slices.Equal(cert.Subject.Organization, tt.req.Subject.Organization) {
				t.Errorf("subject = %v, want %v", cert.Subject, tt.req.Subject)
			}
			if !slices.Equal(cert.DNSNames, tt.req.DNSNames) || len(cert.IPAddresses) != len(tt.req.IPAddresses) {
				t.Errorf("SANs = %v %v, want %v %v", cert.DNSNames, cert.IPAddresses, tt.req.DNSNames, tt.req.IPAddresses)
			}
			if !samePublic(cert.PublicKey, tt.key.Public()) {
				t.Error("certificate is not for the CSR's key")
			}
			want := tt.validity
			if want == 0 {
				want = 365 * 24 * time.Hour
			}
			if d := time.Until(cert.NotAfter) - want; d < -time.Minute || d > time.Minute {
				t.Errorf("NotAfter = %s, want about now + %s", cert.NotAfter, want)
			}
		})
	}
}

func TestSignRejectsBadRequests(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	tampered := newCSR(t, newKey(t), &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a"}})
	tampered.PublicKey = newKey(t).Public() // signature no longer matches

	tests := []struct {
		name   string
		csr    *x509.CertificateRequest
		usages []x509.ExtKeyUsage
	}{
		{name: "a nil request", csr: nil, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{name: "a request whose signature does not match its key", csr: tampered, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
		{name: "a request without usages", csr: newCSR(t, newKey(t), &x509.CertificateRequest{Subject: pkix.Name{CommonName: "a"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			t.Parallel()
			if _, err := ca.Sign(tt.csr, tt.usages, 0); err == nil {
				t.Error("Sign succeeded, want an error")
			}
		})
	}
}

// parseCert parses PEM that must hold exactly one certificate.
func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("want exactly one CERTIFICATE block, got %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parsing certificate: %v", err)
	}
	return cert
}
