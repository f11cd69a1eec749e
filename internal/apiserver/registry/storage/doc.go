// Package storage holds the strategies of storage.k8s.io/v1: storageclasses. It validates
// and defaults the classes only; provisioning volumes is the job of provisioners.
package storage
