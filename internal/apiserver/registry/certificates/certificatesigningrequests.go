package certificates

import (
	"context"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

func csrResource(now func() metav1.Time) registry.Resource {
	spec := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
	return registry.Resource{
		GVK:        certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"),
		Plural:     "certificatesigningrequests",
		Singular:   "certificatesigningrequest",
		ShortNames: []string{"csr"},
		Status:     true,
		Strategy:   csrStrategy{now: now},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				registry.AgeColumn,
				{Name: "SignerName", Type: "string", Description: spec["signerName"]},
				{Name: "Requestor", Type: "string", Description: spec["request"]},
				{Name: "RequestedDuration", Type: "string", Description: spec["expirationSeconds"]},
				{Name: "Condition", Type: "string", Description: certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]},
			},
			Row: csrRow,
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
		},
		// Upstream does not restrict CSR names beyond what a URL path segment allows.
		NameValidation: func(string, bool) []string { return nil },
	}
}

// csrStrategy is the main resource and /status; now stamps condition times.
type csrStrategy struct {
	registry.DefaultStrategy
	now func() metav1.Time
}

// PrepareForCreate replaces any client-supplied requester identity with the one in ctx
// (see WithRequester) and drops the status: requests are never created approved.
func (csrStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	SetRequester(csr, Requester{})
	if r, ok := requesterFrom(ctx); ok {
		SetRequester(csr, r)
	}
	csr.Status = certificatesv1.CertificateSigningRequestStatus{}
}

// PrepareForUpdate keeps spec and status: after creation a request changes only through
// /status and /approval.
func (csrStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec = *oldCSR.Spec.DeepCopy()
	csr.Status = *oldCSR.Status.DeepCopy()
}

// PrepareForStatusUpdate keeps the spec and the stored Approved/Denied conditions (changing
// those is /approval's business) and stamps missing condition times.
func (s csrStrategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	registry.KeepAllButStatus(csr, oldCSR)
	preserveConditions(csr, oldCSR, certificatesv1.CertificateApproved)
	preserveConditions(csr, oldCSR, certificatesv1.CertificateDenied)
	populateConditionTimestamps(csr, oldCSR, s.now())
}

// preserveConditions copies the stored conditions of type t over the new ones, when the
// update kept their number; added or removed ones are left for validation to reject.
func preserveConditions(csr, old *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) {
	oldIdx, newIdx := conditionIndices(old, t), conditionIndices(csr, t)
	if len(oldIdx) != len(newIdx) {
		return
	}
	for i, o := range oldIdx {
		csr.Status.Conditions[newIdx[i]] = *old.Status.Conditions[o].DeepCopy()
	}
}

func conditionIndices(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []int {
	var idx []int
	for i, c := range csr.Status.Conditions {
		if c.Type == t {
			idx = append(idx, i)
		}
	}
	return idx
}

// Validate checks a new request: a signed PKCS#10 request, usages, signer name and
// duration.
func (csrStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	return validateCSR(csr, optionsFor(csr, nil))
}

// ValidateUpdate checks an update of the main resource.
func (csrStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	return validateUpdate(csr, oldCSR, optionsFor(csr, oldCSR))
}

// ValidateStatusUpdate checks a /status update, which may set the certificate once.
func (csrStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	opts := optionsFor(csr, oldCSR)
	opts.allowSettingCertificate = true
	return validateUpdate(csr, oldCSR, opts)
}

// csrRow renders the requester, the requested duration and the condition summary
// ("Pending", "Approved,Issued", "Denied", ...).
func csrRow(obj runtime.Object, now time.Time) []any {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	signer := "<none>"
	if csr.Spec.SignerName != "" {
		signer = csr.Spec.SignerName
	}
	requested := "<none>"
	if s := csr.Spec.ExpirationSeconds; s != nil {
		requested = duration.HumanDuration(time.Duration(*s) * time.Second)
	}
	return []any{csr.Name, registry.Age(csr.CreationTimestamp, now), signer, csr.Spec.Username, requested, conditionSummary(csr)}
}

func conditionSummary(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	switch {
	case denied:
		status = "Denied"
	case approved:
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}
