// Grafana dashboards of the Kedastral mixin.
(import 'overview.libsonnet') +
(import 'operations.libsonnet')
