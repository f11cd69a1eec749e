package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// patchType returns the patch type of a PATCH request; unsupported ones are 415.
func patchType(r *http.Request) (types.PatchType, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", unsupportedMediaType(r.Header.Get("Content-Type"))
	}
	switch pt := types.PatchType(mt); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType:
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
	case types.ApplyYAMLPatchType:
		// Server-side apply merges typed objects (servePatch); here only the scale
		// subresource would get one.
		return nil, unsupportedMediaType(string(pt))
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
	if pt == types.ApplyYAMLPatchType {
		return h.serveApply(ctx, w, r, info, mode, patch)
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

// serveApply serves a server-side apply (application/apply-patch+yaml): the configuration is
// merged into the live object by the field manager, which owns what it applies; an object
// that does not exist yet is created from it (201).
func (h *resourceHandler) serveApply(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo, mode updateMode, patch []byte) error {
	fm := h.fieldManager(info.Subresource)
	if fm == nil {
		return unsupportedMediaType(string(types.ApplyYAMLPatchType))
	}
	var config map[string]any
	if err := yaml.Unmarshal(patch, &config); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	if config == nil {
		return apierrors.NewBadRequest("error decoding YAML: the configuration is not an object")
	}
	validation, err := fieldValidation(r)
	if err != nil {
		return err
	}
	if validation != "Ignore" {
		if err := yaml.UnmarshalStrict(patch, &map[string]any{}); err != nil {
			if validation == "Strict" {
				return apierrors.NewBadRequest(fmt.Sprintf("error strict decoding YAML: %v", err))
			}
			w.Header().Add("Warning", fmt.Sprintf("299 - %q", fmt.Sprintf("error strict decoding YAML: %v", err)))
		}
	}
	q := r.URL.Query()
	manager := q.Get("fieldManager")
	force, _ := strconv.ParseBool(q.Get("force"))
	ctx = context.WithValue(ctx, fieldOwnerKey{}, fieldOwner{manager: manager, subresource: info.Subresource, applied: true})
	apply := func(live runtime.Object) (runtime.Object, error) {
		out := h.newObj()
		if err := fm.Apply(live, config, out, manager, force, h.s.clock.Now()); err != nil {
			return nil, err
		}
		return out, nil
	}
	for attempt := 0; ; attempt++ {
		out, created, err := h.update(ctx, info.Namespace, info.Name, mode, dryRun(r), apply)
		if apierrors.IsNotFound(err) && mode == modeMain {
			// Apply is create-or-update: apply to an empty object of the name.
			empty := h.newObj()
			if m, merr := meta.Accessor(empty); merr == nil {
				m.SetName(info.Name)
				m.SetNamespace(info.Namespace)
			}
			var obj runtime.Object
			if obj, err = apply(empty); err == nil {
				if m, merr := meta.Accessor(obj); merr == nil && m.GetName() != info.Name {
					return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), info.Name))
				}
				out, err = h.create(ctx, info.Namespace, obj, dryRun(r))
				created = err == nil
			}
			if apierrors.IsAlreadyExists(err) && attempt == 0 {
				continue // created meanwhile: apply to it
			}
		}
		if err != nil {
			return err
		}
		code := http.StatusOK
		if created {
			code = http.StatusCreated
		}
		h.s.writeObject(w, r, code, h.gv, out)
		return nil
	}
}
