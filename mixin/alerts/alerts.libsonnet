// Alerts of the Kedastral mixin. Every alert gets its runbook_url from
// _config.runbookURLPattern (lib/utils.libsonnet).
local utils = import '../lib/utils.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    groups+: utils.withRunbookURL(c.runbookURLPattern, [
      {
        name: 'kedastral-forecaster',
        rules: [
          {
            alert: 'KedastralForecasterDown',
            expr: |||
              up{%(forecasterSelector)s} == 0
              or
              absent(up{%(forecasterSelector)s})
            ||| % c,
            'for': c.forecasterDownFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Kedastral forecaster is down.',
              description: '{{ if $labels.instance }}The forecaster {{ $labels.instance }} of job {{ $labels.job }} has been down{{ else }}No forecaster of job {{ $labels.job }} has been scraped{{ end }} for %(forecasterDownFor)s: no new forecasts are made; the scaler follows the last plan until its horizon runs out, then answers its defaultMin.' % c,
            },
          },
          {
            alert: 'KedastralForecastStale',
            expr: |||
              time() - max by (job, workload) (kedastral_forecast_generated_timestamp_seconds{%(forecasterSelector)s})
              > %(forecastStaleThresholdSeconds)g
            ||| % c,
            'for': c.forecastStaleFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Kedastral forecast is stale.',
              description: 'The newest forecast of workload {{ $labels.workload }} (job {{ $labels.job }}) is {{ $value | humanizeDuration }} old: its ticks are failing. The scaler follows the stale plan until its horizon runs out, then answers its defaultMin.',
            },
          },
          {
            alert: 'KedastralForecastErrorHigh',
            expr: |||
              workload:kedastral_forecast_error_ratio:avg{%(forecasterSelector)s} > %(forecastErrorRatioThreshold)g
            ||| % c,
            'for': c.forecastErrorFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral forecasts are inaccurate.',
              description: 'The forecasts of workload {{ $labels.workload }} (job {{ $labels.job }}) are off by {{ $value | humanizePercentage }} of the load on average over the horizons (WAPE), above %(forecastErrorRatioThreshold)g for %(forecastErrorFor)s.' % c,
            },
          },
          {
            alert: 'KedastralForecastBiasedLow',
            expr: |||
              workload:kedastral_forecast_bias_ratio:avg{%(forecasterSelector)s} < %(forecastBiasRatioThreshold)g
            ||| % c,
            'for': c.forecastBiasFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral forecasts run low.',
              description: 'The forecasts of workload {{ $labels.workload }} (job {{ $labels.job }}) have a bias of {{ $value | humanizePercentage }} of the load on average over the horizons, below %(forecastBiasRatioThreshold)g for %(forecastBiasFor)s: they run low, and the plan under-provisions.' % c,
            },
          },
          {
            alert: 'KedastralPlanAtMaxReplicas',
            expr: |||
              workload:kedastral_forecast_replicas:max{%(forecasterSelector)s}
              >= on (workload) group_left
              workload:kube_horizontalpodautoscaler_spec_max_replicas:max
            ||| % c,
            'for': c.planAtMaxReplicasFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral plans the maximum replicas.',
              description: 'The replica plan of workload {{ $labels.workload }} (job {{ $labels.job }}) peaks at {{ $value }} replicas within its horizon, the maxReplicas of its HPA, for %(planAtMaxReplicasFor)s: a load above the forecast cannot be served.' % c,
            },
          },
          {
            alert: 'KedastralRemoteWriteFailing',
            expr: |||
              sum by (job, remote_name, url) (rate(kedastral_remote_write_samples_failed_total{%(forecasterSelector)s}[%(rateInterval)s])) > 0
              or
              sum by (job, remote_name, url) (rate(kedastral_remote_write_samples_dropped_total{%(forecasterSelector)s}[%(rateInterval)s])) > 0
              or
              time() - max by (job, remote_name, url) (kedastral_remote_write_last_send_timestamp_seconds{%(forecasterSelector)s})
              > %(remoteWriteLastSendThresholdSeconds)g
            ||| % c,
            'for': c.remoteWriteFailingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral remote write is failing.',
              description: 'The forecaster job {{ $labels.job }} fails to deliver its forecasts through remote write {{ $labels.remote_name }} ({{ $labels.url }}): samples are refused or dropped, or no send has succeeded for %(remoteWriteLastSendThresholdSeconds)gs. The store misses forecasts.' % c,
            },
          },
          {
            alert: 'KedastralReceiverRejecting',
            expr: |||
              sum by (job, reason) (rate(kedastral_receiver_samples_rejected_total{%(forecasterSelector)s}[%(rateInterval)s])) > 0
            ||| % c,
            'for': c.receiverRejectingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral receiver rejects samples.',
              description: 'The push-mode receiver of {{ $labels.job }} refuses {{ $value | humanize }} samples per second with reason {{ $labels.reason }}: a sender writes bad or out-of-order data, and the forecasts may lack load data.',
            },
          },
          {
            alert: 'KedastralConfigReloadFailed',
            expr: |||
              max by (job, instance) (kedastral_config_last_reload_successful{%(forecasterSelector)s}) == 0
            ||| % c,
            'for': c.configReloadFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral configuration reload failed.',
              description: 'The last configuration load of the forecaster {{ $labels.instance }} (job {{ $labels.job }}) failed: it runs on its previous configuration.',
            },
          },
        ],
      },
      {
        name: 'kedastral-scaler',
        rules: [
          {
            alert: 'KedastralScalerDown',
            expr: |||
              up{%(scalerSelector)s} == 0
              or
              absent(up{%(scalerSelector)s})
            ||| % c,
            'for': c.scalerDownFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Kedastral scaler is down.',
              description: '{{ if $labels.instance }}The scaler {{ $labels.instance }} of job {{ $labels.job }} has been down{{ else }}No scaler of job {{ $labels.job }} has been scraped{{ end }} for %(scalerDownFor)s: KEDA may get no replica count from it.' % c,
            },
          },
          {
            alert: 'KedastralScalerFallback',
            expr: |||
              sum by (job, reason) (rate(kedastral_scaler_fallbacks_total{%(scalerSelector)s}[%(rateInterval)s])) > 0
            ||| % c,
            'for': c.scalerFallbackFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Kedastral scaler does not serve a fresh plan.',
              description: 'The scaler {{ $labels.job }} answers KEDA from a plan that is {{ $labels.reason }} ({{ $value | humanize }} answers per second) for %(scalerFallbackFor)s: a stale plan is followed until its horizon runs out, an expired or missing one is answered with defaultMin; the workload is not scaled on a fresh forecast.' % c,
            },
          },
        ],
      },
    ]),
  },
}
