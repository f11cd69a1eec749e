package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// testPEM holds a request and a certificate generated once for all tests.
var testPEM = func() struct{ request, cert []byte } {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1"}}, key)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "n1"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return struct{ request, cert []byte }{
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
	}
}()

var fixedNow = metav1.NewTime(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))

func testStrategy() csrStrategy { return csrStrategy{now: func() metav1.Time { return fixedNow }} }

func validCSR() *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-csr-abc"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    testPEM.request,
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Username:   "system:node:n1",
		},
	}
}

func cond(t certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
	earlier := metav1.NewTime(fixedNow.Add(-time.Hour))
	return certificatesv1.CertificateSigningRequestCondition{Type: t, Status: corev1.ConditionTrue, Reason: "r",
		LastUpdateTime: earlier, LastTransitionTime: earlier}
}

func TestCSRIdentityAndFields(t *testing.T) {
	t.Parallel()
	r := findResource(t, "certificatesigningrequests")
	if r.GVK.String() != "certificates.k8s.io/v1, Kind=CertificateSigningRequest" || r.Namespaced || !r.Status || r.ShortNames[0] != "csr" {
		t.Errorf("identity: %+v", r)
	}
	if got := r.Fields(validCSR()); len(got) != 1 || got["spec.signerName"] != "kubernetes.io/kube-apiserver-client-kubelet" {
		t.Errorf("fields = %v", got)
	}
	if msgs := r.NameValidation("any name: really", false); len(msgs) != 0 {
		t.Errorf("name messages = %v", msgs)
	}
}

func TestCSRRequester(t *testing.T) {
	t.Parallel()
	s := testStrategy()
	t.Run("create replaces a client-supplied requester with the context's", func(t *testing.T) {
		t.Parallel()
		csr := validCSR()
		csr.Spec.Groups = []string{"system:masters"}
		csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}
		ctx := WithRequester(t.Context(), Requester{Name: "system:bootstrap:abc", UID: "u1",
			Groups: []string{"system:bootstrappers"}, Extra: map[string][]string{"scopes": {"a"}}})
		s.PrepareForCreate(ctx, csr)
		if csr.Spec.Username != "system:bootstrap:abc" || csr.Spec.UID != "u1" || len(csr.Spec.Groups) != 1 ||
			csr.Spec.Groups[0] != "system:bootstrappers" || csr.Spec.Extra["scopes"][0] != "a" {
			t.Errorf("spec = %+v", csr.Spec)
		}
		if len(csr.Status.Conditions) != 0 {
			t.Errorf("status = %+v", csr.Status)
		}
	})
	t.Run("create without a requester clears the client's claims", func(t *testing.T) {
		t.Parallel()
		csr := validCSR()
		csr.Spec.Extra = map[string]certificatesv1.ExtraValue{"x": {"y"}}
		s.PrepareForCreate(t.Context(), csr)
		if csr.Spec.Username != "" || csr.Spec.Groups != nil || csr.Spec.Extra != nil {
			t.Errorf("spec = %+v", csr.Spec)
		}
	})
	t.Run("SetRequester records the user", func(t *testing.T) {
		t.Parallel()
		csr := validCSR()
		SetRequester(csr, Requester{Name: "alice", Groups: []string{"devs"}})
		if csr.Spec.Username != "alice" || csr.Spec.Groups[0] != "devs" || csr.Spec.UID != "" || csr.Spec.Extra != nil {
			t.Errorf("spec = %+v", csr.Spec)
		}
	})
}

