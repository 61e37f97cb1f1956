{{- /*
Helpers shared by the parent chart and its local subcharts (Helm's named templates are global).

"standin.plain" renders one object that only needs to exist under its kind, name and namespace
(RBAC, Services, webhook configurations, Secrets ...): dict "o" (kind, name, ns?, labels?) "root" ($).
Bindings point at the same-named role; webhooks and Services carry the minimum the API accepts.
*/ -}}
{{- define "standin.plain" -}}
{{- $o := .o -}}
{{- $api := dict "ClusterRole" "rbac.authorization.k8s.io/v1" "ClusterRoleBinding" "rbac.authorization.k8s.io/v1" "Role" "rbac.authorization.k8s.io/v1" "RoleBinding" "rbac.authorization.k8s.io/v1" "Service" "v1" "ServiceAccount" "v1" "Secret" "v1" "MutatingWebhookConfiguration" "admissionregistration.k8s.io/v1" "ValidatingWebhookConfiguration" "admissionregistration.k8s.io/v1" "IngressClass" "networking.k8s.io/v1" }}
---
apiVersion: {{ index $api $o.kind }}
kind: {{ $o.kind }}
metadata:
  name: {{ $o.name | quote }}
  {{- if $o.ns }}
  namespace: {{ $o.ns }}
  {{- end }}
  labels:
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    app.kubernetes.io/managed-by: {{ .root.Release.Service }}
    {{- with $o.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $o.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- if or (eq $o.kind "ClusterRole") (eq $o.kind "Role") }}
rules: []
{{- else if or (eq $o.kind "ClusterRoleBinding") (eq $o.kind "RoleBinding") }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $o.roleKind | default (trimSuffix "Binding" $o.kind) }}
  name: {{ $o.role | default $o.name | quote }}
subjects: []
{{- else if eq $o.kind "Service" }}
spec:
  selector:
    {{- toYaml ($o.selector | default (dict "app.kubernetes.io/name" $o.name)) | nindent 4 }}
  ports:
    - name: https
      port: {{ $o.port | default 443 }}
      targetPort: {{ $o.targetPort | default 9443 }}
{{- else if eq $o.kind "Secret" }}
type: Opaque
{{- else if or (eq $o.kind "MutatingWebhookConfiguration") (eq $o.kind "ValidatingWebhookConfiguration") }}
webhooks: []
{{- else if eq $o.kind "IngressClass" }}
spec:
  controller: {{ $o.controller }}
  {{- with $o.parameters }}
  parameters:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- /* "standin.deployment": dict "name" "ns" "labels" (selector = pod labels) "sa" "image" "replicas"? */ -}}
{{- define "standin.deployment" }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ .ns }}
  labels:
    {{- toYaml .labels | nindent 4 }}
spec:
  replicas: {{ .replicas | default 1 }}
  selector:
    matchLabels:
      {{- toYaml .labels | nindent 6 }}
  template:
    metadata:
      labels:
        {{- toYaml .labels | nindent 8 }}
    spec:
      serviceAccountName: {{ .sa }}
      containers:
        - name: {{ .container | default "main" }}
          image: {{ .image }}
{{- end -}}
