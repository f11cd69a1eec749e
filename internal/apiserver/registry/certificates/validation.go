package certificates

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// legacyUnknownSignerName is the v1beta1 default signer, not accepted through v1.
const legacyUnknownSignerName = "kubernetes.io/legacy-unknown"

var (
	validUsages = []string{
		"any", "cert sign", "client auth", "code signing", "content commitment", "crl sign",
		"data encipherment", "decipher only", "digital signature", "email protection",
		"encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
		"key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime",
		"server auth", "signing", "timestamping",
	}
	conditionStatuses = []string{string(corev1.ConditionFalse), string(corev1.ConditionTrue), string(corev1.ConditionUnknown)}
	trueOnly          = []string{string(corev1.ConditionTrue)}
	conditionsPath    = field.NewPath("status", "conditions")
)

// csrOptions are what an update path may change and which old flaws the stored object may
// keep (upstream tolerates them in updates so that old objects stay updatable).
type csrOptions struct {
	allowSettingApprovalConditions bool
	allowSettingCertificate        bool

	allowBothApprovedAndDenied bool
	allowLegacySignerName      bool
	allowDuplicateConditions   bool
	allowEmptyConditionType    bool
	allowArbitraryCertificate  bool
	allowUnknownUsages         bool
	allowDuplicateUsages       bool
}

// optionsFor derives the tolerated flaws from old (nil on create).
func optionsFor(csr, old *certificatesv1.CertificateSigningRequest) csrOptions {
	if old == nil {
		return csrOptions{}
	}
	approved, denied := len(conditionIndices(old, certificatesv1.CertificateApproved)) > 0, len(conditionIndices(old, certificatesv1.CertificateDenied)) > 0
	seenTypes := map[certificatesv1.RequestConditionType]bool{}
	var opts csrOptions
	for _, c := range old.Status.Conditions {
		opts.allowDuplicateConditions = opts.allowDuplicateConditions || seenTypes[c.Type]
		opts.allowEmptyConditionType = opts.allowEmptyConditionType || c.Type == ""
		seenTypes[c.Type] = true
	}
	seenUsages := map[certificatesv1.KeyUsage]bool{}
	for _, u := range old.Spec.Usages {
		opts.allowUnknownUsages = opts.allowUnknownUsages || !contains(validUsages, string(u))
		opts.allowDuplicateUsages = opts.allowDuplicateUsages || seenUsages[u]
		seenUsages[u] = true
	}
	opts.allowBothApprovedAndDenied = approved && denied
	opts.allowLegacySignerName = old.Spec.SignerName == legacyUnknownSignerName
	opts.allowArbitraryCertificate = bytes.Equal(csr.Status.Certificate, old.Status.Certificate) ||
		checkCertificate(old.Status.Certificate) != nil
	return opts
}

// validateCSR checks a request in full, spec and status.
func validateCSR(csr *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	if err := checkRequest(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(specPath.Child("request"), csr.Spec.Request, err.Error()))
	}
	errs = append(errs, validateUsages(csr.Spec.Usages, specPath.Child("usages"), opts)...)
	if !opts.allowLegacySignerName && csr.Spec.SignerName == legacyUnknownSignerName {
		errs = append(errs, field.Invalid(specPath.Child("signerName"), csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, ValidateSignerName(specPath.Child("signerName"), csr.Spec.SignerName)...)
	}
	if s := csr.Spec.ExpirationSeconds; s != nil && *s < 600 {
		errs = append(errs, field.Invalid(specPath.Child("expirationSeconds"), *s, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	errs = append(errs, validateConditions(csr.Status.Conditions, opts)...)
	if !opts.allowArbitraryCertificate {
		if err := checkCertificate(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), "<certificate data>", err.Error()))
		}
	}
	return errs
}

// checkRequest parses a PEM "CERTIFICATE REQUEST" and checks its self-signature.
func checkRequest(data []byte) error {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// checkCertificate accepts nothing, or one or more PEM CERTIFICATE blocks without headers.
func checkCertificate(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	blocks := 0
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return errors.New("found CERTIFICATE PEM block containing 0 certificates")
		}
		blocks++
		data = rest
	}
	if blocks == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

func validateUsages(usages []certificatesv1.KeyUsage, fldPath *field.Path, opts csrOptions) field.ErrorList {
	var errs field.ErrorList
	if len(usages) == 0 {
		errs = append(errs, field.Required(fldPath, ""))
	}
	seen := map[certificatesv1.KeyUsage]bool{}
	for i, u := range usages {
		if !opts.allowUnknownUsages && !contains(validUsages, string(u)) {
			errs = append(errs, field.NotSupported(fldPath.Index(i), u, validUsages))
		}
		if !opts.allowDuplicateUsages && seen[u] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), u))
		}
		seen[u] = true
	}
	return errs
}

