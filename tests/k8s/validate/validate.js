// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// validate.js - check Kubernetes manifests offline: kubectl cannot validate without an API
// server, and there is none here.
//
//   node validate.js [--policy FILE] FILE.yaml...    every document of every file; exit 1 on any error
//   node validate.js --self-test                     prove that each check catches what it claims
//
// Three layers, each failing with the file, document and field path:
//   1. Schema (npm kubernetes-models: the Kubernetes OpenAPI schemas compiled by ajv): types,
//      enums, formats, required fields.
//   2. Unknown fields. The compiled schemas do not reject them (the API server drops or refuses
//      them, and a misspelt `mountPropogation` would silently do nothing), so every object is
//      validated through a Proxy that records which properties the schema looked at; a property
//      it never looked at is unknown to the schema.
//   3. Rules the API server enforces in code, not in the schema, that these manifests rely on:
//      names, selector vs template labels, volume and port references, Bidirectional mount
//      propagation only for privileged containers, allowPrivilegeEscalation: false not with
//      CAP_SYS_ADMIN, maxSurge and maxUnavailable not both 0; and the ConfigMap
//      carrying the policy byte for byte (--policy).
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

const MODELS = path.dirname(require.resolve("kubernetes-models/package.json"));

// apiVersion/kind -> the compiled schema of kubernetes-models. Only kinds that we ship.
const SCHEMAS = {
	"v1/Namespace": "IoK8sApiCoreV1Namespace",
	"v1/ServiceAccount": "IoK8sApiCoreV1ServiceAccount",
	"v1/ConfigMap": "IoK8sApiCoreV1ConfigMap",
	"v1/Service": "IoK8sApiCoreV1Service",
	"apps/v1/DaemonSet": "IoK8sApiAppsV1DaemonSet",
	"batch/v1/Job": "IoK8sApiBatchV1Job",
};

function schemaFor(doc) {
	const key = `${doc.apiVersion}/${doc.kind}`;
	const name = SCHEMAS[key];
	if (!name) return null;
	// The package's "exports" hide _schemas; an absolute path reaches them.
	return require(path.join(MODELS, "_schemas", name + ".js")).validate;
}

// Wrap value so that every property read on any nested object is recorded in seen (a Map from
// the object to the Set of its keys that were read). Enumerating an object (for..in over a map
// such as labels) marks all of its keys as seen: maps take any key.
function track(value, seen, cache) {
	if (value === null || typeof value !== "object") return value;
	if (cache.has(value)) return cache.get(value);
	const keys = new Set();
	seen.set(value, keys);
	const proxy = new Proxy(value, {
		get(target, prop, receiver) {
			if (typeof prop === "string") keys.add(prop);
			return track(Reflect.get(target, prop, receiver), seen, cache);
		},
		has(target, prop) {
			if (typeof prop === "string") keys.add(prop);
			return Reflect.has(target, prop);
		},
		ownKeys(target) {
			for (const k of Reflect.ownKeys(target)) if (typeof k === "string") keys.add(k);
			return Reflect.ownKeys(target);
		},
	});
	cache.set(value, proxy);
	return proxy;
}

function unknownFields(value, seen, where, out) {
	if (value === null || typeof value !== "object") return;
	const keys = seen.get(value);
	if (Array.isArray(value)) {
		value.forEach((v, i) => unknownFields(v, seen, `${where}/${i}`, out));
		return;
	}
	for (const k of Object.keys(value)) {
		if (!keys || !keys.has(k)) out.push(`${where}/${k}: unknown field`);
		else unknownFields(value[k], seen, `${where}/${k}`, out);
	}
}

