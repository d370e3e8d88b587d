// Kedastral monitoring mixin: alerts, recording rules and Grafana
// dashboards, in the form of the Prometheus community's mixins.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'dashboards/dashboards.libsonnet')
