package openapi

import (
	"encoding/json"
	"testing"

	"capstan/internal/apiserver/registry"
)

// The benchmarks measure what the first request of each kind costs: `make bench` records them.
//
//	go test ./internal/apiserver/openapi/ -run '^$' -bench . -benchmem

// BenchmarkNewHandler is the start-up cost: nothing is built until a request needs it.
func BenchmarkNewHandler(b *testing.B) {
	scheme := registry.NewScheme()
	resources := testResources()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewHandler(Options{Scheme: scheme, Resources: resources, Version: "v1.37.2"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildV2 builds and encodes /openapi/v2 (JSON), reporting its size.
func BenchmarkBuildV2(b *testing.B) {
	h := newTestHandler(b)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		sw, err := h.model.buildV2(h.version, h.markers)
		if err != nil {
			b.Fatal(err)
		}
		data, err := json.Marshal(sw)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "json-bytes")
}

// BenchmarkBuildV2Protobuf converts the v2 JSON to the protobuf kubectl asks for.
func BenchmarkBuildV2Protobuf(b *testing.B) {
	h := newTestHandler(b)
	doc, err := h.v2()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		pb, err := v2Protobuf(doc.data)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pb)
	}
	b.ReportMetric(float64(size), "pb-bytes")
}

// BenchmarkBuildV3 builds and encodes every /openapi/v3 document and the index.
func BenchmarkBuildV3(b *testing.B) {
	scheme := registry.NewScheme()
	resources := testResources()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		h, err := NewHandler(Options{Scheme: scheme, Resources: resources, Version: "v1.37.2"})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.v3(); err != nil {
			b.Fatal(err)
		}
		size = len(h.v3Index.data)
		for _, d := range h.v3Docs {
			size += len(d.json.data)
		}
	}
	b.ReportMetric(float64(size), "json-bytes")
}