function schemaErrors(doc) {
	const validate = schemaFor(doc);
	if (!validate) return [`${doc.apiVersion}/${doc.kind}: no schema known to validate.js (add it to SCHEMAS)`];
	const seen = new Map();
	const ok = validate(track(doc, seen, new Map()));
	const out = [];
	if (!ok) {
		for (const e of validate.errors) {
			const p = e.params || {};
			let msg = e.keyword;
			if (e.keyword === "required") msg = `missing required field ${p.missingProperty}`;
			else if (e.keyword === "type") msg = `must be ${p.type}`;
			else if (e.keyword === "enum") msg = `must be one of ${JSON.stringify(p.allowedValues)}`;
			else if (e.keyword === "format") msg = `must be of format ${p.format}`;
			out.push(`${e.instancePath || "/"}: ${msg}`);
		}
	}
	// Unknown fields only make sense once the types are right (a string where an object was
	// expected is reported above, not as a list of unknown fields).
	if (ok) unknownFields(doc, seen, "", out);
	return out;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function podSpecOf(doc) {
	if (doc.kind === "DaemonSet" || doc.kind === "Job") return doc.spec && doc.spec.template && doc.spec.template.spec;
	return null;
}

function apiServerRules(doc, opts) {
	const out = [];
	const md = doc.metadata || {};
	if (typeof md.name === "string") {
		const labelKinds = ["Namespace", "Service"];
		const re = labelKinds.includes(doc.kind) ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
		if (!re.test(md.name) || md.name.length > (labelKinds.includes(doc.kind) ? 63 : 253))
			out.push(`/metadata/name: "${md.name}" is not a valid ${doc.kind} name (RFC 1123)`);
		// A Job's name becomes a label value (job-name), so it is limited to 63 characters.
		if (doc.kind === "Job" && md.name.length > 63) out.push(`/metadata/name: longer than 63 characters`);
	} else {
		out.push(`/metadata/name: missing`);
	}
	if (doc.kind !== "Namespace" && !md.namespace) out.push(`/metadata/namespace: missing (say where it goes)`);

	if (doc.kind === "DaemonSet") {
		const sel = (doc.spec.selector && doc.spec.selector.matchLabels) || {};
		const labels = (doc.spec.template.metadata && doc.spec.template.metadata.labels) || {};
		for (const [k, v] of Object.entries(sel))
			if (labels[k] !== v) out.push(`/spec/selector: does not match template labels (${k}=${v})`);
		const ru = doc.spec.updateStrategy && doc.spec.updateStrategy.rollingUpdate;
		if (ru) {
			const zero = (x) => x === undefined ? null : x === 0 || x === "0%";
			const mu = ru.maxUnavailable === undefined ? false : zero(ru.maxUnavailable);
			const ms = ru.maxSurge === undefined ? true : zero(ru.maxSurge);
			if (mu && ms) out.push(`/spec/updateStrategy/rollingUpdate: maxUnavailable and maxSurge cannot both be 0`);
		}
	}

	const pod = podSpecOf(doc);
	if (pod) {
		const base = "/spec/template/spec";
		const volumes = new Map((pod.volumes || []).map((v) => [v.name, v]));
		const all = [...(pod.initContainers || []), ...(pod.containers || [])];
		all.forEach((c, ci) => {
			const where = `${base}/containers[${c.name}]`;
			const sc = c.securityContext || {};
			const privileged = sc.privileged === true;
			const caps = ((sc.capabilities && sc.capabilities.add) || []).map((x) => x.replace(/^CAP_/, ""));
			if (sc.allowPrivilegeEscalation === false && (privileged || caps.includes("SYS_ADMIN")))
				out.push(`${where}/securityContext: allowPrivilegeEscalation: false is refused with privileged or CAP_SYS_ADMIN`);
			(c.volumeMounts || []).forEach((m, mi) => {
				if (!volumes.has(m.name)) out.push(`${where}/volumeMounts/${mi}: no volume named ${m.name}`);
				if (m.mountPropagation === "Bidirectional" && !privileged)
					out.push(`${where}/volumeMounts/${mi}: Bidirectional mount propagation is available only to privileged containers`);
				if (m.subPath && volumes.get(m.name) && volumes.get(m.name).configMap)
					out.push(`${where}/volumeMounts/${mi}: a ConfigMap mounted with subPath never sees updates`);
			});
			const portNames = new Set((c.ports || []).map((p) => p.name).filter(Boolean));
			const portNums = new Set((c.ports || []).map((p) => p.containerPort));
			for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
				const hg = c[probe] && c[probe].httpGet;
				if (!hg) continue;
				if (typeof hg.port === "string" && !portNames.has(hg.port))
					out.push(`${where}/${probe}/httpGet/port: no container port named ${hg.port}`);
				if (typeof hg.port === "number" && !portNums.has(hg.port) && !pod.hostNetwork)
					out.push(`${where}/${probe}/httpGet/port: ${hg.port} is not a container port`);
			}
			if (pod.hostNetwork)
				(c.ports || []).forEach((p, pi) => {
					if (p.hostPort !== undefined && p.hostPort !== p.containerPort)
						out.push(`${where}/ports/${pi}: with hostNetwork, hostPort must equal containerPort`);
				});
		});
	}

	if (doc.kind === "ConfigMap" && opts.policy && md.name === "bindguard-policy") {
		const want = fs.readFileSync(opts.policy, "utf8");
		const got = doc.data && doc.data["policy.yaml"];
		if (got !== want)
			out.push(`/data/policy.yaml: differs from ${opts.policy} (regenerate: make k8s-manifests)`);
	}
	return out;
}

function validateDoc(doc, opts) {
	if (!doc || typeof doc !== "object") return ["document is not a mapping"];
	const errs = schemaErrors(doc);
	// The semantic rules assume the shape is right.
	if (errs.length === 0) errs.push(...apiServerRules(doc, opts));
	return errs;
}

function validateFile(file, opts) {
	const text = fs.readFileSync(file, "utf8");
	const docs = YAML.parseAllDocuments(text, { prettyErrors: true });
	const results = [];
	docs.forEach((d, i) => {
		if (d.errors.length) {
			results.push({ file, index: i, errors: d.errors.map((e) => `YAML: ${e.message}`) });
			return;
		}
		const doc = d.toJS({ maxAliasCount: 50 });
		if (doc === null || doc === undefined) return; // an empty document (leading ---)
		results.push({ file, index: i, kind: doc.kind, name: doc.metadata && doc.metadata.name, errors: validateDoc(doc, opts) });
	});
	return results;
}

