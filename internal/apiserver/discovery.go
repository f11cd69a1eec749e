package apiserver

import (
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const aggregatedDiscoveryMedia = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

type apiGroup struct {
	name     string
	versions []apiVersion
}

type apiVersion struct {
	version   string
	resources []*resourceHandler
}

// subresource is one discovery entry below a resource.
type subresource struct {
	name               string
	group, version, kd string
	verbs              []string
}

var fullVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// buildGroups orders groups like upstream's discovery: the legacy group, then by name with
// the well-known groups first.
func buildGroups(handlers map[string]*resourceHandler) []apiGroup {
	byGroup := map[string]map[string][]*resourceHandler{}
	for _, h := range handlers {
		g, v := h.res.GVK.Group, h.res.GVK.Version
		if byGroup[g] == nil {
			byGroup[g] = map[string][]*resourceHandler{}
		}
		byGroup[g][v] = append(byGroup[g][v], h)
	}
	var groups []apiGroup
	for name, versions := range byGroup {
		g := apiGroup{name: name}
		for v, hs := range versions {
			sort.Slice(hs, func(i, j int) bool { return hs[i].res.Plural < hs[j].res.Plural })
			g.versions = append(g.versions, apiVersion{version: v, resources: hs})
		}
		sort.Slice(g.versions, func(i, j int) bool { return g.versions[i].version < g.versions[j].version })
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		return groupRank(groups[i].name) < groupRank(groups[j].name) ||
			groupRank(groups[i].name) == groupRank(groups[j].name) && groups[i].name < groups[j].name
	})
	return groups
}

func groupRank(name string) int {
	order := []string{"", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
		"authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io",
		"policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
		"apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io",
		"flowcontrol.apiserver.k8s.io"}
	for i, g := range order {
		if g == name {
			return i
		}
	}
	return len(order)
}

func (s *Server) group(name string) (apiGroup, bool) {
	for _, g := range s.groups {
		if g.name == name {
			return g, true
		}
	}
	return apiGroup{}, false
}

func wantsAggregated(r *http.Request) bool {
	for _, entry := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(entry))
		if err != nil {
			continue
		}
		if mt == mediaJSON && params["as"] == "APIGroupDiscoveryList" && params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" {
			return true
		}
		if mt == mediaJSON && params["as"] == "" {
			return false
		}
	}
	return false
}

// serveRootDiscovery answers /api and /apis, in the aggregated format when asked for it.
func (s *Server) serveRootDiscovery(w http.ResponseWriter, r *http.Request) {
	legacy := strings.TrimSuffix(r.URL.Path, "/") == "/api"
	if wantsAggregated(r) {
		list := apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
		for _, g := range s.groups {
			if (g.name == "") != legacy {
				continue
			}
			list.Items = append(list.Items, aggregatedGroup(g))
		}
		data, err := jsonMarshal(&list)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", aggregatedDiscoveryMedia)
		w.Header().Set("Vary", "Accept")
		_, _ = w.Write(data)
		return
	}
	if legacy {
		writeJSON(w, http.StatusOK, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{
				ClientCIDR: "0.0.0.0/0", ServerAddress: s.advertisedHostPort(),
			}},
		})
		return
	}
	list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for _, g := range s.groups {
		if g.name != "" {
			list.Groups = append(list.Groups, legacyGroup(g))
		}
	}
	writeJSON(w, http.StatusOK, &list)
}

func (s *Server) advertisedHostPort() string {
	host := "127.0.0.1"
	if s.opts.AdvertiseAddress != nil {
		host = s.opts.AdvertiseAddress.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(int(s.advertisedPort())))
}

func (s *Server) advertisedPort() int32 {
	if s.opts.AdvertisePort != 0 {
		return s.opts.AdvertisePort
	}
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		return int32(a.Port)
	}
	return 6443
}

func legacyGroup(g apiGroup) metav1.APIGroup {
	out := metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: g.name}
	for _, v := range g.versions {
		out.Versions = append(out.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g.name + "/" + v.version, Version: v.version})
	}
	out.PreferredVersion = out.Versions[0]
	return out
}

func aggregatedGroup(g apiGroup) apidiscoveryv2.APIGroupDiscovery {
	out := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: g.name}}
	for _, v := range g.versions {
		vd := apidiscoveryv2.APIVersionDiscovery{Version: v.version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, h := range v.resources {
			scope := apidiscoveryv2.ScopeCluster
			if h.res.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			rd := apidiscoveryv2.APIResourceDiscovery{
				Resource:         h.res.Plural,
				ResponseKind:     &metav1.GroupVersionKind{Group: h.res.GVK.Group, Version: h.res.GVK.Version, Kind: h.res.GVK.Kind},
				Scope:            scope,
				SingularResource: h.res.Singular,
				Verbs:            h.verbs,
				ShortNames:       h.res.ShortNames,
				Categories:       h.res.Categories,
			}
			for _, sub := range h.subresources() {
				rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource:  sub.name,
					ResponseKind: &metav1.GroupVersionKind{Group: sub.group, Version: sub.version, Kind: sub.kd},
					Verbs:        sub.verbs,
				})
			}
			vd.Resources = append(vd.Resources, rd)
		}
		out.Versions = append(out.Versions, vd)
	}
	return out
}

// serveGroupDiscovery answers /apis/<group> and /api/v1, /apis/<group>/<version>.
func (s *Server) serveGroupDiscovery(w http.ResponseWriter, r *http.Request, info requestInfo) {
	g, ok := s.group(info.Group)
	if !ok {
		writeStatusJSON(w, notFoundPath(r.URL.Path))
		return
	}
	if info.Version == "" {
		writeJSON(w, http.StatusOK, legacyGroup(g))
		return
	}
	for _, v := range g.versions {
		if v.version != info.Version {
			continue
		}
		gv := info.Version
		if g.name != "" {
			gv = g.name + "/" + info.Version
		}
		list := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv}
		for _, h := range v.resources {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: h.res.Plural, SingularName: h.res.Singular, Namespaced: h.res.Namespaced,
				Kind: h.res.GVK.Kind, Verbs: h.verbs, ShortNames: h.res.ShortNames, Categories: h.res.Categories,
			})
			for _, sub := range h.subresources() {
				list.APIResources = append(list.APIResources, metav1.APIResource{
					Name: h.res.Plural + "/" + sub.name, Namespaced: h.res.Namespaced,
					Group: sub.group, Version: sub.version, Kind: sub.kd, Verbs: sub.verbs,
				})
			}
		}
		writeJSON(w, http.StatusOK, &list)
		return
	}
	writeStatusJSON(w, notFoundPath(r.URL.Path))
}
