{{/* SPDX-License-Identifier: Apache-2.0 */}}
{{/* Names and labels shared by the templates. */}}

{{- define "gprofiler.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gprofiler.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "gprofiler.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "gprofiler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gprofiler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gprofiler.labels" -}}
{{ include "gprofiler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "gprofiler.secretName" -}}
{{- default (printf "%s-token" (include "gprofiler.fullname" .)) .Values.gprofiler.existingSecret }}
{{- end }}

{{- define "gprofiler.serviceAccountName" -}}
{{- printf "%s-privileged" (include "gprofiler.fullname" .) }}
{{- end }}
