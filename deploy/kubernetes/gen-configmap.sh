#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# gen-configmap.sh POLICY > 20-configmap.yaml
# The ConfigMap carries the policy file byte for byte (a YAML block scalar); `make k8s-validate`
# checks that 20-configmap.yaml still matches policy/iredmail.yaml. Regenerate with
# `make k8s-manifests`.
set -eu
policy=$1
cat <<HDR
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The policy the agent enforces, mounted at /etc/bindguard/policy.yaml. Generated from
# $policy by deploy/kubernetes/gen-configmap.sh (make k8s-manifests); edit that file, not
# this one, or replace this ConfigMap with your own policy (check it with \`bindguard check\`).
#
# The DaemonSet mounts the ConfigMap as a directory, never with subPath: only then does the
# kubelet update the file in place (an atomic swap of the ..data symlink) when the ConfigMap
# changes.
apiVersion: v1
kind: ConfigMap
metadata:
  name: bindguard-policy
  namespace: bindguard
  labels:
    app.kubernetes.io/name: bindguard
data:
  policy.yaml: |
HDR
sed 's/^\(.\)/    \1/' "$policy"