func TestCSRValidation(t *testing.T) {
	t.Parallel()
	s := testStrategy()
	cases := []struct {
		name   string
		mutate func(*certificatesv1.CertificateSigningRequest)
		want   []wantErr
	}{
		{name: "a signed request for a kubelet client certificate is valid", mutate: func(*certificatesv1.CertificateSigningRequest) {}},
		{name: "a request must be PEM", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("junk") },
			want: []wantErr{{"spec.request", field.ErrorTypeInvalid}}},
		{name: "a request must be a CERTIFICATE REQUEST block", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = testPEM.cert },
			want: []wantErr{{"spec.request", field.ErrorTypeInvalid}}},
		{name: "usages are required", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil },
			want: []wantErr{{"spec.usages", field.ErrorTypeRequired}}},
		{name: "an unknown usage is not supported", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages[1] = "world domination" },
			want: []wantErr{{"spec.usages[1]", field.ErrorTypeNotSupported}}},
		{name: "a usage may not repeat", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages[1] = c.Spec.Usages[0] },
			want: []wantErr{{"spec.usages[1]", field.ErrorTypeDuplicate}}},
		{name: "the signer name is required", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" },
			want: []wantErr{{"spec.signerName", field.ErrorTypeRequired}}},
		{name: "the signer name needs a domain and a path", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com" },
			want: []wantErr{{"spec.signerName", field.ErrorTypeInvalid}}},
		{name: "the signer domain needs two labels", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example/signer" },
			want: []wantErr{{"spec.signerName", field.ErrorTypeInvalid}}},
		{name: "the legacy signer is refused through v1", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "kubernetes.io/legacy-unknown" },
			want: []wantErr{{"spec.signerName", field.ErrorTypeInvalid}}},
		{name: "a duration under ten minutes is rejected", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = ptr.To[int32](599) },
			want: []wantErr{{"spec.expirationSeconds", field.ErrorTypeInvalid}}},
		{name: "a duration of ten minutes is valid", mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = ptr.To[int32](600) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			csr := validCSR()
			c.mutate(csr)
			checkErrs(t, s.Validate(t.Context(), csr), c.want...)
		})
	}
}

func TestCSRMainUpdateKeepsSpecAndStatus(t *testing.T) {
	t.Parallel()
	s := testStrategy()
	old := validCSR()
	old.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}
	csr := old.DeepCopy()
	csr.Labels = map[string]string{"a": "b"}
	csr.Spec.SignerName = "example.com/other"
	csr.Spec.Usages = nil
	csr.Status.Conditions = nil
	csr.Status.Certificate = testPEM.cert
	s.PrepareForUpdate(t.Context(), csr, old)
	if csr.Spec.SignerName != old.Spec.SignerName || len(csr.Spec.Usages) != 2 || len(csr.Status.Conditions) != 1 || len(csr.Status.Certificate) != 0 {
		t.Errorf("csr = %+v", csr)
	}
	if csr.Labels["a"] != "b" {
		t.Errorf("labels = %v", csr.Labels)
	}
	checkErrs(t, s.ValidateUpdate(t.Context(), csr, old))
}

func TestCSRStatusUpdate(t *testing.T) {
	t.Parallel()
	s := testStrategy()
	approved := func() *certificatesv1.CertificateSigningRequest {
		c := validCSR()
		c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}
		return c
	}
	t.Run("the signer may issue the certificate once", func(t *testing.T) {
		t.Parallel()
		old := approved()
		csr := old.DeepCopy()
		csr.Status.Certificate = testPEM.cert
		csr.Spec.SignerName = "example.com/other"
		s.PrepareForStatusUpdate(t.Context(), csr, old)
		if csr.Spec.SignerName != old.Spec.SignerName {
			t.Errorf("spec changed through /status")
		}
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), csr, old))
		again := csr.DeepCopy()
		again.Status.Certificate = append(append([]byte{}, testPEM.cert...), testPEM.cert...)
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), again, csr), wantErr{"status.certificate", field.ErrorTypeForbidden})
	})
	t.Run("the certificate must be PEM certificates", func(t *testing.T) {
		t.Parallel()
		old := approved()
		csr := old.DeepCopy()
		csr.Status.Certificate = testPEM.request
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), csr, old), wantErr{"status.certificate", field.ErrorTypeInvalid})
	})
	t.Run("the main resource may not set the certificate", func(t *testing.T) {
		t.Parallel()
		old := approved()
		csr := old.DeepCopy()
		csr.Status.Certificate = testPEM.cert
		checkErrs(t, s.ValidateUpdate(t.Context(), csr, old), wantErr{"status.certificate", field.ErrorTypeForbidden})
	})
	t.Run("/status keeps approval conditions and stamps new ones", func(t *testing.T) {
		t.Parallel()
		old := approved()
		csr := old.DeepCopy()
		csr.Status.Conditions[0].Reason = "changed"
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue})
		s.PrepareForStatusUpdate(t.Context(), csr, old)
		if csr.Status.Conditions[0].Reason != "r" || !csr.Status.Conditions[1].LastUpdateTime.Equal(&fixedNow) ||
			!csr.Status.Conditions[1].LastTransitionTime.Equal(&fixedNow) {
			t.Errorf("conditions = %+v", csr.Status.Conditions)
		}
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), csr, old))
	})
	t.Run("/status may not add an approval", func(t *testing.T) {
		t.Parallel()
		old := validCSR()
		csr := approved()
		s.PrepareForStatusUpdate(t.Context(), csr, old)
		checkErrs(t, s.ValidateStatusUpdate(t.Context(), csr, old), wantErr{"status.conditions", field.ErrorTypeForbidden})
	})
}

