{{- /*
Required values, checked in the order of the real chart (chart 2.2.2), with its failure messages.
Also prepends s3:// to tlsCertificateS3Bucket and derives image.repository from the region.
*/ -}}
{{- define "validateRequiredValues" -}}
{{- $v := .Values -}}
{{- if and $v.s3.enabled (not $v.s3.serviceAccountRoleArn) -}}
{{- fail "A valid role for the Mountpoint for s3 CSI driver must be set via the --set s3.serviceAccountRoleArn=<arn> flag." -}}
{{- end -}}
{{- if not $v.executionRoleArn -}}
{{- fail "executionRoleArn must be set via the --set executionRoleArn=<arn> flag" -}}
{{- end -}}
{{- if not $v.tlsCertificateS3Bucket -}}
{{- fail "tlsCertificateS3Bucket must be set via the --set tlsCertificateS3Bucket=<s3 Bucket> flag" -}}
{{- else if not (hasPrefix "s3://" (toString $v.tlsCertificateS3Bucket)) -}}
{{- $_ := set $v "tlsCertificateS3Bucket" (printf "s3://%s" $v.tlsCertificateS3Bucket) -}}
{{- end -}}
{{- if not $v.region -}}
{{- fail "A valid region is required!" -}}
{{- end -}}
{{- if not $v.eksClusterName -}}
{{- fail "An EKS cluster name is required!" -}}
{{- end -}}
{{- if and $v.keda.enabled (not $v.keda.podIdentity.aws.irsa.roleArn) -}}
{{- fail "A valid role for the KEDA operator must be set via the --set keda.podIdentity.aws.irsa.roleArn=<arn> flag." -}}
{{- end -}}
{{- if and $v.alb.enabled (not $v.alb.vpcId) -}}
{{- fail "alb.vpcId must be set when alb.enabled=true" -}}
{{- end -}}
{{- if and $v.alb.enabled $v.alb.serviceAccount.create (not $v.alb.serviceAccount.roleArn) -}}
{{- fail "A valid role for the AWS Load Balancer Controller must be set via the --set alb.serviceAccount.roleArn=<arn> flag." -}}
{{- end -}}
{{- if not (hasKey $v.image.repositoryDomainMap (toString $v.region)) -}}
{{- fail "Unsupported AWS Region" -}}
{{- end -}}
{{- if not $v.image.repository -}}
{{- $_ := set $v.image "repository" (index $v.image.repositoryDomainMap (toString $v.region)) -}}
{{- end -}}
{{- end -}}

{{- define "hpio.labels" -}}
app.kubernetes.io/name: {{ .Values.namePrefix }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
