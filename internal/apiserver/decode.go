package apiserver

import (
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// readBody reads a request body up to upstream's limit; a larger one is 413.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	return data, nil
}

// fieldValidation returns the request's fieldValidation directive: Strict, Warn or Ignore.
func fieldValidation(r *http.Request) (string, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "":
		return "Warn", nil
	case "Strict", "Warn", "Ignore":
		return v, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of Ignore, Warn or Strict, got %q", v))
	}
}

// decodeInto decodes data of the given content type into `into`, which must be of kind
// want. A body naming another apiVersion or kind is a 400; unknown or duplicate fields are
// a 400 with fieldValidation=Strict and a warning with Warn.
func (s *Server) decodeInto(w http.ResponseWriter, r *http.Request, data []byte, contentType string, want schema.GroupVersionKind, into runtime.Object) error {
	validation, err := fieldValidation(r)
	if err != nil {
		return err
	}
	dec, _, err := s.codecs.decoderFor(contentType, validation != "Ignore")
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return apierrors.NewBadRequest("the request body is empty")
	}
	obj, gvk, err := dec.Decode(data, &want, into)
	if err != nil {
		if !runtime.IsStrictDecodingError(err) {
			return apierrors.NewBadRequest(fmt.Sprintf("the body of the request could not be decoded as %s: %v", want.Kind, err))
		}
		if validation == "Strict" {
			return apierrors.NewBadRequest(err.Error())
		}
		strictErr, _ := runtime.AsStrictDecodingError(err)
		for _, e := range strictErr.Errors() {
			w.Header().Add("Warning", fmt.Sprintf("299 - %q", e))
		}
	}
	if obj != into {
		return apierrors.NewBadRequest(fmt.Sprintf("the body of the request is a %s, not a %s", gvk.Kind, want.Kind))
	}
	if gvk.GroupVersion() != want.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), want.GroupVersion()))
	}
	if gvk.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", gvk.Kind, want.Kind))
	}
	into.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return nil
}

// decodeBody reads the request body and decodes it into `into` (see decodeInto).
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, want schema.GroupVersionKind, into runtime.Object) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return s.decodeInto(w, r, data, r.Header.Get("Content-Type"), want, into)
}

// decodeOptions decodes DeleteOptions-like options from a body, falling back to the query.
func (s *Server) decodeOptions(r *http.Request, data []byte, into runtime.Object) error {
	if len(data) > 0 {
		dec, _, err := s.codecs.decoderFor(r.Header.Get("Content-Type"), false)
		if err != nil {
			return err
		}
		want := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := dec.Decode(data, &want, into); err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the body of the request could not be decoded as DeleteOptions: %v", err))
		}
		return nil
	}
	return s.decodeParams(r, into)
}
