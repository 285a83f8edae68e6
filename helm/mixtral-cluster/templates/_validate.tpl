{{/* Checks across values that values.schema.json cannot express; every template that depends on them includes this. */}}
{{- define "mixtral.validate" -}}
{{- $n := int .Values.expertNodes.count -}}
{{- $r := int .Values.expertNodes.replicationFactor -}}
{{- if gt $r $n -}}
{{- fail (printf "expertNodes.replicationFactor (%d) must not exceed expertNodes.count (%d): each expert is held by that many different expert-node pods" $r $n) -}}
{{- end -}}
{{- if and .Values.expertNodes.pdb.enabled (ge (int .Values.expertNodes.pdb.maxUnavailable) $r) (gt $r 1) -}}
{{- fail (printf "expertNodes.pdb.maxUnavailable (%d) must be below expertNodes.replicationFactor (%d), or a drain may take every holder of an expert" (int .Values.expertNodes.pdb.maxUnavailable) $r) -}}
{{- end -}}
{{- if not (hasPrefix (printf "%s/" (trimSuffix "/" .Values.model.mountPath)) .Values.model.path) -}}
{{- fail (printf "model.path (%s) must be inside model.mountPath (%s), where the model volume is mounted" .Values.model.path .Values.model.mountPath) -}}
{{- end -}}
{{- if eq .Values.cluster.mode "bootstrap" -}}
{{- $coordinators := ternary (int .Values.coordinator.autoscaling.minReplicas) (int .Values.coordinator.replicas) .Values.coordinator.autoscaling.enabled -}}
{{- $required := int .Values.cluster.bootstrap.requiredContactPoints -}}
{{- if gt $required (add $n $coordinators) -}}
{{- fail (printf "cluster.bootstrap.requiredContactPoints (%d) must not exceed the pods of the release (%d expert nodes + %d coordinators): no pod would ever found the cluster" $required $n $coordinators) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.coordinator.autoscaling.enabled (lt (int .Values.coordinator.autoscaling.maxReplicas) (int .Values.coordinator.autoscaling.minReplicas)) -}}
{{- fail "coordinator.autoscaling.maxReplicas must be >= minReplicas" -}}
{{- end -}}
{{- end -}}
