// Configuration of the Kedastral mixin. Override any field with
//   (import 'mixin.libsonnet') + { _config+:: { forecasterSelector: 'job="fc"' } }
{
  _config+:: {
    // Selectors of the scraped jobs, used in every expression.
    // The forecaster's /metrics (forecasts, ticks, remote write, receiver).
    forecasterSelector: 'job="kedastral-forecaster"',
    // The scaler's /metrics (KEDA's gRPC calls, fallbacks).
    scalerSelector: 'job="kedastral-scaler"',
    // kube-state-metrics, for the actual replicas and the HPA's maximum.
    kubeStateMetricsSelector: 'job="kube-state-metrics"',

    // How a Kubernetes object is mapped to a Kedastral workload, for the
    // planned-versus-actual replicas and KedastralPlanAtMaxReplicas.
    // By default the Deployment is named as the workload
    // (label_replace(kube_deployment_status_replicas, "workload", "$1",
    // "deployment", "(.*)")), and the HPA is the one KEDA creates for a
    // ScaledObject named as the workload: keda-hpa-<workload>.
    // Series of several namespaces with the same name are merged (max).
    deploymentWorkloadLabel: 'deployment',
    deploymentWorkloadRegex: '(.*)',
    hpaWorkloadLabel: 'horizontalpodautoscaler',
    hpaWorkloadRegex: 'keda-hpa-(.*)',

    // Every alert gets a runbook_url annotation: this pattern with the
    // alert's name in lower case (the anchor of its docs/runbooks.md section).
    runbookURLPattern: 'https://github.com/HatiCode/kedastral/blob/main/docs/runbooks.md#%s',

    // Range of the rate() in alerts and recording rules.
    rateInterval: '5m',

    // KedastralForecasterDown / KedastralScalerDown: target not scraped for this long.
    forecasterDownFor: '5m',
    scalerDownFor: '5m',

    // KedastralForecastStale: newest forecast older than this many seconds
    // (2x the tick interval; 120 s is also the forecaster's default
    // --stale-after, past which the scaler falls back). Raise it with the
    // workloads' interval.
    forecastStaleThresholdSeconds: 120,
    forecastStaleFor: '5m',

    // KedastralForecastErrorHigh: error ratio (WAPE), averaged over the
    // horizons, above this for this long. 0.3 = off by 30 % of the load.
    forecastErrorRatioThreshold: 0.3,
    forecastErrorFor: '30m',

    // KedastralForecastBiasedLow: bias ratio, averaged over the horizons,
    // below this (forecasts run low: under-provisioning) for this long.
    forecastBiasRatioThreshold: -0.1,
    forecastBiasFor: '30m',

    // KedastralPlanAtMaxReplicas: the peak of the plan over the horizon
    // reaches the HPA's maxReplicas for this long.
    planAtMaxReplicasFor: '30m',

    // KedastralScalerFallback: the scaler answered KEDA with its fallback
    // (defaultMin) continuously for this long.
    scalerFallbackFor: '10m',

    // KedastralRemoteWriteFailing: samples failed or dropped, or no
    // successful send for this many seconds (raise it above the workloads'
    // interval), for this long.
    remoteWriteLastSendThresholdSeconds: 120,
    remoteWriteFailingFor: '10m',

    // KedastralReceiverRejecting: push-mode receiver refusing samples for this long.
    receiverRejectingFor: '10m',

    // KedastralConfigReloadFailed: last configuration load failed for this long.
    configReloadFailedFor: '5m',

    // Lead time of the workloads, as the forecaster writes a horizon label
    // (a Prometheus duration: '5m', '1m30s'). The overview compares the load
    // with the forecast made this long before, for this horizon.
    leadTime: '5m',

    // Dashboards.
    dashboardTags: ['kedastral'],
    dashboardRefresh: '30s',
    dashboardTimeFrom: 'now-6h',
    dashboardTimezone: 'browser',
    dashboardUIDPrefix: 'kedastral',
  },
}
