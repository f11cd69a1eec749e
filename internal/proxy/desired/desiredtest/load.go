// Package desiredtest loads the inputs of golden tests: a multi-document YAML file of
// Services, EndpointSlices and at most one Node (this node). Tests only.
package desiredtest

import (
	"bufio"
	"bytes"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"capstan/internal/proxy/desired"
)

// Load reads path into an Input; the Node, if any, gives NodeName and NodeLabels.
func Load(t testing.TB, path string) desired.Input {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var in desired.Input
	dec := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := dec.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Service:
			in.Services = append(in.Services, o)
		case *discoveryv1.EndpointSlice:
			in.Slices = append(in.Slices, o)
		case *corev1.Node:
			in.NodeName, in.NodeLabels = o.Name, o.Labels
		default:
			t.Fatalf("%s: unexpected %T", path, obj)
		}
	}
	return in
}
