package apiserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// writeObject encodes obj in the negotiated format with the given status code. gv is the
// group-version the object is served in (it sets apiVersion and kind).
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, code int, gv schema.GroupVersion, obj runtime.Object) {
	out, err := s.codecs.negotiateOutput(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeEncoded(w, r, code, out.info, gv, obj)
}

func (s *Server) writeEncoded(w http.ResponseWriter, r *http.Request, code int, info runtime.SerializerInfo, gv schema.GroupVersion, obj runtime.Object) {
	ser := info.Serializer
	if info.PrettySerializer != nil && r.URL.Query().Get("pretty") == "true" {
		ser = info.PrettySerializer
	}
	enc := s.codecs.factory.EncoderForVersion(ser, gv)
	var buf bytes.Buffer
	if err := enc.Encode(obj, &buf); err != nil {
		s.logger.Error("encoding response", "err", err, "path", r.URL.Path)
		writeStatusJSON(w, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)).Status())
		return
	}
	w.Header().Set("Content-Type", info.MediaType)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError answers with err as a metav1.Status. Errors that are not API errors are
// internal errors: they are logged, since bad input must never produce them.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := toStatus(err)
	if status.Code >= 500 && !errors.Is(err, context.Canceled) {
		s.logger.Error("request failed", "err", err, "method", r.Method, "path", r.URL.Path, "code", status.Code)
	}
	out, nerr := s.codecs.negotiateOutput(r, false)
	if nerr != nil || out.info.MediaType != mediaProtobuf {
		writeStatusJSON(w, status)
		return
	}
	s.writeEncoded(w, r, int(status.Code), out.info, metav1.SchemeGroupVersion, &status)
}

func toStatus(err error) metav1.Status {
	var api apierrors.APIStatus
	if errors.As(err, &api) {
		st := api.Status()
		if st.Code == 0 {
			st.Code = http.StatusInternalServerError
		}
		if st.Status == "" {
			st.Status = metav1.StatusFailure
		}
		return st
	}
	return apierrors.NewInternalError(err).Status()
}

func writeStatusJSON(w http.ResponseWriter, st metav1.Status) {
	st.Kind, st.APIVersion = "Status", "v1"
	data, err := jsonMarshal(&st)
	if err != nil {
		data = []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}`)
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(data)
}

var _ = slog.Default
