// Package certificates holds the strategies of certificates.k8s.io/v1:
// certificatesigningrequests with their /status and /approval subresources.
//
// It validates requests and guards who may change what: the requester's identity is set
// by the server (SetRequester or WithRequester), /approval only touches the Approved and
// Denied conditions (PrepareForApprovalUpdate, ValidateApprovalUpdate) and /status only
// the issued certificate and the other conditions. Approving and signing are controllers'
// jobs, never this package's.
package certificates
