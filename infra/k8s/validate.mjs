// Validates Kubernetes manifests against the Kubernetes OpenAPI schema (npm kubernetes-models, installed into
// .tools/ by infra/scripts/setup.sh --tests) and prints every document as JSON, so tests can check fields.
//
//   node infra/k8s/validate.mjs [--uncomment PREFIX] FILE.yaml...
//
// --uncomment PREFIX first removes PREFIX from the start of lines (e.g. "#gpu:" turns on the GPU variant).
// Output: one JSON array of { file, index, apiVersion, kind, name, errors: [...], object }. Exit code 1 when any
// document is invalid or of a kind this script does not know, 2 on bad usage or unreadable YAML.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// The pinned packages live in the repository's .tools/node_modules (or VIDEODATA_TOOLS_MODULES).
const modules = process.env.VIDEODATA_TOOLS_MODULES
  ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", ".tools", "node_modules");
if (!existsSync(path.join(modules, "kubernetes-models")) || !existsSync(path.join(modules, "yaml"))) {
  console.error(`validate.mjs: kubernetes-models or yaml is missing from ${modules}: run infra/scripts/setup.sh --tests`);
  process.exit(2);
}
const load = (relative) => import(pathToFileURL(path.join(modules, relative)).href);
const YAML = await load("yaml/dist/index.js");

// apiVersion/kind -> model module path inside kubernetes-models.
const models = {
  "v1/PersistentVolumeClaim": "kubernetes-models/v1/PersistentVolumeClaim.js",
  "v1/Secret": "kubernetes-models/v1/Secret.js",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap.js",
  "v1/Pod": "kubernetes-models/v1/Pod.js",
  "batch/v1/Job": "kubernetes-models/batch/v1/Job.js",
};

const args = process.argv.slice(2);
let prefix = null;
if (args[0] === "--uncomment") {
  prefix = args[1];
  args.splice(0, 2);
}
if (args.length === 0 || !prefix && args.some((a) => a.startsWith("--"))) {
  console.error("usage: node infra/k8s/validate.mjs [--uncomment PREFIX] FILE.yaml...");
  process.exit(2);
}

const results = [];
let bad = false;
for (const file of args) {
  let text = readFileSync(file, "utf8");
  if (prefix) {
    text = text.split("\n").map((line) => (line.startsWith(prefix) ? line.slice(prefix.length) : line)).join("\n");
  }
  const documents = YAML.parseAllDocuments(text);
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) {
      console.error(`${file}: document ${index}: ${document.errors.map((e) => e.message).join("; ")}`);
      process.exit(2);
    }
    const object = document.toJS();
    if (object === null || object === undefined) continue;
    const key = `${object.apiVersion}/${object.kind}`;
    const errors = [];
    const modelPath = models[key];
    if (!modelPath) {
      errors.push(`${key} is not a kind this validator knows (${Object.keys(models).join(", ")})`);
    } else {
      const exported = await load(modelPath);
      const Model = exported[object.kind];
      try {
        new Model(object).validate();
      } catch (e) {
        errors.push(e.message);
      }
    }
    if (errors.length > 0) bad = true;
    results.push({ file, index, apiVersion: object.apiVersion, kind: object.kind, name: object.metadata?.name ?? null, errors, object });
  }
}
console.log(JSON.stringify(results, null, 1));
process.exit(bad ? 1 : 0);
