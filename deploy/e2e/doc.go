// Package e2e proves the loop Kedastral exists for on a real Kubernetes
// control plane: a real KEDA, through a real HorizontalPodAutoscaler, sets a
// Deployment's replicas ahead of its load, beside a Deployment that KEDA
// scales on the raw load as users do today.
//
// The control plane (etcd, kube-apiserver, kube-controller-manager, KEDA's
// operator and metrics API server) is built from the Go module proxy by
// scripts/e2e-build.sh and started by [StartCluster] inside a network
// namespace the test creates, on a private address that exists only there.
// [Cycle] is the synthetic daily load the test replays by remote write;
// [Analyze] and [WriteReport] turn the recorded run into docs/e2e.md and its
// plot. `make e2e` runs it all.
package e2e
