{{/*
Names, labels and small values shared by the templates. Nothing here renders
an object by itself.
*/}}

{{/* replicant.name is the chart name, or nameOverride. */}}
{{- define "replicant.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
replicant.fullname prefixes every object: fullnameOverride, else the release
name when it already says "replicant", else "<release>-replicant". Cut to 50
characters so suffixes such as "-leader-election" still fit in 63.
*/}}
{{- define "replicant.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* replicant.chart is "name-version" for the helm.sh/chart label. */}}
{{- define "replicant.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
replicant.selectorLabels pick the operator's pods. The component label keeps
them apart from replica group members, which carry app.kubernetes.io/name:
replicant too.
*/}}
{{- define "replicant.selectorLabels" -}}
app.kubernetes.io/name: {{ include "replicant.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* replicant.labels go on every object the chart creates. */}}
{{- define "replicant.labels" -}}
helm.sh/chart: {{ include "replicant.chart" . }}
app.kubernetes.io/name: {{ include "replicant.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: replicant
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* replicant.serviceAccountName is the operator's ServiceAccount. */}}
{{- define "replicant.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "replicant.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* replicant.image is the image reference: repository@digest, or repository:tag (default appVersion). */}}
{{- define "replicant.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* replicant.leaseName is the leader election Lease. */}}
{{- define "replicant.leaseName" -}}
{{- default (printf "%s-leader" (include "replicant.fullname" .)) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/*
replicant.groupNamespaces lists the namespaces that hold replica groups, for
the NetworkPolicies: networkPolicy.namespaces, else the watched namespace,
else the release namespace.
*/}}
{{- define "replicant.groupNamespaces" -}}
{{- if .Values.networkPolicy.namespaces }}
{{- toJson .Values.networkPolicy.namespaces }}
{{- else if .Values.operator.watchNamespace }}
{{- toJson (list .Values.operator.watchNamespace) }}
{{- else }}
{{- toJson (list .Release.Namespace) }}
{{- end }}
{{- end }}

{{/*
replicant.validate fails the render on combinations the schema cannot express.
*/}}
{{- define "replicant.validate" -}}
{{- $le := .Values.operator.leaderElection }}
{{- if and (gt (int .Values.operator.replicas) 1) (not $le.enabled) }}
{{- fail (printf "operator.replicas is %d but operator.leaderElection.enabled is false: two operators would reconcile the same groups at once; enable leader election or set operator.replicas to 1" (int .Values.operator.replicas)) }}
{{- end }}
{{- if not (gt (float64 $le.leaseDurationSeconds) (float64 $le.renewDeadlineSeconds)) }}
{{- fail "operator.leaderElection.leaseDurationSeconds must be greater than renewDeadlineSeconds" }}
{{- end }}
{{- if not (gt (float64 $le.renewDeadlineSeconds) (float64 $le.retryPeriodSeconds)) }}
{{- fail "operator.leaderElection.renewDeadlineSeconds must be greater than retryPeriodSeconds" }}
{{- end }}
{{- end }}

{{/* replicant.operatorLabels go on the operator's own objects (Deployment, Service, RBAC, ...). */}}
{{- define "replicant.operatorLabels" -}}
{{ include "replicant.labels" . }}
app.kubernetes.io/component: operator
{{- end }}
