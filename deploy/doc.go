// Package deploy holds the deployment assets of commpulse and the tests
// that keep them honest. There is no Go API here: the package exists so that
// `go test ./deploy/` checks, without a Docker engine or a cluster,
// everything about the assets that can be checked on one machine:
//
//   - Dockerfile: every base image pinned, the final stage FROM scratch and
//     run as a non-root uid, and the binary its `go build` line produces
//     (the tests build it with exactly that line) statically linked.
//   - docker-compose.yml: every image pinned to an exact version (ClickHouse
//     >= 25.8), every service another depends on has a healthcheck (or is
//     a one-shot job waited for with service_completed_successfully), every
//     COMMPULSE_* variable is a real flag of the subcommand the service
//     runs (read from the built binary's -h) with a value of the flag's
//     type, and ports, hosts, secrets and mounts line up across services,
//     prometheus.yml and the Grafana data sources.
//   - kubernetes/: each manifest decoded strictly against the subset of the
//     Kubernetes schema it uses (an unknown or misspelt field fails), then
//     checked: probes on /healthz and /readyz at the metrics port, env and
//     ConfigMap keys that are real flags, resources, non-root security
//     contexts, ingest scaling capped at the events topic's partition count,
//     analyze a single replica, Services named as the alert rules' jobs.
//   - prometheus/ and grafana/: every metric name in an alert rule or a
//     dashboard query is one the binary exports, read from /metrics of a
//     running `commpulse ingest` (on an in-process Kafka and a real
//     ClickHouse) and from the metric constructors ingest and analyze use;
//     label matchers name labels those metrics have. `promtool check rules`
//     and `promtool test rules` run when promtool is installed
//     (scripts/check-deploy.sh installs it).
package deploy
