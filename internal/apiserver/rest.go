package apiserver

import (
	"context"
	"fmt"
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
	"capstan/internal/storage"
)

// resourceHandler serves one resource with the generic store logic and its strategy.
type resourceHandler struct {
	s     *Server
	res   registry.Resource
	gv    schema.GroupVersion
	store *storage.Store
	verbs []string
	// New and NewList make empty objects of the kind.
	newObj, newList func() runtime.Object
	// hooks of the few kinds with behaviour beyond a strategy (service allocation, ...).
	hooks kindHooks
	// unstored, when set, serves a resource that is never stored (the reviews): it has no
	// store and answers creates only.
	unstored func(ctx context.Context, w http.ResponseWriter, r *http.Request) error
}

func registryGR(resource string) schema.GroupResource {
	return schema.GroupResource{Resource: resource}
}

func (h *resourceHandler) gr() schema.GroupResource { return h.res.GroupResource() }

func (h *resourceHandler) key(ns, name string) string { return h.store.Key(ns, name) }

// subresources lists the discovery entries below the resource.
func (h *resourceHandler) subresources() []subresource {
	var out []subresource
	g, v, k := h.res.GVK.Group, h.res.GVK.Version, h.res.GVK.Kind
	switch h.res.Plural {
	case "pods":
		out = append(out, subresource{"attach", "", "v1", "PodAttachOptions", []string{"create", "get"}},
			subresource{"binding", "", "v1", "Binding", []string{"create"}},
			subresource{"eviction", "policy", "v1", "Eviction", []string{"create"}},
			subresource{"exec", "", "v1", "PodExecOptions", []string{"create", "get"}},
			subresource{"log", "", "v1", "Pod", []string{"get"}},
			subresource{"portforward", "", "v1", "PodPortForwardOptions", []string{"create", "get"}})
	case "nodes":
		out = append(out, subresource{"proxy", "", "v1", "NodeProxyOptions", []string{"create", "delete", "get", "patch", "update"}})
	case "namespaces":
		out = append(out, subresource{"finalize", "", "v1", "Namespace", []string{"update"}})
	case "serviceaccounts":
		if h.s.tokenIssuer != nil {
			out = append(out, subresource{"token", "authentication.k8s.io", "v1", "TokenRequest", []string{"create"}})
		}
	case "certificatesigningrequests":
		out = append(out, subresource{"approval", g, v, k, []string{"get", "patch", "update"}})
	}
	if h.res.Scale != nil {
		out = append(out, subresource{"scale", "autoscaling", "v1", "Scale", []string{"get", "patch", "update"}})
	}
	if h.res.Status {
		out = append(out, subresource{"status", g, v, k, []string{"get", "patch", "update"}})
	}
	return out
}

func (h *resourceHandler) hasSubresource(name string) bool {
	for _, s := range h.subresources() {
		if s.name == name {
			return true
		}
	}
	return false
}

