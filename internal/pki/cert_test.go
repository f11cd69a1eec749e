package pki_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"capstan/internal/pki"
)

// baseSpec is the spec most leaf tests start from.
func baseSpec() pki.CertSpec {
	return pki.CertSpec{
		CommonName:   "system:node:n1",
		Organization: []string{"system:nodes"},
		DNSNames:     []string{"n1", "n1.example"},
		IPs:          []net.IP{net.ParseIP("10.0.0.5"), net.ParseIP("fd00::5")},
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

func TestLoadOrIssueReusesOrReissues(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "cluster-ca")
	other := newCA(t, "other-ca")
	now := time.Now()

	tests := []struct {
		name      string
		setup     func(t *testing.T, dir string) // writes what is on disk before the call
		spec      func(s *pki.CertSpec)          // changes the spec asked for
		wantReuse bool
	}{
		{
			name:      "an unchanged certificate is reused",
			setup:     func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			wantReuse: true,
		},
		{
			name:  "reordered and repeated SANs and organizations still reuse it",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec: func(s *pki.CertSpec) {
				s.DNSNames = []string{"N1.example", "n1", "n1"}
				s.IPs = []net.IP{net.ParseIP("fd00::5"), net.IPv4(10, 0, 0, 5), net.ParseIP("10.0.0.5").To4()}
				s.Organization = []string{"system:nodes", "system:nodes"}
				s.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
			},
			wantReuse: true,
		},
		{
			name: "a certificate expiring in 60 days is reused",
			setup: func(t *testing.T, dir string) {
				writeLeaf(t, dir, "leaf", ca, baseSpec(), now.Add(-time.Hour), now.Add(60*24*time.Hour))
			},
			wantReuse: true,
		},
		{
			name:  "adding a DNS SAN reissues",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec:  func(s *pki.CertSpec) { s.DNSNames = append(s.DNSNames, "n1.new") },
		},
		{
			name:  "adding an IP SAN reissues",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec:  func(s *pki.CertSpec) { s.IPs = append(s.IPs, net.ParseIP("192.168.1.1")) },
		},
		{
			name:  "removing a SAN reissues",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec:  func(s *pki.CertSpec) { s.DNSNames = s.DNSNames[:1] },
		},
		{
			name:  "changing the common name reissues",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec:  func(s *pki.CertSpec) { s.CommonName = "system:node:n2" },
		},
		{
			name:  "changing the organizations reissues",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec:  func(s *pki.CertSpec) { s.Organization = []string{"system:masters"} },
		},
		{
			name:  "changing the usages reissues",
			setup: func(t *testing.T, dir string) { issueInto(t, ca, dir, baseSpec()) },
			spec:  func(s *pki.CertSpec) { s.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} },
		},
		{
			name:  "a certificate signed by another CA is reissued",
			setup: func(t *testing.T, dir string) { issueInto(t, other, dir, baseSpec()) },
		},
		{
			name: "a certificate expiring within 30 days is reissued",
			setup: func(t *testing.T, dir string) {
				writeLeaf(t, dir, "leaf", ca, baseSpec(), now.Add(-time.Hour), now.Add(10*24*time.Hour))
			},
		},
		{
			name: "an expired certificate is reissued",
			setup: func(t *testing.T, dir string) {
				writeLeaf(t, dir, "leaf", ca, baseSpec(), now.Add(-48*time.Hour), now.Add(-time.Hour))
			},
		},
		{
			name: "a key that does not match the certificate is reissued",
			setup: func(t *testing.T, dir string) {
				issueInto(t, ca, dir, baseSpec())
				writeFile(t, filepath.Join(dir, "leaf.key"), keyPEM(t, newKey(t)), 0o600)
			},
		},
		{
			name: "a missing key is reissued",
			setup: func(t *testing.T, dir string) {
				issueInto(t, ca, dir, baseSpec())
				must(t, os.Remove(filepath.Join(dir, "leaf.key")))
			},
		},
		{
			name:  "nothing on disk issues",
			setup: func(t *testing.T, dir string) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.setup(t, dir)
			before := snapshot(t, dir)
			spec := baseSpec()
			if tt.spec != nil {
				tt.spec(&spec)
			}

			kp, err := ca.LoadOrIssue(dir, "leaf", spec)
			if err != nil {
				t.Fatalf("LoadOrIssue: %v", err)
			}

			reused := before["leaf.crt"] != "" && string(kp.CertPEM) == before["leaf.crt"]
			if reused != tt.wantReuse {
				t.Fatalf("reused = %v, want %v", reused, tt.wantReuse)
			}
			if !bytes.Equal(kp.CertPEM, readFile(t, filepath.Join(dir, "leaf.crt"))) ||
				!bytes.Equal(kp.KeyPEM, readFile(t, filepath.Join(dir, "leaf.key"))) {
				t.Error("returned PEM differs from the files on disk")
			}
			assertLeafMatches(t, ca, kp, spec)
			assertOnlyFiles(t, dir, "leaf.crt", "leaf.key")
		})
	}
}