func TestCSRApproval(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		old, conds []certificatesv1.CertificateSigningRequestCondition
		want       []wantErr
	}{
		{name: "a pending request may be approved", conds: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}},
		{name: "a pending request may be denied", conds: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateDenied)}},
		{name: "approved and denied exclude each other",
			conds: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved), cond(certificatesv1.CertificateDenied)},
			want:  []wantErr{{"status.conditions", field.ErrorTypeInvalid}}},
		{name: "an approval may not be removed",
			old:  []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)},
			want: []wantErr{{"status.conditions", field.ErrorTypeForbidden}}},
		{name: "an approval must be True",
			conds: []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse}},
			want:  []wantErr{{"status.conditions[0].status", field.ErrorTypeNotSupported}}},
		{name: "a condition type may appear once",
			conds: []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved), cond(certificatesv1.CertificateApproved)},
			want:  []wantErr{{"status.conditions[1].type", field.ErrorTypeDuplicate}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			old := validCSR()
			old.Status.Conditions = c.old
			csr := old.DeepCopy()
			csr.Status.Conditions = c.conds
			PrepareForApprovalUpdate(csr, old)
			checkErrs(t, ValidateApprovalUpdate(csr, old), c.want...)
		})
	}
	t.Run("approval keeps spec and certificate and stamps the condition", func(t *testing.T) {
		t.Parallel()
		old := validCSR()
		csr := old.DeepCopy()
		csr.Spec.Usages = nil
		csr.Status.Certificate = testPEM.cert
		csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
		prepareForApprovalUpdate(csr, old, fixedNow)
		if len(csr.Spec.Usages) != 2 || len(csr.Status.Certificate) != 0 || !csr.Status.Conditions[0].LastUpdateTime.Equal(&fixedNow) {
			t.Errorf("csr = %+v", csr)
		}
	})
	t.Run("the main resource may not approve", func(t *testing.T) {
		t.Parallel()
		old := validCSR()
		csr := old.DeepCopy()
		csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}
		checkErrs(t, testStrategy().ValidateUpdate(t.Context(), csr, old), wantErr{"status.conditions", field.ErrorTypeForbidden})
	})
}

func TestCSRTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "certificatesigningrequests")
	var names []string
	for _, col := range r.Table.Columns {
		names = append(names, col.Name)
	}
	if got := strings.Join(names, ","); got != "Name,Age,SignerName,Requestor,RequestedDuration,Condition" {
		t.Errorf("columns = %s", got)
	}
	now := fixedNow.Time
	cases := []struct {
		name   string
		mutate func(*certificatesv1.CertificateSigningRequest)
		want   []any
	}{
		{name: "a new request is pending", mutate: func(*certificatesv1.CertificateSigningRequest) {},
			want: []any{"node-csr-abc", "2m", "kubernetes.io/kube-apiserver-client-kubelet", "system:node:n1", "<none>", "Pending"}},
		{name: "an issued request shows Approved,Issued and its duration", mutate: func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.ExpirationSeconds = ptr.To[int32](3600)
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{cond(certificatesv1.CertificateApproved)}
			c.Status.Certificate = testPEM.cert
		}, want: []any{"node-csr-abc", "2m", "kubernetes.io/kube-apiserver-client-kubelet", "system:node:n1", "60m", "Approved,Issued"}},
		{name: "denied wins over approved and failure is appended", mutate: func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
				cond(certificatesv1.CertificateApproved), cond(certificatesv1.CertificateDenied), cond(certificatesv1.CertificateFailed)}
			c.Spec.SignerName = ""
		}, want: []any{"node-csr-abc", "2m", "<none>", "system:node:n1", "<none>", "Denied,Failed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			csr := validCSR()
			csr.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Minute))
			c.mutate(csr)
			checkRow(t, r.Table.Row(csr, now), c.want)
		})
	}
}
