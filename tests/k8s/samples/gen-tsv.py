#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""gen-tsv.py - write cgroup-paths.tsv: the recorded paths (from recorded/, after
`make k8s-test K8S_RECORD_SAMPLES=...`) and the documented ones (below), each with the answer a
cgroup-path parser must give. Run from this directory."""
import re

rows = []
cur = None
for line in open("recorded/cgroupfs-hybrid.proc-cgroup.txt"):
    m = re.match(r"## pod (\S+)/(\S+) uid (\S+) qos (\S+) container (\S+) id (\S+)", line)
    if m:
        cur = dict(uid=m.group(3), qos=m.group(4), id=m.group(6), kind="container")
        continue
    m = re.match(r"## pod (\S+)/(\S+) sandbox \(pause\) id (\S+)", line)
    if m:
        cur = dict(cur, id=m.group(3), kind="sandbox")
        continue
    if line.startswith("0::") and cur:
        rows.append(("recorded", "cgroupfs", "containerd-1.6", line[3:].strip(), cur["kind"], cur["qos"],
                     cur["uid"], cur["id"]))
# The levels above the containers, from the recorded tree.
for line in open("recorded/cgroupfs-hybrid.kubepods-tree.txt"):
    p = line.strip()
    if p.startswith("#"):
        continue
    parts = p.split("/")
    last = parts[-1]
    if last.startswith("pod"):
        qos = parts[-2] if parts[-2] in ("burstable", "besteffort") else "guaranteed"
        rows.append(("recorded", "cgroupfs", "containerd-1.6", p, "pod", qos, last[3:], "-"))
    elif last in ("kubepods", "burstable", "besteffort"):
        rows.append(("recorded", "cgroupfs", "containerd-1.6", p, "none", "-", "-", "-"))

uid = "3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a5c73"
u_ = uid.replace("-", "_")  # systemd unit names write the uid's dashes as underscores
cid = "9b1e6f0c2a4d8e7f1c3b5a79d2e4f6081a3c5e7b9d1f2a4c6e8b0d2f4a6c8e0b"
sid = "51c7e9a3f5b1d7c9e3a5f7b9d1c3e5a7f9b1d3c5e7a9f1b3d5c7e9a1f3b5d7c9"
burst = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice" % u_
best = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice" % u_
guar = "/kubepods.slice/kubepods-pod%s.slice" % u_
D = "documented"
rows += [
    (D, "systemd", "containerd", "%s/cri-containerd-%s.scope" % (burst, cid), "container", "burstable", uid, cid),
    (D, "systemd", "containerd", "%s/cri-containerd-%s.scope" % (burst, sid), "container", "burstable", uid, sid),
    (D, "systemd", "containerd", "%s/cri-containerd-%s.scope" % (best, cid), "container", "besteffort", uid, cid),
    (D, "systemd", "containerd", "%s/cri-containerd-%s.scope" % (guar, cid), "container", "guaranteed", uid, cid),
    (D, "systemd", "containerd", burst, "pod", "burstable", uid, "-"),
    (D, "systemd", "containerd", guar, "pod", "guaranteed", uid, "-"),
    (D, "systemd", "-", "/kubepods.slice/kubepods-burstable.slice", "none", "-", "-", "-"),
    (D, "systemd", "-", "/kubepods.slice", "none", "-", "-", "-"),
    (D, "systemd", "cri-o", "%s/crio-%s.scope" % (burst, cid), "container", "burstable", uid, cid),
    (D, "systemd", "cri-o", "%s/crio-%s.scope" % (guar, cid), "container", "guaranteed", uid, cid),
    (D, "systemd", "cri-o", "%s/crio-conmon-%s.scope" % (burst, cid), "conmon", "burstable", uid, cid),
    (D, "systemd", "docker", "%s/docker-%s.scope" % (best, cid), "container", "besteffort", uid, cid),
    (D, "cgroupfs", "cri-o", "/kubepods/burstable/pod%s/crio-%s" % (uid, cid), "container", "burstable", uid, cid),
    (D, "cgroupfs", "cri-o", "/kubepods/burstable/pod%s/crio-conmon-%s" % (uid, cid), "conmon", "burstable", uid, cid),
    (D, "cgroupfs", "docker", "/kubepods/besteffort/pod%s/%s" % (uid, cid), "container", "besteffort", uid, cid),
    (D, "cgroupfs", "containerd", "/kubepods/pod%s/%s" % (uid, cid), "container", "guaranteed", uid, cid),
    # Host processes: no pod.
    (D, "systemd", "-", "/system.slice/containerd.service", "none", "-", "-", "-"),
    (D, "systemd", "-", "/system.slice/mariadb.service", "none", "-", "-", "-"),
    (D, "systemd", "-", "/user.slice/user-1000.slice/session-2.scope", "none", "-", "-", "-"),
    (D, "systemd", "-", "/", "none", "-", "-", "-"),
    # Look-alikes that must not be taken for pods.
    (D, "systemd", "-", "/system.slice/kubepods-lookalike.service", "none", "-", "-", "-"),
    (D, "cgroupfs", "-", "/kubepods/burstable/podnot-a-uid/%s" % cid, "none", "-", "-", "-"),
]
seen = set()
with open("cgroup-paths.tsv", "w") as f:
    f.write("# origin\tdriver\truntime\tpath\tkind\tqos\tpod_uid\tcontainer_id\n")
    for r in rows:
        if r[3] not in seen:
            seen.add(r[3])
            f.write("\t".join(r) + "\n")
print("cgroup-paths.tsv: %d rows" % len(seen))
