{{/* The `helm test` pod, as a named template so the chart tests can render it too (Helm leaves hooks out of rendered manifests). */}}
{{- define "mixtral.testCompletionPod" -}}
# `helm test <release>`: one completion through the API Service; fails unless it answers 200 with text.
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "mixtral.fullname" . }}-test-completion
  labels:
    {{- include "mixtral.labels" . | nindent 4 }}
    app.kubernetes.io/component: test
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: completion
      image: "{{ .Values.tests.image.repository }}:{{ .Values.tests.image.tag }}"
      command:
        - /bin/sh
        - -ec
        - |
          auth=""
          if [ -n "$API_KEY" ]; then auth="Authorization: Bearer $API_KEY"; fi
          body=$(curl -fsS --max-time 300 -H "Content-Type: application/json" ${auth:+-H "$auth"} \
            -d "{\"prompt\": \"$PROMPT\", \"max_tokens\": $MAX_TOKENS, \"temperature\": 0}" "$API/v1/completions")
          echo "$body"
          echo "$body" | grep -q '"text"'
      env:
        - name: API
          value: "http://{{ include "mixtral.fullname" . }}.{{ .Release.Namespace }}.svc.{{ .Values.clusterDomain }}:{{ .Values.ports.http }}"
        - name: PROMPT
          value: {{ .Values.tests.prompt | quote }}
        - name: MAX_TOKENS
          value: {{ .Values.tests.maxTokens | quote }}
        {{- if .Values.coordinator.apiKeySecret.name }}
        - name: API_KEY
          valueFrom:
            secretKeyRef:
              name: {{ .Values.coordinator.apiKeySecret.name | quote }}
              key: {{ .Values.coordinator.apiKeySecret.key | quote }}
        {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        requests: {cpu: 50m, memory: 32Mi}
        limits: {memory: 64Mi}
{{- end -}}
