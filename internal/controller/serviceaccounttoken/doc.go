// Package serviceaccounttoken is upstream's serviceaccount-token-controller (the tokens
// controller of kube-controller-manager). It fills Secrets of type
// kubernetes.io/service-account-token that name a ServiceAccount (annotation
// kubernetes.io/service-account.name) with a legacy token, the cluster CA (ca.crt) and the
// namespace, records the account's UID on them, deletes such Secrets whose account is gone
// (or was recreated), and drops deleted Secrets from their account's secrets list.
//
// Like upstream since 1.24 it never creates token Secrets on its own. It signs with the
// key it is given (--service-account-private-key-file) and does nothing else with it.
package serviceaccounttoken
