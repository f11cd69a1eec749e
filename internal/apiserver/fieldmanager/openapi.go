package fieldmanager

import (
	"bytes"
	"fmt"
	"net/http"
)

// FromOpenAPI builds the type converter from the /openapi/v2 document an OpenAPI handler
// serves (the openapi package's), asked for in memory. The v2 document holds every
// definition once, with the same list and map extensions as the v3 ones.
func FromOpenAPI(h http.Handler) (*TypeConverter, error) {
	req, err := http.NewRequest(http.MethodGet, "/openapi/v2", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	w := &memoryResponse{header: http.Header{}, code: http.StatusOK}
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK {
		return nil, fmt.Errorf("fieldmanager: /openapi/v2 answered %d: %.200s", w.code, w.body.Bytes())
	}
	return NewTypeConverter(w.body.Bytes())
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