// issueInto stores a certificate for spec signed by signer as <dir>/leaf.*.
func issueInto(t *testing.T, signer *pki.CA, dir string, spec pki.CertSpec) {
	t.Helper()
	if _, err := signer.LoadOrIssue(dir, "leaf", spec); err != nil {
		t.Fatalf("LoadOrIssue: %v", err)
	}
}

// assertLeafMatches checks that kp is a usable pair, signed by ca, that carries
// spec's identity and usages.
func assertLeafMatches(t *testing.T, ca *pki.CA, kp *pki.KeyPair, spec pki.CertSpec) {
	t.Helper()
	leaf := kp.TLS.Leaf
	if leaf == nil {
		t.Fatal("TLS.Leaf is nil")
	}
	if _, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM); err != nil {
		t.Errorf("CertPEM and KeyPEM are not a pair: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: spec.Usages}); err != nil {
		t.Errorf("leaf does not verify against the CA: %v", err)
	}
	if leaf.Subject.CommonName != spec.CommonName {
		t.Errorf("CN = %q, want %q", leaf.Subject.CommonName, spec.CommonName)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	for _, name := range spec.DNSNames {
		if !slices.ContainsFunc(leaf.DNSNames, func(s string) bool { return strings.EqualFold(s, name) }) {
			t.Errorf("DNS SAN %q missing from %v", name, leaf.DNSNames)
		}
	}
	for _, ip := range spec.IPs {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			t.Errorf("IP SAN %s missing from %v", ip, leaf.IPAddresses)
		}
	}
	if time.Until(leaf.NotAfter) < 30*24*time.Hour {
		t.Errorf("leaf expires at %s, too soon", leaf.NotAfter)
	}
}

func TestLoadOrIssueWritesFilesWithTheRightModes(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	dir := filepath.Join(t.TempDir(), "tls", "new")
	if _, err := ca.LoadOrIssue(dir, "serving", baseSpec()); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, "serving.key"), 0o600)
	assertMode(t, filepath.Join(dir, "serving.crt"), 0o644)
}

func TestLoadOrIssueRefusesUnparseableFiles(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	tests := []struct {
		name     string
		file     string
		content  string
		wantText string
	}{
		{name: "a garbage certificate is an error", file: "leaf.crt", content: "garbage", wantText: "leaf.crt"},
		{name: "a garbage key is an error", file: "leaf.key", content: "garbage", wantText: "leaf.key"},
		{
			name:     "a certificate block with garbage inside is an error",
			file:     "leaf.crt",
			content:  "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			wantText: "parsing certificate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			issueInto(t, ca, dir, baseSpec())
			writeFile(t, filepath.Join(dir, tt.file), []byte(tt.content), 0o600)

			_, err := ca.LoadOrIssue(dir, "leaf", baseSpec())
			if err == nil {
				t.Fatal("LoadOrIssue succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), `"leaf"`) {
				t.Errorf("error %q should name the certificate and contain %q", err, tt.wantText)
			}
		})
	}
}

func TestIssueRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	tests := []struct {
		name string
		spec pki.CertSpec
	}{
		{name: "an empty common name", spec: pki.CertSpec{Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}},
		{name: "no usages", spec: pki.CertSpec{CommonName: "x"}},
		{name: "a negative validity", spec: pki.CertSpec{CommonName: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: -time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is rejected", func(t *testing.T) {
			t.Parallel()
			if _, err := ca.Issue(tt.spec); err == nil {
				t.Error("Issue succeeded, want an error")
			}
		})
	}
}

func TestIssueValidity(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	tests := []struct {
		name     string
		validity time.Duration
		want     func() time.Time
	}{
		{name: "zero means one year", validity: 0, want: func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }},
		{name: "an explicit validity is honoured", validity: 48 * time.Hour, want: func() time.Time { return time.Now().Add(48 * time.Hour) }},
		{name: "a validity past the CA's is capped at the CA's", validity: 50 * 365 * 24 * time.Hour, want: func() time.Time { return ca.Cert.NotAfter }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kp, err := ca.Issue(pki.CertSpec{CommonName: "x", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: tt.validity})
			if err != nil {
				t.Fatal(err)
			}
			if d := kp.TLS.Leaf.NotAfter.Sub(tt.want()); d < -time.Minute || d > time.Minute {
				t.Errorf("NotAfter = %s, want about %s", kp.TLS.Leaf.NotAfter, tt.want())
			}
		})
	}
}

// TestServingCertificateCompletesATLSHandshake runs a handshake over an
// in-memory pipe, as a client of the kubernetes Service would.
func TestServingCertificateCompletesATLSHandshake(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "ca")
	kp, err := ca.Issue(pki.ServingCertSpec("node1", nil, nil, net.ParseIP("10.43.0.1")))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("CertPEM holds no certificate")
	}

	serverConn, clientConn := net.Pipe()
	defer serverConn.Close()
	defer clientConn.Close()
	server := tls.Server(serverConn, &tls.Config{Certificates: []tls.Certificate{kp.TLS}})
	client := tls.Client(clientConn, &tls.Config{RootCAs: pool, ServerName: "kubernetes.default.svc"})

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- server.HandshakeContext(ctx) }()
	if err := client.HandshakeContext(ctx); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
}