// Each case is a valid base document broken in one way; each must be caught, with a message
// that names the field. A check that stops catching its case fails the self-test.
function selfTest() {
	const ds = () => YAML.parse(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: t, namespace: t}
spec:
  selector: {matchLabels: {app: t}}
  template:
    metadata: {labels: {app: t}}
    spec:
      containers:
        - name: c
          image: i
          ports: [{name: metrics, containerPort: 9464}]
          readinessProbe: {httpGet: {path: /healthz, port: metrics}}
          securityContext: {capabilities: {add: [SYS_ADMIN]}}
          volumeMounts: [{name: v, mountPath: /v}]
      volumes: [{name: v, hostPath: {path: /v, type: Directory}}]
`);
	const cases = [
		["valid base", (d) => d, null],
		["unknown field", (d) => { d.spec.template.spec.containers[0].volumeMounts[0].mountPropogation = "HostToContainer"; }, "mountPropogation: unknown field"],
		["unknown top-level field", (d) => { d.extra = 1; }, "/extra: unknown field"],
		["wrong type", (d) => { d.spec.template.spec.containers[0].ports[0].containerPort = "9464"; }, "containerPort: must be integer"],
		["missing required", (d) => { delete d.spec.template.spec.containers[0].name; }, "missing required field name"],
		["bad enum", (d) => { d.spec.template.spec.containers[0].volumeMounts[0].mountPropagation = "Both"; }, "mountPropagation: must be one of"],
		["bidirectional unprivileged", (d) => { d.spec.template.spec.containers[0].volumeMounts[0].mountPropagation = "Bidirectional"; }, "available only to privileged"],
		["no-escalation with SYS_ADMIN", (d) => { d.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = false; }, "allowPrivilegeEscalation"],
		["selector mismatch", (d) => { d.spec.template.metadata.labels.app = "u"; }, "does not match template labels"],
		["dangling volume", (d) => { d.spec.template.spec.containers[0].volumeMounts[0].name = "w"; }, "no volume named w"],
		["probe port name", (d) => { d.spec.template.spec.containers[0].readinessProbe.httpGet.port = "metric"; }, "no container port named metric"],
		["bad name", (d) => { d.metadata.name = "Bad_Name"; }, "not a valid DaemonSet name"],
		["hostPath type", (d) => { d.spec.template.spec.volumes[0].hostPath.type = "Dir"; }, "hostPath/type: must be one of"],
		["both zero", (d) => { d.spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } }; }, "cannot both be 0"],
		["unknown kind", (d) => { d.kind = "DaemonSets"; }, "no schema known"],
	];
	let failed = 0;
	for (const [name, mutate, expect] of cases) {
		const d = ds();
		mutate(d);
		const errs = validateDoc(d, {});
		const ok = expect === null ? errs.length === 0 : errs.some((e) => e.includes(expect));
		console.log(`${ok ? "ok" : "FAIL"}  self-test: ${name}${ok ? "" : ` (got: ${JSON.stringify(errs)})`}`);
		if (!ok) failed++;
	}
	// The ConfigMap check, on a temporary policy file.
	const tmp = path.join(require("os").tmpdir(), `bg-validate-${process.pid}.yaml`);
	fs.writeFileSync(tmp, "version: 1\n");
	const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "bindguard-policy", namespace: "t" }, data: { "policy.yaml": "version: 2\n" } };
	const cmErr = validateDoc(cm, { policy: tmp }).some((e) => e.includes("differs from"));
	cm.data["policy.yaml"] = "version: 1\n";
	const cmOk = validateDoc(cm, { policy: tmp }).length === 0;
	fs.unlinkSync(tmp);
	console.log(`${cmErr && cmOk ? "ok" : "FAIL"}  self-test: ConfigMap matches the policy file`);
	if (!(cmErr && cmOk)) failed++;
	console.log(`validate.js self-test: ${cases.length + 1 - failed} passed, ${failed} failed`);
	return failed ? 1 : 0;
}

function main(argv) {
	if (argv[0] === "--self-test") return selfTest();
	const opts = {};
	const files = [];
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === "--policy") opts.policy = argv[++i];
		else files.push(argv[i]);
	}
	if (!files.length) {
		console.error("usage: validate.js [--policy FILE] FILE.yaml... | --self-test");
		return 2;
	}
	let bad = 0;
	let n = 0;
	for (const f of files) {
		for (const r of validateFile(f, opts)) {
			n++;
			const what = `${f}#${r.index} ${r.kind || "?"}/${r.name || "?"}`;
			if (r.errors.length) {
				bad++;
				for (const e of r.errors) console.log(`FAIL  ${what}: ${e}`);
			} else {
				console.log(`ok    ${what}`);
			}
		}
	}
	console.log(`k8s-validate: ${n - bad} passed, ${bad} failed`);
	return bad ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
