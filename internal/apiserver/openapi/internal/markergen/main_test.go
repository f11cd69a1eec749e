package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFileIsCurrent regenerates the marker table from the module sources in the
// module cache and compares it with the committed file.
func TestGeneratedFileIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the k8s.io/api sources")
	}
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../zz_generated.markers.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("zz_generated.markers.go is stale: run go generate ./internal/apiserver/openapi/")
	}
}

func TestDescription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"joins lines", []string{"Pod is a", "collection."}, "Pod is a collection."},
		{"keeps paragraphs", []string{"One.", "", "Two."}, "One.\n\nTwo."},
		{"drops markers and TODOs", []string{"Text.", "+optional", "TODO: later", "+listType=map"}, "Text."},
		{"keeps indented blocks", []string{"Example:", "\tfoo: bar", "End."}, "Example:\n\tfoo: bar\nEnd."},
		{"stops at ---", []string{"Shown.", "---", "Hidden."}, "Shown."},
	}
	for _, tt := range tests {
		if got := description(tt.lines); got != tt.want {
			t.Errorf("%s: description = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEnumDescription(t *testing.T) {
	t.Parallel()
	got := enumDescription([]enumValue{
		{name: "PullNever", value: "Never", comment: "PullNever means that the kubelet never pulls an image,\nbut only uses a local image."},
		{name: "PullAlways", value: "Always", comment: ""},
	})
	want := "Possible enum values:\n - `\"Always\"`\n - `\"Never\"` means that the kubelet never pulls an image, but only uses a local image."
	if got != want {
		t.Errorf("enumDescription = %q, want %q", got, want)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	got := tags([]string{"+listType=map", " +listMapKey=a", "+listMapKey=b", "+optional", "not a marker"})
	if len(got) != 3 || got["listType"][0] != "map" || len(got["listMapKey"]) != 2 || got["optional"][0] != "" {
		t.Errorf("tags = %v", got)
	}
}
