// Validates Kubernetes objects against the Kubernetes API's OpenAPI schema, with the
// kubernetes-models packages (pinned in package-lock.json).
//   node validate-manifests.mjs NODE_MODULES OBJECTS.json
// OBJECTS.json: [{"ref": "file.yaml#0", "object": {...}}, ...] (KubernetesManifestsTest parses
// the YAML and writes it). Prints one JSON line per object: {"ref", "ok", "error"}; exits 0 when
// it could check them all, whatever the outcome (the test reads the lines), 2 on a usage error.
//
// What this schema does not check: unknown field names (the OpenAPI schema has no
// additionalProperties: false; the API server's strict field validation rejects them), and the
// API server's own semantic checks (e.g. a selector that must match the template's labels).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, input] = process.argv.slice(2);
if (!modules || !input) {
  console.error("usage: node validate-manifests.mjs NODE_MODULES OBJECTS.json");
  process.exit(2);
}

// "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1 (the core group).
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) {
    throw new Error(`apiVersion '${apiVersion}' is not group/version`);
  }
  const file = join(modules, "kubernetes-models", ...apiVersion.split("/"), "index.js");
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    throw new Error(`no Kubernetes API group/version '${apiVersion}' in kubernetes-models`);
  }
  const model = mod[kind];
  if (typeof model !== "function" || model.kind !== kind) {
    throw new Error(`no kind '${kind}' in ${apiVersion}`);
  }
  return model;
}

for (const { ref, object } of JSON.parse(readFileSync(input, "utf8"))) {
  try {
    const Model = await modelFor(object?.apiVersion, object?.kind);
    new Model(object).validate();
    console.log(JSON.stringify({ ref, ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ ref, ok: false, error: String(e?.message ?? e) }));
  }
}
