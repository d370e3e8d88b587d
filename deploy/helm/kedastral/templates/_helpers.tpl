{{/* Name of the chart, or nameOverride. */}}
{{- define "kedastral.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name objects are named after: the release name, with the chart name
appended unless the release name already contains it.
*/}}
{{- define "kedastral.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Names of the components' objects: the full name cut to 41 characters, so
that with "-forecaster" a StatefulSet name stays within 52 (its pods'
controller-revision-hash label adds up to 11) and the two components never
get the same name.
*/}}
{{- define "kedastral.forecaster.fullname" -}}
{{- printf "%s-forecaster" (include "kedastral.fullname" . | trunc 41 | trimSuffix "-") }}
{{- end }}
{{- define "kedastral.forecaster.headless" -}}
{{- printf "%s-headless" (include "kedastral.forecaster.fullname" .) }}
{{- end }}
{{- define "kedastral.scaler.fullname" -}}
{{- printf "%s-scaler" (include "kedastral.fullname" . | trunc 41 | trimSuffix "-") }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "kedastral.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "kedastral.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kedastral
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of a component: include with (list $ "forecaster"). */}}
{{- define "kedastral.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "kedastral.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* All labels of a component: include with (list $ "forecaster"). */}}
{{- define "kedastral.componentLabels" -}}
{{ include "kedastral.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Image of a component: include with (list $ "forecaster"). */}}
{{- define "kedastral.image" -}}
{{- $root := index . 0 }}
{{- $repo := printf "%s-%s" $root.Values.image.repository (index . 1) }}
{{- if $root.Values.image.digest }}
{{- printf "%s@%s" $repo $root.Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $root.Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the ServiceAccount of the pods. */}}
{{- define "kedastral.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kedastral.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the forecaster receives remote write (push mode). */}}
{{- define "kedastral.forecaster.push" -}}
{{- if or (not .Values.forecaster.prometheus.url) .Values.forecaster.remoteWriteReceiver }}true{{ end }}
{{- end }}

{{/*
"true" when the forecaster is a StatefulSet: it keeps data (push mode), its
pods need a stable shard index, or its HA replicas must each be reachable
by name (the scaler reads every one and keeps the freshest plan).
*/}}
{{- define "kedastral.forecaster.stateful" -}}
{{- if or (include "kedastral.forecaster.push" .) (gt (int .Values.forecaster.shards) 1) (gt (int .Values.forecaster.replicas) 1) }}true{{ end }}
{{- end }}

{{/* Number of forecaster pods. */}}
{{- define "kedastral.forecaster.pods" -}}
{{- if gt (int .Values.forecaster.shards) 1 }}{{ int .Values.forecaster.shards }}{{ else }}{{ int .Values.forecaster.replicas }}{{ end }}
{{- end }}

{{/*
Base URLs of the forecasters, one per line: every pod of a StatefulSet by
its stable DNS name, or the Service of a Deployment.
*/}}
{{- define "kedastral.forecaster.urls" -}}
{{- $port := int .Values.forecaster.service.port }}
{{- if include "kedastral.forecaster.stateful" . }}
{{- $name := include "kedastral.forecaster.fullname" . }}
{{- $headless := include "kedastral.forecaster.headless" . }}
{{- range $i := until (int (include "kedastral.forecaster.pods" .)) }}
{{ printf "http://%s-%d.%s.%s.svc:%d" $name $i $headless $.Release.Namespace $port }}
{{- end }}
{{- else }}
{{ printf "http://%s.%s.svc:%d" (include "kedastral.forecaster.fullname" .) .Release.Namespace $port }}
{{- end }}
{{- end }}

{{/* Name of the scaler's TLS Secret. */}}
{{- define "kedastral.scaler.tlsSecret" -}}
{{- default (printf "%s-tls" (include "kedastral.scaler.fullname" .)) .Values.scaler.tls.secretName }}
{{- end }}

{{/* Name of the client certificate Secret KEDA presents (mutual TLS). */}}
{{- define "kedastral.scaler.clientSecret" -}}
{{- printf "%s-client-tls" (include "kedastral.scaler.fullname" .) }}
{{- end }}

{{/*
gRPC address of the scaler, for ScaledObjects: <service>.<namespace>.svc,
which KEDA's resolver completes with whatever the cluster domain is.
*/}}
{{- define "kedastral.scaler.address" -}}
{{- printf "%s.%s.svc:%d" (include "kedastral.scaler.fullname" .) .Release.Namespace (int .Values.scaler.service.grpcPort) }}
{{- end }}

{{/* The forecaster's configuration file. */}}
{{- define "kedastral.forecaster.config" -}}
{{- $workloads := list }}
{{- range .Values.workloads }}
{{- $workloads = append $workloads (omit . "scaledObject") }}
{{- end }}
{{- $cfg := dict "workloads" $workloads }}
{{- if .Values.forecaster.prometheus.url }}
{{- $_ := set $cfg "prometheus" .Values.forecaster.prometheus }}
{{- end }}
{{- with .Values.forecaster.remoteWrite }}
{{- $_ := set $cfg "remote_write" . }}
{{- end }}
{{- with .Values.forecaster.externalLabels }}
{{- $_ := set $cfg "external_labels" . }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Seconds of a Prometheus duration such as 1h30m (milliseconds dropped). */}}
{{- define "kedastral.seconds" -}}
{{- $units := dict "y" 31536000 "w" 604800 "d" 86400 "h" 3600 "m" 60 "s" 1 "ms" 0 }}
{{- $total := 0 }}
{{- range $part := regexFindAll "[0-9]+(ms|[ywdhms])" (toString .) -1 }}
{{- $n := int64 (regexFind "^[0-9]+" $part) }}
{{- $total = add $total (mul $n (index $units (regexReplaceAll "^[0-9]+" $part ""))) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
Labels of a workload's ScaledObject, which KEDA copies onto its HPA:
include with (list $ workloadName).
*/}}
{{- define "kedastral.scaledObjectLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/part-of: kedastral
kedastral.io/workload: {{ index . 1 }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Name of a workload's TriggerAuthentication: include with (list $ workloadName). */}}
{{- define "kedastral.scaler.authName" -}}
{{- printf "%s-%s" (include "kedastral.scaler.fullname" (index . 0)) (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}
