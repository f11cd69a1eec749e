package openapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDumpScratch(t *testing.T) {
	dir := os.Getenv("OPENAPI_DUMP")
	if dir == "" {
		t.Skip()
	}
	h := newTestHandler(t)
	v2, err := h.v2()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "swagger.json"), v2.data, 0o644)
	if err := h.v3(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "index.json"), h.v3Index.data, 0o644)
	for gv, d := range h.v3Docs {
		os.WriteFile(filepath.Join(dir, strings.ReplaceAll(gv, "/", "__")+".json"), d.json.data, 0o644)
	}
}
