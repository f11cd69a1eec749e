package openapi

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/apiserver/registry"
)

// Media types of the documents, as upstream serves them. The "@" forms are what clients send;
// the responses carry the "." forms, like upstream.
const (
	MediaTypeV2Protobuf           = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	MediaTypeV2ProtobufDeprecated = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	MediaTypeV3Protobuf           = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"
	MediaTypeV3ProtobufDeprecated = "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
)

// Options configure a Handler.
type Options struct {
	// Scheme holds the Go types of the resources' kinds and list kinds (registry.NewScheme).
	// Required.
	Scheme *runtime.Scheme
	// Resources are the served resources; each kind and its <Kind>List must be in Scheme.
	Resources []registry.Resource
	// Version is the server version, the documents' info.version (e.g. "v1.37.2").
	Version string
}

// Handler serves /openapi/v2, /openapi/v3 and /openapi/v3/<group version path> (mount it at
// "/openapi/"; it reads the full request path). The documents are built on the first request
// that needs them and their encodings are cached for the life of the handler; NewHandler
// itself only checks the resources against the scheme, to keep start-up fast. Responses are
// not gzip-compressed here (upstream's v2 handler gzips itself); compression, if any, belongs
// to the server's filter chain.
type Handler struct {
	model   *model
	version string
	markers markerSource

	v2Once  sync.Once
	v2JSON  encoded
	v2Err   error
	v2PB    lazyBytes
	v3Once  sync.Once
	v3Index encoded
	v3Docs  map[string]*v3Doc
	v3Err   error
}

// encoded is one encoding of a document with its ETag (upper-case hex SHA-512 of the JSON,
// like upstream) and the time it was built.
type encoded struct {
	data    []byte
	etag    string
	modTime time.Time
}

type v3Doc struct {
	json encoded
	pb   lazyBytes
}

// lazyBytes converts a JSON document to protobuf once, on first use.
type lazyBytes struct {
	once sync.Once
	data []byte
	err  error
}

func (l *lazyBytes) get(convert func() ([]byte, error)) ([]byte, error) {
	l.once.Do(func() { l.data, l.err = convert() })
	return l.data, l.err
}

// NewHandler checks opts and returns a handler. No document is built yet.
func NewHandler(opts Options) (*Handler, error) {
	if opts.Scheme == nil {
		return nil, errors.New("openapi: Options.Scheme is required")
	}
	m, err := newModel(opts.Scheme, opts.Resources)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return &Handler{model: m, version: opts.Version, markers: defaultMarkers()}, nil
}

func newEncoded(data []byte, now time.Time) encoded {
	return encoded{data: data, etag: fmt.Sprintf("%X", sha512.Sum512(data)), modTime: now}
}

func (h *Handler) v2() (*encoded, error) {
	h.v2Once.Do(func() {
		sw, err := h.model.buildV2(h.version, h.markers)
		if err != nil {
			h.v2Err = err
			return
		}
		data, err := json.Marshal(sw)
		if err != nil {
			h.v2Err = fmt.Errorf("encoding OpenAPI v2: %w", err)
			return
		}
		h.v2JSON = newEncoded(data, time.Now())
	})
	return &h.v2JSON, h.v2Err
}

func (h *Handler) v3() error {
	h.v3Once.Do(func() {
		docs, err := h.model.buildV3(h.version, h.markers)
		if err != nil {
			h.v3Err = err
			return
		}
		now := time.Now()
		h.v3Docs = make(map[string]*v3Doc, len(docs))
		index := v3Discovery{Paths: map[string]v3DiscoveryGroupVersion{}}
		for gv, doc := range docs {
			data, err := json.Marshal(doc)
			if err != nil {
				h.v3Err = fmt.Errorf("encoding OpenAPI v3 %s: %w", gv, err)
				return
			}
			d := &v3Doc{json: newEncoded(data, now)}
			h.v3Docs[gv] = d
			index.Paths[gv] = v3DiscoveryGroupVersion{ServerRelativeURL: serverRelativeURL(gv, d.json.etag)}
		}
		data, err := json.Marshal(index)
		if err != nil {
			h.v3Err = err
			return
		}
		h.v3Index = newEncoded(data, now)
	})
	return h.v3Err
}

// v3Discovery is the /openapi/v3 index, kube-openapi's handler3.OpenAPIV3Discovery.
type v3Discovery struct {
	Paths map[string]v3DiscoveryGroupVersion `json:"paths"`
}

type v3DiscoveryGroupVersion struct {
	// ServerRelativeURL is /openapi/v3/<gv path>?hash=<etag>.
	ServerRelativeURL string `json:"serverRelativeURL"`
}

func serverRelativeURL(gv, etag string) string {
	u := url.URL{Path: path.Join("/openapi/v3", gv), RawQuery: url.Values{"hash": {etag}}.Encode()}
	return u.String()
}

