// Package validate holds offline checkers for the files in deploy/: a
// separate Go module (not part of chatd's build), built and run by
// deploy/check.sh when its dependencies are in the local module cache.
//
//	k8scheck FILE...     strict decoding of Kubernetes manifests into the
//	                     k8s.io/api types, plus chatd-specific checks
//	composecheck FILE    loads a compose file with compose-go (the loader
//	                     and JSON schema Docker Compose uses), plus checks
package validate
