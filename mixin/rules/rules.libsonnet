// Recording rules of the Kedastral mixin, used by the alerts and the
// dashboards.
{
  prometheusRules+:: {
    local c = $._config,
    groups+: [
      {
        name: 'kedastral.rules',
        rules: [
          {
            // Error ratio (WAPE) averaged over the judged horizons.
            record: 'workload:kedastral_forecast_error_ratio:avg',
            expr: |||
              avg by (job, workload) (kedastral_forecast_error_ratio{%(forecasterSelector)s})
            ||| % c,
          },
          {
            // Bias ratio averaged over the judged horizons: negative when
            // the forecasts run low.
            record: 'workload:kedastral_forecast_bias_ratio:avg',
            expr: |||
              avg by (job, workload) (kedastral_forecast_bias_ratio{%(forecasterSelector)s})
            ||| % c,
          },
          {
            // Peak of the replica plan over the horizon.
            record: 'workload:kedastral_forecast_replicas:max',
            expr: |||
              max by (job, workload) (kedastral_forecast_replicas{%(forecasterSelector)s})
            ||| % c,
          },
          {
            // Age of the newest forecast.
            record: 'workload:kedastral_forecast_age_seconds:time',
            expr: |||
              time() - max by (job, workload) (kedastral_forecast_generated_timestamp_seconds{%(forecasterSelector)s})
            ||| % c,
          },
        ],
      },
      {
        name: 'kedastral-kube.rules',
        rules: [
          {
            // Actual replicas of the workload's Deployment
            // (_config.deploymentWorkloadLabel/Regex).
            record: 'workload:kube_deployment_status_replicas:max',
            expr: |||
              max by (workload) (
                label_replace(kube_deployment_status_replicas{%(kubeStateMetricsSelector)s, %(deploymentWorkloadLabel)s=~"%(deploymentWorkloadRegex)s"}, "workload", "$1", "%(deploymentWorkloadLabel)s", "%(deploymentWorkloadRegex)s")
              )
            ||| % c,
          },
          {
            // maxReplicas of the workload's HPA (_config.hpaWorkloadLabel/Regex).
            record: 'workload:kube_horizontalpodautoscaler_spec_max_replicas:max',
            expr: |||
              max by (workload) (
                label_replace(kube_horizontalpodautoscaler_spec_max_replicas{%(kubeStateMetricsSelector)s, %(hpaWorkloadLabel)s=~"%(hpaWorkloadRegex)s"}, "workload", "$1", "%(hpaWorkloadLabel)s", "%(hpaWorkloadRegex)s")
              )
            ||| % c,
          },
          {
            // Replicas wanted now over the replicas running.
            record: 'workload:kedastral_forecast_desired_replicas:ratio_actual',
            expr: |||
              max by (job, workload) (kedastral_forecast_desired_replicas{%(forecasterSelector)s})
              / on (workload) group_left
              workload:kube_deployment_status_replicas:max
            ||| % c,
          },
        ],
      },
    ],
  },
}
