// Package serviceaccount is the serviceaccount-controller: it keeps a `default`
// ServiceAccount in every active namespace and recreates it when it is deleted. It does not
// issue tokens (that belongs to the API server's token request) and never touches a
// namespace being deleted.
package serviceaccount
