package fieldmanager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// FromOpenAPI builds the type converter from the /openapi/v3 documents an OpenAPI handler
// serves (the openapi package's), asked for in memory. The v3 documents are used because
// only they carry defaults, which key list items that leave a key field out.
func FromOpenAPI(h http.Handler) (*TypeConverter, error) {
	index, err := get(h, "/openapi/v3")
	if err != nil {
		return nil, err
	}
	var discovery struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(index, &discovery); err != nil {
		return nil, fmt.Errorf("fieldmanager: decoding /openapi/v3: %w", err)
	}
	paths := make([]string, 0, len(discovery.Paths))
	for p := range discovery.Paths {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	docs := make([][]byte, 0, len(paths))
	for _, p := range paths {
		doc, err := get(h, "/openapi/v3/"+p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return NewTypeConverter(docs...)
}

func get(h http.Handler, path string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	w := &memoryResponse{header: http.Header{}, code: http.StatusOK}
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK {
		return nil, fmt.Errorf("fieldmanager: %s answered %d: %.200s", path, w.code, w.body.Bytes())
	}
	return w.body.Bytes(), nil
}

// memoryResponse is an http.ResponseWriter that keeps the response in memory.
type memoryResponse struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (w *memoryResponse) Header() http.Header { return w.header }

func (w *memoryResponse) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
}

func (w *memoryResponse) Write(p []byte) (int, error) {
	w.wrote = true
	return w.body.Write(p)
}
