package certificates

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// Resources returns every served certificates.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{csrResource(metav1.Now)}
}

// Requester is the authenticated user who creates a CertificateSigningRequest, as the
// authenticator saw it.
type Requester struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// SetRequester records r as the requester of csr (spec.username, uid, groups and extra),
// replacing whatever the client sent. The generic layer calls it on create, after
// PrepareForCreate, unless it passed the requester in the context (WithRequester).
func SetRequester(csr *certificatesv1.CertificateSigningRequest, r Requester) {
	csr.Spec.Username = r.Name
	csr.Spec.UID = r.UID
	csr.Spec.Groups = append([]string(nil), r.Groups...)
	csr.Spec.Extra = nil
	if len(r.Extra) > 0 {
		csr.Spec.Extra = make(map[string]certificatesv1.ExtraValue, len(r.Extra))
		for k, v := range r.Extra {
			csr.Spec.Extra[k] = append(certificatesv1.ExtraValue(nil), v...)
		}
	}
}

type requesterKey struct{}

// WithRequester returns a context carrying r; the strategy's PrepareForCreate records it
// as the requester of the new CertificateSigningRequest.
func WithRequester(ctx context.Context, r Requester) context.Context {
	return context.WithValue(ctx, requesterKey{}, r)
}

func requesterFrom(ctx context.Context) (Requester, bool) {
	r, ok := ctx.Value(requesterKey{}).(Requester)
	return r, ok
}

// PrepareForApprovalUpdate prepares an update through /approval: only status.conditions
// is taken from obj (with missing timestamps set to now); spec, status.certificate and the
// metadata a subresource may not change are kept from old.
func PrepareForApprovalUpdate(obj, old runtime.Object) {
	prepareForApprovalUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest), metav1.Now())
}

func prepareForApprovalUpdate(csr, old *certificatesv1.CertificateSigningRequest, now metav1.Time) {
	populateConditionTimestamps(csr, old, now)
	conditions := csr.Status.Conditions
	registry.KeepAllButStatus(csr, old)
	csr.Status = *old.Status.DeepCopy()
	csr.Status.Conditions = conditions
}

// ValidateApprovalUpdate checks an update through /approval: it may add, but never
// remove, Approved or Denied conditions (not both), and may not touch the certificate.
func ValidateApprovalUpdate(obj, old runtime.Object) field.ErrorList {
	csr, oldCSR := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	opts := optionsFor(csr, oldCSR)
	opts.allowSettingApprovalConditions = true
	return validateUpdate(csr, oldCSR, opts)
}

// populateConditionTimestamps sets unset lastUpdateTime to now and unset
// lastTransitionTime to the stored one of a same type and status condition, else now.
func populateConditionTimestamps(csr, old *certificatesv1.CertificateSigningRequest, now metav1.Time) {
	for i := range csr.Status.Conditions {
		c := &csr.Status.Conditions[i]
		if c.LastUpdateTime.IsZero() {
			c.LastUpdateTime = now
		}
		if !c.LastTransitionTime.IsZero() {
			continue
		}
		c.LastTransitionTime = now
		for _, oc := range old.Status.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status && !oc.LastTransitionTime.IsZero() {
				c.LastTransitionTime = oc.LastTransitionTime
				break
			}
		}
	}
}
