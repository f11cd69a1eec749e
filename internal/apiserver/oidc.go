package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"capstan/internal/auth/jwt"
)

// Service-account issuer discovery (OIDC), served to authenticated users as upstream's
// default RBAC allows (system:service-account-issuer-discovery).
const (
	openIDConfigPath = "/.well-known/openid-configuration"
	jwksPath         = "/openid/v1/jwks"
	// oidcMaxAge is how long clients may cache the documents, as upstream.
	oidcMaxAge = 3600
)

// openIDMetadata is the provider metadata upstream serves: the OIDC fields relying parties
// need to verify tokens, no login endpoints.
type openIDMetadata struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// oidcServed reports whether discovery is served: upstream skips it unless keys are known
// and the issuer is an https URL without query or fragment.
func (s *Server) oidcServed() bool {
	if len(s.serviceAccountKeys) == 0 {
		return false
	}
	u, err := url.Parse(s.opts.ServiceAccountIssuers[0])
	return err == nil && u.Scheme == "https" && u.RawQuery == "" && u.Fragment == ""
}

// jwksURI is the configured URI, else the advertised address with the JWKS path.
func (s *Server) jwksURI() string {
	if s.opts.ServiceAccountJWKSURI != "" {
		return s.opts.ServiceAccountJWKSURI
	}
	return (&url.URL{Scheme: "https", Host: s.advertisedHostPort(), Path: jwksPath}).String()
}

// serveOIDC answers the discovery document and the key set.
func (s *Server) serveOIDC(w http.ResponseWriter, r *http.Request) {
	if !s.oidcServed() {
		writeStatusJSON(w, notFoundPath(r.URL.Path))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, r, apierrors.NewMethodNotSupported(registryGR(r.URL.Path), r.Method))
		return
	}
	var (
		doc       any
		mediaType = "application/json"
	)
	keys, err := jwt.KeySet(s.serviceAccountKeys)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.URL.Path == jwksPath {
		doc, mediaType = keys, "application/jwk-set+json"
	} else {
		var algs []string
		for _, k := range keys.Keys {
			if !slices.Contains(algs, k.Alg) {
				algs = append(algs, k.Alg)
			}
		}
		slices.Sort(algs)
		doc = openIDMetadata{
			Issuer: s.opts.ServiceAccountIssuers[0], JWKSURI: s.jwksURI(),
			ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"}, SigningAlgs: algs,
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", oidcMaxAge))
	_, _ = w.Write(data)
}
