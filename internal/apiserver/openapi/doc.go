// Package openapi builds and serves the OpenAPI documents of the served resources:
// /openapi/v2 (swagger 2.0, JSON or protobuf) and /openapi/v3 (an index plus one document per
// group version, JSON or protobuf), the documents kubectl uses for explain, client-side
// validation and strategic merge patch.
//
// The schemas are generated from the Go types by reflection, the way upstream's openapi-gen
// generates them from source: definition names from the package path, descriptions from
// SwaggerDoc, required fields from omitempty, patch extensions from the struct tags. What only
// the source comments say (+optional, +listType, +enum, ...) comes from zz_generated.markers.go,
// which internal/markergen writes from the k8s.io/api sources.
//
// The package is pure apart from the HTTP handler: it keeps no global state and never performs
// I/O beyond writing responses.
package openapi

//go:generate go run ./internal/markergen -o zz_generated.markers.go
