package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// patchType returns the patch type of a PATCH request; unsupported ones are 415.
func patchType(r *http.Request) (types.PatchType, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", unsupportedMediaType(r.Header.Get("Content-Type"))
	}
	switch pt := types.PatchType(mt); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
		return pt, nil
	default:
		return "", unsupportedMediaType(mt)
	}
}

// applyPatch applies a patch to the JSON of an object. dataStruct is the Go type, whose
// struct tags give strategic merge patch its merge keys.
func applyPatch(pt types.PatchType, original, patch []byte, dataStruct any) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if len(p) > 10000 {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("the allowed maximum operations in a JSON patch is 10000, got %d", len(p)))
		}
		out, err := p.Apply(original)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		out, err := jsonpatch.MergePatch(original, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	default:
		out, err := strategicpatch.StrategicMergePatch(original, patch, dataStruct)
		if err != nil {
			if mergepatch.IsPreconditionFailed(err) {
				return nil, apierrors.NewConflict(schema.GroupResource{}, "", err)
			}
			return nil, apierrors.NewBadRequest(err.Error())
		}
		return out, nil
	}
}

// encodeJSON encodes obj as the JSON a client would send for it (with apiVersion and kind).
func (s *Server) encodeJSON(obj runtime.Object, gv schema.GroupVersion) ([]byte, error) {
	var buf bytes.Buffer
	if err := s.codecs.factory.EncoderForVersion(s.codecs.json, gv).Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return buf.Bytes(), nil
}

func (h *resourceHandler) servePatch(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo, mode updateMode) error {
	pt, err := patchType(r)
	if err != nil {
		return err
	}
	patch, err := readBody(r)
	if err != nil {
		return err
	}
	if len(patch) == 0 {
		return apierrors.NewBadRequest("the request body is empty")
	}
	out, _, err := h.update(ctx, info.Namespace, info.Name, mode, dryRun(r), func(existing runtime.Object) (runtime.Object, error) {
		return h.patched(w, r, pt, patch, existing)
	})
	if err != nil {
		return err
	}
	h.s.writeObject(w, r, http.StatusOK, h.gv, out)
	return nil
}

// patched returns existing with the patch applied, decoded like a request body.
func (h *resourceHandler) patched(w http.ResponseWriter, r *http.Request, pt types.PatchType, patch []byte, existing runtime.Object) (runtime.Object, error) {
	original, err := h.s.encodeJSON(existing, h.gv)
	if err != nil {
		return nil, err
	}
	result, err := applyPatch(pt, original, patch, h.newObj())
	if err != nil {
		return nil, err
	}
	obj := h.newObj()
	if err := h.s.decodeInto(w, r, result, mediaJSON, h.res.GVK, obj); err != nil {
		return nil, err
	}
	return obj, nil
}
