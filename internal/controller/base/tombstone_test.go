package base

import "k8s.io/client-go/tools/cache"

func cacheTombstone(key string) cache.DeletedFinalStateUnknown {
	return cache.DeletedFinalStateUnknown{Key: key}
}
