package storage

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
)

// continueToken is the decoded form of a list's continue value, shaped like upstream's so
// that tokens read the same: the revision the list reflects and the next key relative to
// the list's prefix. A revision of -1 continues at the latest state (offered after a
// compaction, an inconsistent continuation the client opts into).
type continueToken struct {
	APIVersion string `json:"v"`
	RV         int64  `json:"rv"`
	Start      string `json:"start"`
}

const continueVersion = "meta.k8s.io/v1"

// encodeContinue encodes the continuation of a list of keyPrefix at rev from nextKey.
func encodeContinue(nextKey, keyPrefix string, rev int64) (string, error) {
	rel, ok := strings.CutPrefix(nextKey, keyPrefix)
	if !ok || rel == "" {
		return "", fmt.Errorf("next key %q is not under %q", nextKey, keyPrefix)
	}
	data, err := json.Marshal(continueToken{APIVersion: continueVersion, RV: rev, Start: rel})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(data), nil
}

// decodeContinue decodes a continue value for a list of keyPrefix into the key to start from
// and the revision to list at. The start key cannot leave keyPrefix.
func decodeContinue(value, keyPrefix string) (string, int64, error) {
	data, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %v", err)
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil {
		return "", 0, fmt.Errorf("continue key is not valid: %v", err)
	}
	switch {
	case t.APIVersion != continueVersion:
		return "", 0, errors.New("continue key is not valid: server does not recognize this encoded version")
	case t.RV == 0 || t.RV < -1:
		return "", 0, errors.New("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	case t.Start == "":
		return "", 0, errors.New("continue key is not valid: encoded start key empty (version meta.k8s.io/v1)")
	}
	// A cleaned absolute path cannot climb above the root, so prefix+path stays inside the
	// prefix; anything path.Clean would change (.., //, trailing /) is refused.
	abs := "/" + strings.TrimPrefix(t.Start, "/")
	if path.Clean(abs) != abs {
		return "", 0, fmt.Errorf("continue key is not valid: %s", t.Start)
	}
	return keyPrefix + abs[1:], t.RV, nil
}
