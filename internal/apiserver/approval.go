package apiserver

import (
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// approvalUpdate lets certificatesigningrequests/approval change only the approval
// conditions; everything else is kept from the stored object.
func approvalUpdate(obj, old runtime.Object) field.ErrorList {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	conditions := csr.Status.Conditions
	*csr = *oldCSR.DeepCopy()
	csr.Status.Conditions = conditions
	var errs field.ErrorList
	approved, denied := false, false
	for i, c := range conditions {
		p := field.NewPath("status", "conditions").Index(i)
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
		default:
			errs = append(errs, field.NotSupported(p.Child("type"), c.Type, []string{string(certificatesv1.CertificateApproved), string(certificatesv1.CertificateDenied), string(certificatesv1.CertificateFailed)}))
		}
	}
	if approved && denied {
		errs = append(errs, field.Invalid(field.NewPath("status", "conditions"), conditions, "Approved and Denied conditions are mutually exclusive"))
	}
	return errs
}
