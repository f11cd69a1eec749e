package framework

import "strings"

// NormalizeImageName expands an image reference the way container runtimes do, so that a
// pod's "nginx" and a node's "docker.io/library/nginx:latest" compare equal: a reference
// without a registry gets docker.io (and library/ when it has one path component), and one
// with neither tag nor digest gets :latest.
func NormalizeImageName(name string) string {
	firstSlash := strings.IndexByte(name, '/')
	if firstSlash < 0 {
		name = "docker.io/library/" + name
	} else {
		domain := name[:firstSlash]
		if !strings.ContainsAny(domain, ".:") && domain != "localhost" {
			name = "docker.io/" + name
		}
	}
	if strings.IndexByte(name, '@') >= 0 {
		return name
	}
	lastSlash := strings.LastIndexByte(name, '/')
	if strings.IndexByte(name[lastSlash+1:], ':') < 0 {
		name += ":latest"
	}
	return name
}
