package apiserver

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// codecs holds the serializers the server reads and writes. Built once per server.
type codecs struct {
	scheme  *runtime.Scheme
	factory serializer.CodecFactory
	// strict decoders by media type, for fieldValidation=Strict (kubectl's default).
	strictJSON, strictYAML, json, yaml runtime.Serializer
	protobuf                           runtime.Serializer
	// storage encodes values for etcd: protobuf with the k8s envelope.
	storage runtime.Codec
}

func newCodecs(scheme *runtime.Scheme) *codecs {
	f := serializer.NewCodecFactory(scheme)
	mk := func(yaml, strict bool) runtime.Serializer {
		return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
			json.SerializerOptions{Yaml: yaml, Strict: strict})
	}
	pb := protobuf.NewSerializer(scheme, scheme)
	return &codecs{
		scheme:     scheme,
		factory:    f,
		strictJSON: mk(false, true),
		strictYAML: mk(true, true),
		json:       mk(false, false),
		yaml:       mk(true, false),
		protobuf:   pb,
		storage:    pb,
	}
}

// output is the negotiated response format.
type output struct {
	info runtime.SerializerInfo
	// as is "", "Table", "PartialObjectMetadata" or "PartialObjectMetadataList".
	as string
}

// negotiateOutput picks the response format from the Accept header as upstream does: the
// first acceptable entry wins; none acceptable is 406.
func (c *codecs) negotiateOutput(r *http.Request, allowAs bool) (output, error) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	for _, entry := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(entry))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			mt = mediaJSON
		}
		info, ok := c.serializerFor(mt)
		if !ok {
			continue
		}
		as := params["as"]
		if as != "" {
			if !allowAs || params["g"] != "meta.k8s.io" || params["v"] != "v1" {
				continue
			}
			switch as {
			case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
			default:
				continue
			}
			if as == "Table" && mt == mediaProtobuf {
				continue
			}
		}
		return output{info: info, as: as}, nil
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "", fmt.Sprintf("only the following media types are accepted: %s", strings.Join(c.mediaTypes(), ", ")), 0, false)
}

func (c *codecs) serializerFor(mt string) (runtime.SerializerInfo, bool) {
	for _, info := range c.factory.SupportedMediaTypes() {
		if info.MediaType == mt {
			return info, true
		}
	}
	return runtime.SerializerInfo{}, false
}

func (c *codecs) mediaTypes() []string {
	var out []string
	for _, info := range c.factory.SupportedMediaTypes() {
		out = append(out, info.MediaType)
	}
	return out
}

// decoderFor returns the body decoder for a Content-Type, strict or not; 415 otherwise.
func (c *codecs) decoderFor(contentType string, strict bool) (runtime.Decoder, string, error) {
	mt := mediaJSON
	if contentType != "" {
		var err error
		mt, _, err = mime.ParseMediaType(contentType)
		if err != nil {
			return nil, "", unsupportedMediaType(contentType)
		}
	}
	switch mt {
	case mediaJSON:
		if strict {
			return c.strictJSON, mt, nil
		}
		return c.json, mt, nil
	case mediaYAML:
		if strict {
			return c.strictYAML, mt, nil
		}
		return c.yaml, mt, nil
	case mediaProtobuf:
		return c.protobuf, mt, nil
	}
	return nil, "", unsupportedMediaType(contentType)
}

// unsupportedMediaType is upstream's 415 for a body in a media type the server cannot read.
func unsupportedMediaType(mt string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(acceptedBodyTypes, ", ")),
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeFieldValueNotSupported, Message: fmt.Sprintf("media type %q is not supported", mt)}}},
	}}
}

var acceptedBodyTypes = []string{mediaJSON, mediaYAML, mediaProtobuf}
