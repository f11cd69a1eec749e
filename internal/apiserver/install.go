package apiserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"capstan/internal/apiserver/openapi"
	"capstan/internal/apiserver/registry"
	"capstan/internal/storage"
)

// installResources creates the store (and its watch cache) of every resource.
func (s *Server) installResources(ctx context.Context) error {
	start := time.Now()
	for _, res := range s.opts.Resources {
		if res.Strategy == nil {
			res.Strategy = registry.DefaultStrategy{}
		}
		gv := res.GVK.GroupVersion()
		listGVK := gv.WithKind(res.GVK.Kind + "List")
		if _, err := s.scheme.New(res.GVK); err != nil {
			return fmt.Errorf("apiserver: %s: %w", res.GVK, err)
		}
		if _, err := s.scheme.New(listGVK); err != nil {
			return fmt.Errorf("apiserver: %s: %w", listGVK, err)
		}
		newObj := func() runtime.Object { o, _ := s.scheme.New(res.GVK); return o }
		newList := func() runtime.Object { o, _ := s.scheme.New(listGVK); return o }
		h := &resourceHandler{
			s: s, res: res, gv: gv, newObj: newObj, newList: newList,
			verbs: fullVerbs, hooks: s.hooksFor(res.Plural, res.GVK.Group),
		}
		codec := s.codecs.factory.CodecForVersions(s.codecs.storage, s.codecs.storage, gv, gv)
		if res.GVK.Group == "events.k8s.io" {
			codec = eventsCodec{core: s.codecs.factory.CodecForVersions(s.codecs.storage, s.codecs.storage, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion)}
		}
		store, err := storage.New(ctx, storage.Options{
			Client:      s.opts.Etcd,
			Codec:       codec,
			Resource:    res.GroupResource(),
			Prefix:      storagePrefix(res),
			NewFunc:     newObj,
			NewListFunc: newList,
			AttrFunc:    h.attrs,
			Logger:      s.logger,
		})
		if err != nil {
			s.stopStores()
			return fmt.Errorf("apiserver: store for %s: %w", res.GroupResource(), err)
		}
		h.store = store
		s.handlers[gv.Group+"/"+gv.Version+"/"+res.Plural] = h
	}
	s.installReviews()
	s.groups = buildGroups(s.handlers)
	oa, err := openapi.NewHandler(openapi.Options{Scheme: s.scheme, Resources: s.opts.Resources, Version: s.opts.Version.GitVersion})
	if err != nil {
		s.stopStores()
		return fmt.Errorf("apiserver: openapi: %w", err)
	}
	s.openapi = oa
	s.logger.Debug("stores ready", "resources", len(s.handlers), "took", time.Since(start))
	return nil
}

// storagePrefix is upstream's etcd key prefix of a resource: /registry/<resource>, with
// upstream's few renames.
func storagePrefix(res registry.Resource) string {
	name := res.Plural
	switch (schema.GroupResource{Group: res.GVK.Group, Resource: res.Plural}).String() {
	case "services":
		name = "services/specs"
	case "endpoints":
		name = "services/endpoints"
	case "nodes":
		name = "minions"
	case "replicationcontrollers":
		name = "controllers"
	case "ingresses.networking.k8s.io":
		name = "ingress"
	case "certificatesigningrequests.certificates.k8s.io":
		name = "certificatesigningrequests"
	case "endpointslices.discovery.k8s.io":
		name = "endpointslices"
	case "poddisruptionbudgets.policy":
		name = "poddisruptionbudgets"
	case "horizontalpodautoscalers.autoscaling":
		name = "horizontalpodautoscalers"
	case "leases.coordination.k8s.io":
		name = "leases"
	}
	return "/registry/" + strings.TrimSuffix(name, "/")
}

func (s *Server) stopStores() {
	for _, h := range s.handlers {
		if h.store != nil {
			h.store.Stop()
		}
	}
}
