// Package deploy holds no code that ships: its tests check the deployment
// files beside it (docker-compose.yml at the repository root, the HAProxy
// configuration, the Kubernetes example, the Prometheus alert rules and the
// Grafana dashboard) against the parsers of the tools that read them, and
// against a real Puguh built from the repository.
package deploy
