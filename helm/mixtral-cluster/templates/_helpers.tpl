{{/* Names: <release>-mixtral-cluster unless the release name already says it; 63 characters at most. */}}
{{- define "mixtral.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mixtral.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The expert nodes' StatefulSet (its pods are <this>-0, <this>-1, ...) and their headless Service. */}}
{{- define "mixtral.nodeName" -}}{{ include "mixtral.fullname" . }}-node{{- end -}}
{{- define "mixtral.headlessName" -}}{{ include "mixtral.fullname" . }}-nodes{{- end -}}
{{- define "mixtral.coordinatorName" -}}{{ include "mixtral.fullname" . }}-coordinator{{- end -}}

{{- define "mixtral.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mixtral.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mixtral-cluster
{{- end -}}

{{- define "mixtral.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mixtral.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mixtral.nodeSelectorLabels" -}}
{{ include "mixtral.selectorLabels" . }}
app.kubernetes.io/component: expert-node
{{- end -}}

{{- define "mixtral.coordinatorSelectorLabels" -}}
{{ include "mixtral.selectorLabels" . }}
app.kubernetes.io/component: coordinator
{{- end -}}

{{- define "mixtral.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mixtral.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mixtral.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The stable DNS name of expert-node pod $i: <node>-<i>.<headless>.<namespace>.svc.<domain> */}}
{{- define "mixtral.nodePodHost" -}}
{{- $ := index . 0 -}}{{- $i := index . 1 -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "mixtral.nodeName" $) (int $i) (include "mixtral.headlessName" $) $.Release.Namespace $.Values.clusterDomain -}}
{{- end -}}

{{/* Seeds: the first cluster.seedCount expert-node pods, HOST:PORT, comma-separated. Pod 0 is the first: when
     none of the others answers it founds the cluster; any other pod only ever joins. */}}
{{- define "mixtral.seeds" -}}
{{- $n := min (int .Values.cluster.seedCount) (int .Values.expertNodes.count) -}}
{{- $seeds := list -}}
{{- range $i := until (int $n) -}}
{{- $seeds = append $seeds (printf "%s:%d" (include "mixtral.nodePodHost" (list $ $i)) (int $.Values.ports.cluster)) -}}
{{- end -}}
{{- join "," $seeds -}}
{{- end -}}

{{/* cluster.mode=bootstrap: the pods whose contact points are probed, as a label selector (both roles carry these labels). */}}
{{- define "mixtral.bootstrapSelector" -}}
{{- printf "app.kubernetes.io/instance=%s,app.kubernetes.io/part-of=mixtral-cluster" .Release.Name -}}
{{- end -}}

{{/* Environment every pod shares: the model and how to find the cluster. */}}
{{- define "mixtral.clusterEnv" -}}
- name: MIXTRAL_MODEL
  value: {{ .Values.model.path | quote }}
{{- if eq .Values.cluster.mode "seeds" }}
- name: MIXTRAL_SEEDS
  value: {{ include "mixtral.seeds" . | quote }}
{{- else }}
# cluster bootstrap: the contact points are this release's pods (expert nodes and coordinators) listed through
# the Kubernetes API, each at its container port named "management", by pod IP
- name: MIXTRAL_CLUSTER_BOOTSTRAP
  value: kubernetes-api
- name: MIXTRAL_BOOTSTRAP_SERVICE
  value: {{ include "mixtral.fullname" . | quote }}
- name: MIXTRAL_BOOTSTRAP_SELECTOR
  value: {{ include "mixtral.bootstrapSelector" . | quote }}
- name: MIXTRAL_BOOTSTRAP_REQUIRED_CONTACT_POINTS
  value: {{ .Values.cluster.bootstrap.requiredContactPoints | quote }}
# the contact point listens on the pod IP: what discovery reports, so each pod recognises its own
- name: MIXTRAL_MANAGEMENT_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: MIXTRAL_MANAGEMENT_PORT
  value: {{ .Values.ports.management | quote }}
{{- end }}
{{- end -}}

{{/* The model volume (pvc, hostPath or a shared download cache); empty when each pod gets its own cache. */}}
{{- define "mixtral.modelVolume" -}}
{{- if eq .Values.model.source "pvc" }}
- name: model
  persistentVolumeClaim:
    claimName: {{ .Values.model.pvc.claimName | quote }}
    readOnly: true
{{- else if eq .Values.model.source "hostPath" }}
- name: model
  hostPath:
    path: {{ .Values.model.hostPath.path | quote }}
    type: Directory
{{- else if .Values.model.cache.existingClaim }}
- name: model
  persistentVolumeClaim:
    claimName: {{ .Values.model.cache.existingClaim | quote }}
{{- end }}
{{- end -}}

{{- define "mixtral.modelMount" -}}
- name: model
  mountPath: {{ .Values.model.mountPath | quote }}
  readOnly: true
{{- end -}}

{{/* source=url: fetch model.url to model.path once per volume, checked against model.sha256 when given.
     A download goes to a .partial file renamed into place, so a stopped pod never leaves half a model. */}}
{{- define "mixtral.downloadInitContainer" -}}
{{- if eq .Values.model.source "url" }}
- name: download-model
  image: "{{ .Values.model.download.image.repository }}:{{ .Values.model.download.image.tag }}"
  imagePullPolicy: {{ .Values.model.download.image.pullPolicy }}
  command:
    - /bin/sh
    - -ec
    - |
      target="$MODEL_PATH"
      verified="$target.sha256-verified"
      if [ -s "$target" ] && { [ -z "$MODEL_SHA256" ] || [ "$(cat "$verified" 2>/dev/null)" = "$MODEL_SHA256" ]; }; then
        echo "model present: $target"; exit 0
      fi
      mkdir -p "$(dirname "$target")"
      echo "downloading $MODEL_URL to $target"
      curl -fL --retry 5 --retry-delay 5 --no-progress-meter -o "$target.partial" "$MODEL_URL"
      if [ -n "$MODEL_SHA256" ]; then
        echo "$MODEL_SHA256  $target.partial" | sha256sum -c -
        echo "$MODEL_SHA256" > "$verified"
      fi
      mv "$target.partial" "$target"
  env:
    - name: MODEL_URL
      value: {{ .Values.model.url | quote }}
    - name: MODEL_PATH
      value: {{ .Values.model.path | quote }}
    - name: MODEL_SHA256
      value: {{ .Values.model.sha256 | lower | quote }}
  volumeMounts:
    - name: model
      mountPath: {{ .Values.model.mountPath | quote }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.model.download.resources | nindent 4 }}
{{- end }}
{{- end -}}

{{/* What JVMs need writable with a read-only root filesystem: /tmp (netty unpacks its native transport there). */}}
{{- define "mixtral.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}
