// Package registry describes the resources the API server serves. A Resource names a kind
// (group, version, plural, scope, short names, categories) and carries its Strategy: the
// defaulting, validation and spec/status rules of that kind, its table columns and its
// field-selector fields. The sub-packages hold one package per API group and one file per
// resource.
//
// This package and its sub-packages are pure: they never perform I/O, never talk to etcd and
// never see HTTP. The generic store and handlers in internal/apiserver apply them.
package registry
