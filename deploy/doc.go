// Package deploy holds no code: its tests check what deploys gatehouse.
// image_test.go builds the binary with deploy/build.sh from the build
// context the Dockerfile sees (.dockerignore applied) and checks that it is
// static and starts, and that the Dockerfile uses that script.
// kubernetes_test.go loads every gatehouse.yaml under deploy/kubernetes with
// the real loader and checks the rendered manifests of each overlay against
// it: ports, probes, mounted secret files, environment variables, and the
// Services that upstream and JWKS URLs name. The Kubernetes objects
// themselves are checked against the Kubernetes API types by the module in
// deploy/kubernetes/check.
package deploy
