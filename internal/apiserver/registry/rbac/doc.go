// Package rbac holds the strategies of rbac.authorization.k8s.io/v1: roles, rolebindings,
// clusterroles and clusterrolebindings, one file per resource, plus rbac.go, the rule,
// subject and roleRef checks the four kinds share.
//
// It only describes the objects: it never evaluates a rule against a request (that is the
// authorizer's job) and never aggregates cluster roles (that is a controller's job; an
// aggregationRule is only validated and stored here).
package rbac