// serveAPI routes a request below /api or /apis.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	info := parseRequestInfo(r)
	if info.Version == "" || len(info.Parts) == 0 {
		s.serveGroupDiscovery(w, r, info)
		return
	}
	h := s.handlers[info.Group+"/"+info.Version+"/"+info.Resource]
	if h == nil || (h.res.Namespaced == false && info.Namespace != "") ||
		(info.Subresource != "" && !h.hasSubresource(info.Subresource)) ||
		(len(info.Parts) > 5 && (h.res.Plural != "nodes" || info.Subresource != "proxy")) {
		writeStatusJSON(w, notFoundPath(r.URL.Path))
		return
	}
	if info.Namespace == "" && h.res.Namespaced && info.Name != "" {
		writeStatusJSON(w, notFoundPath(r.URL.Path))
		return
	}
	if err := h.s.validateWriteOptions(r, info.Verb); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	if h.unstored != nil {
		s.serveUnstored(ctx, w, r, h, info)
		return
	}
	if info.Verb == "create" || info.Verb == "update" || info.Verb == "patch" {
		ctx = withFieldOwner(ctx, r, info.Subresource)
	}
	var err error
	switch {
	case info.Subresource != "":
		err = h.serveSubresource(ctx, w, r, info)
	case info.Verb == "get":
		err = h.serveGet(ctx, w, r, info)
	case info.Verb == "list":
		err = h.serveList(ctx, w, r, info)
	case info.Verb == "watch":
		err = h.serveWatch(ctx, w, r, info)
	case info.Verb == "create":
		err = h.serveCreate(ctx, w, r, info)
	case info.Verb == "update":
		err = h.serveUpdate(ctx, w, r, info)
	case info.Verb == "patch":
		err = h.servePatch(ctx, w, r, info, modeMain)
	case info.Verb == "delete":
		err = h.serveDelete(ctx, w, r, info)
	case info.Verb == "deletecollection":
		err = h.serveDeleteCollection(ctx, w, r, info)
	default:
		err = apierrors.NewMethodNotSupported(h.gr(), r.Method)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

// serveUnstored serves a create-only resource without store: a POST to the collection.
func (s *Server) serveUnstored(ctx context.Context, w http.ResponseWriter, r *http.Request, h *resourceHandler, info requestInfo) {
	var err error
	switch {
	case info.Name != "":
		writeStatusJSON(w, notFoundPath(r.URL.Path))
		return
	case info.Verb != "create":
		err = apierrors.NewMethodNotSupported(h.gr(), info.Verb)
	default:
		err = h.unstored(ctx, w, r)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (h *resourceHandler) serveGet(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	out, err := h.s.codecs.negotiateOutput(r, true)
	if err != nil {
		return err
	}
	var opts metav1.GetOptions
	if err := h.s.decodeParams(r, &opts); err != nil {
		return err
	}
	obj, err := h.store.Get(ctx, h.key(info.Namespace, info.Name), storage.GetOptions{ResourceVersion: opts.ResourceVersion})
	if err != nil {
		return err
	}
	return h.respond(w, r, http.StatusOK, out, obj)
}

// respond writes obj (an object or a list) in the negotiated form: as itself, as a Table
// or as partial object metadata.
func (h *resourceHandler) respond(w http.ResponseWriter, r *http.Request, code int, out output, obj runtime.Object) error {
	switch out.as {
	case "Table":
		var opts metav1.TableOptions
		if err := h.s.decodeParams(r, &opts); err != nil {
			return err
		}
		t, err := h.table(obj, opts.IncludeObject, true)
		if err != nil {
			return err
		}
		h.s.writeEncoded(w, r, code, out.info, metav1.SchemeGroupVersion, t)
	case "PartialObjectMetadata", "PartialObjectMetadataList":
		h.s.writeEncoded(w, r, code, out.info, metav1.SchemeGroupVersion, partialMetadata(obj))
	default:
		h.s.writeEncoded(w, r, code, out.info, h.gv, obj)
	}
	return nil
}

func (s *Server) decodeParams(r *http.Request, into runtime.Object) error {
	if err := runtime.NewParameterCodec(s.scheme).DecodeParameters(r.URL.Query(), metav1.SchemeGroupVersion, into); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	return nil
}

// listOptions parses and checks the list/watch parameters of a request.
func (h *resourceHandler) listOptions(r *http.Request, info requestInfo) (metav1.ListOptions, labels.Selector, fields.Selector, error) {
	var opts metav1.ListOptions
	if err := h.s.decodeParams(r, &opts); err != nil {
		return opts, nil, nil, err
	}
	ls, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return opts, nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return opts, nil, nil, apierrors.NewBadRequest(err.Error())
	}
	supported := h.fieldSet(h.newObj())
	for _, req := range fs.Requirements() {
		if _, ok := supported[req.Field]; !ok {
			return opts, nil, nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	if info.Name != "" {
		// A watch on one object: /watch/.../{name}.
		fs = fields.AndSelectors(fs, fields.OneTermEqualSelector("metadata.name", info.Name))
	}
	if errs := validateListOptions(&opts, info.Verb == "watch"); len(errs) > 0 {
		return opts, nil, nil, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
	}
	if opts.Limit < 0 {
		return opts, nil, nil, apierrors.NewBadRequest("limit must be a non-negative integer")
	}
	return opts, ls, fs, nil
}

// validateWriteOptions is upstream's check of the query options of a create, update or
// patch (dryRun, fieldValidation, fieldManager, force): bad values are a 422 naming the
// options kind, before anything is read or written. Deletes check their DeleteOptions once
// decoded.
func (s *Server) validateWriteOptions(r *http.Request, verb string) error {
	var (
		errs field.ErrorList
		kind string
		err  error
	)
	switch verb {
	case "create":
		var opts metav1.CreateOptions
		err, kind = s.decodeParams(r, &opts), "CreateOptions"
		errs = metav1validation.ValidateCreateOptions(&opts)
	case "update":
		var opts metav1.UpdateOptions
		err, kind = s.decodeParams(r, &opts), "UpdateOptions"
		errs = metav1validation.ValidateUpdateOptions(&opts)
	case "patch":
		var opts metav1.PatchOptions
		err, kind = s.decodeParams(r, &opts), "PatchOptions"
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		errs = metav1validation.ValidatePatchOptions(&opts, types.PatchType(mt))
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs)
	}
	return nil
}

// validateListOptions is upstream's check of the resourceVersionMatch and sendInitialEvents
// combinations: a watch may name a match only to ask for initial events (the WatchList
// protocol, which may leave resourceVersion unset); a list may not ask for initial events.
func validateListOptions(opts *metav1.ListOptions, watch bool) field.ErrorList {
	var errs field.ErrorList
	match := opts.ResourceVersionMatch
	path := field.NewPath("resourceVersionMatch")
	if watch {
		if opts.SendInitialEvents != nil && match != metav1.ResourceVersionMatchNotOlderThan {
			errs = append(errs, field.Forbidden(path, "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
		}
		if match != "" {
			if opts.SendInitialEvents == nil {
				errs = append(errs, field.Forbidden(path, "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
			}
			if match != metav1.ResourceVersionMatchNotOlderThan {
				errs = append(errs, field.NotSupported(path, match, []string{string(metav1.ResourceVersionMatchNotOlderThan)}))
			}
			if opts.Continue != "" {
				errs = append(errs, field.Forbidden(path, "resourceVersionMatch is forbidden when continue is provided"))
			}
		}
		return errs
	}
	if match != "" {
		if opts.ResourceVersion == "" {
			errs = append(errs, field.Forbidden(path, "resourceVersionMatch is forbidden unless resourceVersion is provided"))
		}
		if opts.Continue != "" {
			errs = append(errs, field.Forbidden(path, "resourceVersionMatch is forbidden when continue is provided"))
		}
		switch match {
		case metav1.ResourceVersionMatchExact:
			if opts.ResourceVersion == "0" {
				errs = append(errs, field.Forbidden(path, `resourceVersionMatch "exact" is forbidden for resourceVersion "0"`))
			}
		case metav1.ResourceVersionMatchNotOlderThan:
		default:
			errs = append(errs, field.NotSupported(path, match, []string{string(metav1.ResourceVersionMatchExact), string(metav1.ResourceVersionMatchNotOlderThan), ""}))
		}
	}
	if opts.SendInitialEvents != nil {
		errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
	}
	return errs
}

// fieldSet is every field-selector field of obj: metadata.name, metadata.namespace and the
// kind's own.
func (h *resourceHandler) fieldSet(obj runtime.Object) fields.Set {
	set := fields.Set{}
	if h.res.Fields != nil {
		for k, v := range h.res.Fields(obj) {
			set[k] = v
		}
	}
	if m, err := meta.Accessor(obj); err == nil {
		set["metadata.name"] = m.GetName()
		if h.res.Namespaced {
			set["metadata.namespace"] = m.GetNamespace()
		}
	}
	return set
}

func (h *resourceHandler) attrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(m.GetLabels()), h.fieldSet(obj), nil
}

func (h *resourceHandler) prefix(ns string) string {
	if ns == "" {
		return h.store.Key("", "")
	}
	return h.store.Key(ns, "")
}

func (h *resourceHandler) serveList(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	out, err := h.s.codecs.negotiateOutput(r, true)
	if err != nil {
		return err
	}
	opts, ls, fs, err := h.listOptions(r, info)
	if err != nil {
		return err
	}
	list, err := h.store.List(ctx, storage.ListOptions{
		Prefix: h.prefix(info.Namespace), ResourceVersion: opts.ResourceVersion,
		ResourceVersionMatch: opts.ResourceVersionMatch, Label: ls, Field: fs,
		Limit: opts.Limit, Continue: opts.Continue,
	})
	if err != nil {
		return err
	}
	return h.respond(w, r, http.StatusOK, out, list)
}
