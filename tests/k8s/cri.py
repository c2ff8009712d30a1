#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""cri.py - a small CRI client: create pods and containers in containerd the way a kubelet does.

crictl is not packaged for Debian, so the tests speak CRI (k8s.io/cri-api runtime.v1) themselves,
over gRPC (python3-grpcio), with the messages of criapi.proto compiled by python3-grpc-tools
into build/k8s/gen (or $CRI_GEN_DIR) on first use.

As a library:

    cri = Cri("/tmp/x/containerd.sock", cgroot="bindguard-e2e-x", log_root="/tmp/x/logs/pods")
    pod = cri.run_pod("mysql-0", "db", labels={"app": "mysql"})
    cid = cri.create_container(pod, "mysql", "localhost/bindguard-test/bindprobe:1",
                               args=["--hold", "tcp4:0.0.0.0:3306"])
    cri.start_container(cid)
    cri.container_pid(cid), cri.container_log(cid)
    cri.teardown()              # every container and sandbox, as a kubelet would on drain

As a command (for poking at a running instance):

    cri.py --socket SOCK version | pods | ps | images | inspect ID | inspectp ID | teardown

Pods get what a kubelet gives them: a uid, the io.kubernetes.pod.* labels, the
kubernetes.io/config.* annotations, a log directory <ns>_<name>_<uid>, a cgroup parent
/<cgroot>/kubepods/<qos>/pod<uid> (Guaranteed: /<cgroot>/kubepods/pod<uid>); containers get the
io.kubernetes.container.* labels and annotations and a log path <name>/<attempt>.log.
"""

import argparse
import json
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PROTO = os.path.join(HERE, "criapi.proto")


def _load_stubs():
    """Compile criapi.proto when its generated modules are missing or older, then import them."""
    gen = os.environ.get("CRI_GEN_DIR") or os.path.join(REPO, "build", "k8s", "gen")
    out = os.path.join(gen, "criapi_pb2.py")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(PROTO):
        from grpc_tools import protoc  # python3-grpc-tools

        os.makedirs(gen, exist_ok=True)
        rc = protoc.main(["protoc", "-I" + HERE, "--python_out=" + gen,
                          "--grpc_python_out=" + gen, PROTO])
        if rc != 0:
            raise RuntimeError("protoc failed on %s (exit %d)" % (PROTO, rc))
    if gen not in sys.path:
        sys.path.insert(0, gen)
    import criapi_pb2
    import criapi_pb2_grpc

    return criapi_pb2, criapi_pb2_grpc


pb, pb_grpc = _load_stubs()

import grpc  # noqa: E402  (python3-grpcio; after the stubs, which import it too)

NODE = pb.NODE
POD = pb.POD
CONTAINER = pb.CONTAINER
STATES = {pb.CONTAINER_CREATED: "created", pb.CONTAINER_RUNNING: "running",
          pb.CONTAINER_EXITED: "exited", pb.CONTAINER_UNKNOWN: "unknown"}
PROPAGATION = {"private": pb.PROPAGATION_PRIVATE,
               "host-to-container": pb.PROPAGATION_HOST_TO_CONTAINER,
               "bidirectional": pb.PROPAGATION_BIDIRECTIONAL}


class CriError(Exception):
    pass


class Cri:
    def __init__(self, socket, cgroot="", log_root=None, timeout=60, record=None):
        self.socket = socket
        self.cgroot = cgroot.strip("/")
        self.log_root = log_root or os.path.join(os.path.dirname(socket), "logs", "pods")
        self.timeout = timeout
        self.record = record if record is not None else os.environ.get("CRI_RECORD")
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.rt = pb_grpc.RuntimeServiceStub(self.channel)
        self.img = pb_grpc.ImageServiceStub(self.channel)
        self.pods = {}  # sandbox id -> PodSandboxConfig (CreateContainer needs it again)

    def _call(self, stub, name, req):
        try:
            return getattr(stub, name)(req, timeout=self.timeout)
        except grpc.RpcError as e:
            raise CriError("%s: %s: %s" % (name, e.code().name, e.details())) from None

    # --- runtime ----------------------------------------------------------------------------
    def version(self):
        return self._call(self.rt, "Version", pb.VersionRequest(version="v1"))

    def pod_cgroup_parent(self, uid, qos):
        base = ("/" + self.cgroot if self.cgroot else "") + "/kubepods"
        if qos == "guaranteed":
            return "%s/pod%s" % (base, uid)
        return "%s/%s/pod%s" % (base, qos, uid)

    def run_pod(self, name, namespace, uid=None, labels=None, annotations=None,
                host_network=False, host_pid=False, privileged=False, qos="besteffort",
                sysctls=None):
        """RunPodSandbox with what a kubelet would pass for a pod of that spec. Returns its id."""
        uid = uid or str(uuid.uuid4())
        all_labels = {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                      "io.kubernetes.pod.uid": uid}
        all_labels.update(labels or {})
        all_annotations = {"kubernetes.io/config.seen": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z",
                                                                     time.gmtime()),
                           "kubernetes.io/config.source": "api"}
        all_annotations.update(annotations or {})
        log_dir = os.path.join(self.log_root, "%s_%s_%s" % (namespace, name, uid))
        os.makedirs(log_dir, exist_ok=True)
        ns = pb.NamespaceOption(network=NODE if host_network else POD,
                                pid=NODE if host_pid else CONTAINER, ipc=POD)
        config = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=0),
            hostname="" if host_network else name,
            log_directory=log_dir,
            labels=all_labels,
            annotations=all_annotations,
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=self.pod_cgroup_parent(uid, qos),
                sysctls=sysctls or {},
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=ns, privileged=privileged)))
        resp = self._call(self.rt, "RunPodSandbox", pb.RunPodSandboxRequest(config=config))
        pod_id = resp.pod_sandbox_id
        self.pods[pod_id] = config
        if self.record:
            with open(self.record, "a") as f:
                f.write(pod_id + "\n")
        return pod_id

    def create_container(self, pod_id, name, image, command=None, args=None, env=None,
                         mounts=None, caps_add=None, caps_drop=None, privileged=False,
                         readonly_rootfs=False, seccomp=None, labels=None, annotations=None,
                         memory_limit=0, cpu_shares=0):
        """CreateContainer in a sandbox made by run_pod.

        mounts: [{"host": path, "container": path, "readonly": bool,
                  "propagation": "private"|"host-to-container"|"bidirectional"}]
        seccomp: None (unconfined, the CRI default), "runtime/default" or "unconfined".
        """
        sandbox = self.pods[pod_id]
        md = sandbox.metadata
        all_labels = {"io.kubernetes.container.name": name, "io.kubernetes.pod.name": md.name,
                      "io.kubernetes.pod.namespace": md.namespace,
                      "io.kubernetes.pod.uid": md.uid}
        all_labels.update(labels or {})
        all_annotations = {"io.kubernetes.container.hash": "%08x" % (hash(name) & 0xffffffff),
                           "io.kubernetes.container.restartCount": "0",
                           "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                           "io.kubernetes.container.terminationMessagePolicy": "File",
                           "io.kubernetes.pod.terminationGracePeriod": "30"}
        all_annotations.update(annotations or {})
        os.makedirs(os.path.join(sandbox.log_directory, name), exist_ok=True)
        sc = pb.LinuxContainerSecurityContext(
            capabilities=pb.Capability(add_capabilities=caps_add or [],
                                       drop_capabilities=caps_drop or []),
            privileged=privileged,
            namespace_options=sandbox.linux.security_context.namespace_options,
            readonly_rootfs=readonly_rootfs)
        if seccomp == "runtime/default":
            sc.seccomp.profile_type = pb.SecurityProfile.RuntimeDefault
        elif seccomp == "unconfined":
            sc.seccomp.profile_type = pb.SecurityProfile.Unconfined
        config = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0),
            image=pb.ImageSpec(image=image),
            command=command or [],
            args=args or [],
            envs=[pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            mounts=[pb.Mount(container_path=m["container"], host_path=m["host"],
                             readonly=m.get("readonly", False),
                             propagation=PROPAGATION[m.get("propagation", "private")])
                    for m in (mounts or [])],
            labels=all_labels,
            annotations=all_annotations,
            log_path="%s/0.log" % name,
            linux=pb.LinuxContainerConfig(
                resources=pb.LinuxContainerResources(memory_limit_in_bytes=memory_limit,
                                                     cpu_shares=cpu_shares),
                security_context=sc))
        resp = self._call(self.rt, "CreateContainer", pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=config, sandbox_config=sandbox))
        return resp.container_id

    def start_container(self, cid):
        self._call(self.rt, "StartContainer", pb.StartContainerRequest(container_id=cid))

    def stop_container(self, cid, timeout=0):
        self._call(self.rt, "StopContainer",
                   pb.StopContainerRequest(container_id=cid, timeout=timeout))

    def remove_container(self, cid):
        self._call(self.rt, "RemoveContainer", pb.RemoveContainerRequest(container_id=cid))

    def stop_pod(self, pod_id):
        self._call(self.rt, "StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=pod_id))

    def remove_pod(self, pod_id):
        self._call(self.rt, "RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id))
        self.pods.pop(pod_id, None)

    def list_pods(self):
        return self._call(self.rt, "ListPodSandbox", pb.ListPodSandboxRequest()).items

    def list_containers(self):
        return self._call(self.rt, "ListContainers", pb.ListContainersRequest()).containers

    def container_status(self, cid, verbose=True):
        """(ContainerStatus, info dict); info["info"] is containerd's JSON (pid, runtimeSpec)."""
        r = self._call(self.rt, "ContainerStatus",
                       pb.ContainerStatusRequest(container_id=cid, verbose=verbose))
        return r.status, dict(r.info)

    def pod_status(self, pod_id, verbose=True):
        r = self._call(self.rt, "PodSandboxStatus",
                       pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose))
        return r.status, dict(r.info)

    def container_pid(self, cid):
        _, info = self.container_status(cid)
        return json.loads(info.get("info", "{}")).get("pid", 0)

    def container_log(self, cid):
        """The container's stdout+stderr lines from its CRI log file (timestamp stream tag text)."""
        st, _ = self.container_status(cid, verbose=False)
        lines = []
        try:
            with open(st.log_path, errors="replace") as f:
                for raw in f:
                    parts = raw.rstrip("\n").split(" ", 3)
                    if len(parts) == 4:
                        lines.append(parts[3])
        except FileNotFoundError:
            pass
        return lines

    def wait_container(self, cid, state, timeout=20):
        """Wait until the container reaches state ("running", "exited"). Returns True if it did."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st, _ = self.container_status(cid, verbose=False)
            if STATES[st.state] == state:
                return True
            time.sleep(0.05)
        return False

    def wait_log(self, cid, predicate, timeout=20):
        """Wait until a line of the container's log satisfies predicate; returns it, or None."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.container_log(cid):
                if predicate(line):
                    return line
            time.sleep(0.05)
        return None

    def teardown(self, verbose=False):
        """Stop and remove every container, then every sandbox (what a drain does). Returns the
        number of errors; each is printed."""
        errors = 0
        for c in self.list_containers():
            for step in (lambda: self.stop_container(c.id, 0), lambda: self.remove_container(c.id)):
                try:
                    step()
                except CriError as e:
                    print("cri teardown: container %s: %s" % (c.id[:12], e), file=sys.stderr)
                    errors += 1
            if verbose:
                print("cri: removed container %s (%s)" % (c.id[:12], c.metadata.name))
        for p in self.list_pods():
            for step in (lambda: self.stop_pod(p.id), lambda: self.remove_pod(p.id)):
                try:
                    step()
                except CriError as e:
                    print("cri teardown: sandbox %s: %s" % (p.id[:12], e), file=sys.stderr)
                    errors += 1
            if verbose:
                print("cri: removed sandbox %s (%s/%s)" % (p.id[:12], p.metadata.namespace,
                                                            p.metadata.name))
        return errors

    # --- images -------------------------------------------------------------------------------
    def list_images(self):
        return self._call(self.img, "ListImages", pb.ListImagesRequest()).images

    def image_status(self, ref):
        return self._call(self.img, "ImageStatus",
                          pb.ImageStatusRequest(image=pb.ImageSpec(image=ref))).image

    def pull_image(self, ref):
        return self._call(self.img, "PullImage",
                          pb.PullImageRequest(image=pb.ImageSpec(image=ref))).image_ref


