// Validates every object of a multi-document YAML stream (stdin: `kubectl kustomize deploy/k8s`) against the Kubernetes
// API schemas of the kubernetes-models package. Prints "valid Kind/name" or "invalid Kind/name: why" per object;
// exits 1 when any object is invalid or of a kind the package does not know.
import { parseAllDocuments } from "yaml";

const input = await new Promise((resolve, reject) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
  process.stdin.on("error", reject);
});

let failed = false;
for (const document of parseAllDocuments(input)) {
  if (document.errors.length > 0) {
    console.log(`invalid YAML: ${document.errors[0].message}`);
    failed = true;
    continue;
  }
  const object = document.toJS();
  if (object === null) continue;
  const name = `${object.kind}/${object.metadata?.name}`;
  try {
    // "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1
    const models = await import(`kubernetes-models/${object.apiVersion}`);
    const Model = models[object.kind];
    if (typeof Model !== "function") throw new Error(`kind ${object.kind} is not in ${object.apiVersion}`);
    new Model(object).validate();
    console.log(`valid ${name}`);
  } catch (error) {
    console.log(`invalid ${name}: ${String(error.message ?? error).replace(/\s+/g, " ")}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