// GroupVersions lists the paths of the v3 documents ("api/v1", "apis/apps/v1", ...).
func (h *Handler) GroupVersions() []string {
	out := make([]string, 0, len(h.model.gvs))
	for _, gv := range h.model.gvs {
		out = append(out, gvPath(gv))
	}
	sort.Strings(out)
	return out
}

// ServeHTTP serves GET and HEAD of /openapi/v2, /openapi/v3 and /openapi/v3/<gv path>.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			fmt.Sprintf("%s is not supported on %s", r.Method, r.URL.Path))
		return
	}
	switch p := strings.TrimSuffix(r.URL.Path, "/"); {
	case p == "/openapi/v2":
		h.serveV2(w, r)
	case p == "/openapi/v3":
		h.serveV3Index(w, r)
	case strings.HasPrefix(p, "/openapi/v3/"):
		h.serveV3(w, r, strings.TrimPrefix(p, "/openapi/v3/"))
	default:
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("the server could not find the requested resource %s", r.URL.Path))
	}
}

type offer struct {
	typ, subtype string
	contentType  string
}

// negotiate picks the first offer the Accept header allows, in the header's preference
// order; an empty header accepts anything.
func negotiate(r *http.Request, offers []offer) (offer, bool) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	for _, c := range goautoneg.ParseAccept(accept) {
		for _, o := range offers {
			if (c.Type == o.typ || c.Type == "*") && (c.SubType == o.subtype || c.SubType == "*") {
				return o, true
			}
		}
	}
	return offer{}, false
}

func subtypes(types ...string) []offer {
	out := make([]offer, 0, len(types))
	for _, t := range types {
		typ, sub, _ := strings.Cut(t, "/")
		ct := t
		if t == MediaTypeV2ProtobufDeprecated {
			ct = MediaTypeV2Protobuf
		}
		if t == MediaTypeV3ProtobufDeprecated {
			ct = MediaTypeV3Protobuf
		}
		out = append(out, offer{typ: typ, subtype: sub, contentType: ct})
	}
	return out
}

var (
	v2Offers = subtypes("application/json", MediaTypeV2ProtobufDeprecated, MediaTypeV2Protobuf)
	v3Offers = subtypes("application/json", MediaTypeV3Protobuf, MediaTypeV3ProtobufDeprecated)
)

func (h *Handler) serveV2(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	o, ok := negotiate(r, v2Offers)
	if !ok {
		notAcceptable(w, v2Offers)
		return
	}
	doc, err := h.v2()
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
		return
	}
	data := doc.data
	if o.contentType != "application/json" {
		data, err = h.v2PB.get(func() ([]byte, error) { return v2Protobuf(doc.data) })
		if err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
			return
		}
	}
	serve(w, r, o.contentType, doc.etag, doc.modTime, data)
}

func (h *Handler) serveV3Index(w http.ResponseWriter, r *http.Request) {
	if err := h.v3(); err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
		return
	}
	serve(w, r, "application/json", h.v3Index.etag, h.v3Index.modTime, h.v3Index.data)
}

func (h *Handler) serveV3(w http.ResponseWriter, r *http.Request, gv string) {
	w.Header().Add("Vary", "Accept")
	if err := h.v3(); err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
		return
	}
	doc, found := h.v3Docs[gv]
	if !found {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("no OpenAPI v3 document for %q", gv))
		return
	}
	o, ok := negotiate(r, v3Offers)
	if !ok {
		notAcceptable(w, v3Offers)
		return
	}
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != doc.json.etag {
			// A stale link from an old index: send the client to the current document.
			http.Redirect(w, r, serverRelativeURL(gv, doc.json.etag), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
	}
	data := doc.json.data
	if o.contentType != "application/json" {
		var err error
		data, err = doc.pb.get(func() ([]byte, error) { return v3Protobuf(doc.json.data) })
		if err != nil {
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
			return
		}
	}
	serve(w, r, o.contentType, doc.json.etag, doc.json.modTime, data)
}

// serve writes data with its ETag; http.ServeContent answers conditional requests (304).
// The JSON and protobuf encodings share the ETag, told apart by "Vary: Accept", as upstream.
func serve(w http.ResponseWriter, r *http.Request, contentType, etag string, modTime time.Time, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Etag", strconv.Quote(etag))
	http.ServeContent(w, r, "", modTime, bytes.NewReader(data))
}

func v2Protobuf(data []byte) ([]byte, error) {
	doc, err := openapi_v2.ParseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("converting OpenAPI v2 to protobuf: %w", err)
	}
	return proto.Marshal(doc)
}

func v3Protobuf(data []byte) ([]byte, error) {
	doc, err := openapi_v3.ParseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("converting OpenAPI v3 to protobuf: %w", err)
	}
	return proto.Marshal(doc)
}

func notAcceptable(w http.ResponseWriter, offers []offer) {
	types := make([]string, len(offers))
	for i, o := range offers {
		types[i] = o.typ + "/" + o.subtype
	}
	writeStatus(w, http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
		"only the following media types are accepted: "+strings.Join(types, ", "))
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reason,
		Code:     int32(code),
	}
	data, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}