def main(argv):
    ap = argparse.ArgumentParser(description="A small CRI client (see the module docstring).")
    ap.add_argument("--socket", required=True)
    ap.add_argument("cmd", choices=["version", "pods", "ps", "images", "inspect", "inspectp",
                                    "teardown"])
    ap.add_argument("id", nargs="?")
    a = ap.parse_args(argv)
    cri = Cri(a.socket)
    try:
        if a.cmd == "version":
            v = cri.version()
            print("%s %s (CRI %s)" % (v.runtime_name, v.runtime_version, v.runtime_api_version))
        elif a.cmd == "pods":
            for p in cri.list_pods():
                print("%s  %s/%s  %s" % (p.id[:13], p.metadata.namespace, p.metadata.name,
                                         "ready" if p.state == pb.SANDBOX_READY else "notready"))
        elif a.cmd == "ps":
            for c in cri.list_containers():
                print("%s  %s  %s  %s" % (c.id[:13], c.metadata.name, STATES[c.state],
                                          c.image.image))
        elif a.cmd == "images":
            for i in cri.list_images():
                print("%s  %s  %d" % (i.id[:19], ",".join(i.repo_tags), i.size))
        elif a.cmd in ("inspect", "inspectp"):
            if not a.id:
                ap.error("%s needs an id" % a.cmd)
            st, info = (cri.container_status if a.cmd == "inspect" else cri.pod_status)(a.id)
            print(st)
            for k, v in info.items():
                print("%s: %s" % (k, v))
        elif a.cmd == "teardown":
            return 1 if cri.teardown(verbose=True) else 0
    except CriError as e:
        print("cri.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
