{{/* Names and labels shared by every object of the chart. */}}
{{- define "modelhost.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "modelhost.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "modelhost.labels" -}}
{{ include "modelhost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* preStop + drain + hostd's 20 s cleanup grace + margin (values.yaml explains). */}}
{{- define "modelhost.terminationGracePeriodSeconds" -}}
{{- $drainSeconds := div (add .Values.drainTimeoutMs 999) 1000 -}}
{{- add .Values.preStopSleepSeconds $drainSeconds 20 .Values.terminationMarginSeconds -}}
{{- end -}}
