package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what the URL and method of an API request name.
type requestInfo struct {
	// API is true for /api and /apis requests.
	API bool
	// Group and Version; the legacy group is "".
	Group, Version string
	// Namespace, Resource, Name, Subresource as in the path.
	Namespace, Resource, Name, Subresource string
	// Verb: get, list, watch, create, update, patch, delete, deletecollection.
	Verb string
	// Parts of the path below the group-version, for discovery requests (empty for them).
	Parts []string
}

// parseRequestInfo splits an API path as upstream does:
//
//	/api/v1[/watch]/namespaces/{ns}/{resource}[/{name}[/{subresource}]]
//	/api/v1[/watch]/{resource}[/{name}[/{subresource}]]
//	/apis/{group}/{version}/... the same
func parseRequestInfo(r *http.Request) requestInfo {
	var info requestInfo
	parts := splitPath(r.URL.Path)
	if len(parts) == 0 {
		return info
	}
	switch parts[0] {
	case "api":
		info.API = true
		parts = parts[1:]
	case "apis":
		info.API = true
		if len(parts) < 2 {
			return info
		}
		info.Group = parts[1]
		parts = parts[2:]
	default:
		return info
	}
	if len(parts) == 0 {
		return info
	}
	info.Version = parts[0]
	parts = parts[1:]
	info.Parts = parts
	if len(parts) == 0 {
		return info
	}

	watchPrefix := false
	if parts[0] == "watch" {
		watchPrefix = true
		parts = parts[1:]
	}
	// namespaces/{ns}/{resource}... but not namespaces/{ns}/status|finalize, which is the
	// namespace resource itself.
	if len(parts) >= 3 && parts[0] == "namespaces" && parts[2] != "status" && parts[2] != "finalize" {
		info.Namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) > 0 {
		info.Resource = parts[0]
	}
	if len(parts) > 1 {
		info.Name = parts[1]
	}
	if len(parts) > 2 {
		info.Subresource = parts[2]
	}
	if info.Resource == "namespaces" && info.Name != "" {
		// A namespace's own namespace is its name, for admission and authorization.
		info.Namespace = ""
	}

	switch r.Method {
	case http.MethodPost:
		info.Verb = "create"
	case http.MethodGet, http.MethodHead:
		info.Verb = "get"
	case http.MethodPut:
		info.Verb = "update"
	case http.MethodPatch:
		info.Verb = "patch"
	case http.MethodDelete:
		info.Verb = "delete"
	default:
		info.Verb = ""
	}
	if info.Name == "" {
		switch info.Verb {
		case "get":
			info.Verb = "list"
		case "delete":
			info.Verb = "deletecollection"
		}
	}
	if info.Verb == "list" || info.Verb == "get" {
		if watchPrefix || isTrue(r.URL.Query().Get("watch")) {
			info.Verb = "watch"
		}
	}
	return info
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isTrue(s string) bool { return s == "true" || s == "1" }