// validateConditions checks types and statuses; Approved, Denied and Failed may only be
// True, and Approved and Denied exclude each other.
func validateConditions(conditions []certificatesv1.CertificateSigningRequestCondition, opts csrOptions) field.ErrorList {
	var errs field.ErrorList
	seen := map[certificatesv1.RequestConditionType]bool{}
	var approved, denied bool
	for i, c := range conditions {
		idx := conditionsPath.Index(i)
		if !opts.allowEmptyConditionType && c.Type == "" {
			errs = append(errs, field.Required(idx.Child("type"), ""))
		}
		allowed := conditionStatuses
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			allowed = trueOnly
		}
		if c.Status == "" {
			errs = append(errs, field.Required(idx.Child("status"), ""))
		} else if !contains(allowed, string(c.Status)) {
			errs = append(errs, field.NotSupported(idx.Child("status"), c.Status, allowed))
		}
		approved = approved || c.Type == certificatesv1.CertificateApproved
		denied = denied || c.Type == certificatesv1.CertificateDenied
		if !opts.allowBothApprovedAndDenied && approved && denied &&
			(c.Type == certificatesv1.CertificateApproved || c.Type == certificatesv1.CertificateDenied) {
			errs = append(errs, field.Invalid(conditionsPath, c.Type, "Approved and Denied conditions are mutually exclusive"))
		}
		if !opts.allowDuplicateConditions && seen[c.Type] {
			errs = append(errs, field.Duplicate(idx.Child("type"), c.Type))
		}
		seen[c.Type] = true
	}
	return errs
}

// validateUpdate checks the new object and what the update path may change: decision
// conditions are never removed, Approved and Denied change only through /approval and
// the certificate only through /status, once.
func validateUpdate(csr, old *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	errs := validateCSR(csr, opts)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if len(conditionIndices(csr, t)) < len(conditionIndices(old, t)) {
			errs = append(errs, field.Forbidden(conditionsPath, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !opts.allowSettingApprovalConditions {
		for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
			oldConds, newConds := conditionsOf(old, t), conditionsOf(csr, t)
			switch {
			case len(newConds) < len(oldConds):
			case len(newConds) > len(oldConds):
				errs = append(errs, field.Forbidden(conditionsPath, fmt.Sprintf("updates may not add a condition of type %q", t)))
			case !equality.Semantic.DeepEqual(oldConds, newConds):
				errs = append(errs, field.Forbidden(conditionsPath, fmt.Sprintf("updates may not modify a condition of type %q\n%v", t, diff.Diff(oldConds, newConds))))
			}
		}
	}
	if !bytes.Equal(csr.Status.Certificate, old.Status.Certificate) {
		certPath := field.NewPath("status", "certificate")
		if !opts.allowSettingCertificate {
			errs = append(errs, field.Forbidden(certPath, "updates may not set certificate content"))
		} else if len(old.Status.Certificate) > 0 {
			errs = append(errs, field.Forbidden(certPath, "updates may not modify existing certificate content"))
		}
	}
	return errs
}

func conditionsOf(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

// ValidateSignerName checks a signer name: "<domain>/<path>", the domain being at least two
// DNS labels and the path DNS subdomains separated by dots. Shared with other kinds that
// name signers (e.g. ClusterTrustBundles).
func ValidateSignerName(fldPath *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	segments := strings.Split(name, "/")
	if len(segments) != 2 {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	domain, path := segments[0], segments[1]
	var errs field.ErrorList
	if len(domain) > utilvalidation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(fldPath, "", utilvalidation.DNS1123SubdomainMaxLength))
	}
	domainLabels := strings.Split(domain, ".")
	errs = append(errs, firstLabelErrors(fldPath, domain, domainLabels, utilvalidation.IsDNS1123Label)...)
	if len(domainLabels) < 2 {
		errs = append(errs, field.Invalid(fldPath, domain, "should be a domain with at least two segments separated by dots"))
	}
	errs = append(errs, firstLabelErrors(fldPath, path, strings.Split(path, "."), utilvalidation.IsDNS1123Subdomain)...)
	maxPath := utilvalidation.DNS1123SubdomainMaxLength + utilvalidation.DNS1123LabelMaxLength + 1
	if maxName := utilvalidation.DNS1123SubdomainMaxLength + maxPath + 1; len(name) > maxName {
		errs = append(errs, field.TooLong(fldPath, "", maxName))
	}
	return errs
}

// firstLabelErrors reports the problems of the first bad label only: later ones would
// repeat the same messages.
func firstLabelErrors(fldPath *field.Path, segment string, labels []string, check func(string) []string) field.ErrorList {
	var errs field.ErrorList
	for _, l := range labels {
		msgs := check(l)
		for _, msg := range msgs {
			errs = append(errs, field.Invalid(fldPath, segment, fmt.Sprintf("validating label %q: %s", l, msg)))
		}
		if len(msgs) > 0 {
			break
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
