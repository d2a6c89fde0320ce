// Validates Kubernetes objects offline against the Kubernetes API schemas, as the API server
// would with strict field validation (kubectl's default since 1.27):
//   1. the kubernetes-models class of the object's apiVersion/kind checks types, required
//      fields and formats (its validate() is generated from the Kubernetes OpenAPI schema);
//   2. a walk over the same package's TypeScript declarations (generated from that schema too)
//      rejects fields the schema does not have, which step 1 lets through (a misspelt
//      `readinesProbe` would otherwise validate and be dropped by the API server).
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve('kubernetes-models/package.json'));
const nodeModules = dirname(modelsRoot);

// Every kind the packaging files may hold; another kind must be added here to be validated.
const kinds = {
  'v1/ConfigMap': 'v1/ConfigMap',
  'v1/Secret': 'v1/Secret',
  'v1/Service': 'v1/Service',
  'apps/v1/Deployment': 'apps/v1/Deployment',
  'autoscaling/v2/HorizontalPodAutoscaler': 'autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'policy/v1/PodDisruptionBudget',
};

/** The non-empty YAML documents of `text` as plain objects; a YAML error throws, naming `name`. */
export function parseDocuments(text, name) {
  const objects = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length) throw new Error(`${name}: ${document.errors[0].message}`);
    const value = document.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

/** Throws an Error naming `where` and the offending field when `object` is not a valid object. */
export async function validateObject(object, where) {
  const key = `${object?.apiVersion}/${object?.kind}`;
  const modulePath = kinds[key];
  if (!modulePath) throw new Error(`${where}: no schema known here for ${key}`);
  const module = await import(`kubernetes-models/${modulePath}`);
  const Model = module[object.kind];
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${where} (${object.kind} ${object.metadata?.name}): ${error.message}`);
  }
  const unknown = [];
  checkFields(object, declarationOf(join(modelsRoot, `${modulePath}.d.ts`)), object.kind, unknown);
  if (unknown.length) {
    throw new Error(`${where} (${object.kind} ${object.metadata?.name}): fields the Kubernetes ` +
                    `schema does not have: ${unknown.join(', ')}`);
  }
}

// --- the declaration walk ----------------------------------------------------------------------

const declarations = new Map();  // .d.ts path -> {properties: Map(name -> type text), imports}

// A declaration file's first interface: its properties (name -> type text) and where each
// imported interface lives. Files without an interface (type aliases such as Quantity or
// IntOrString) have none: their values are leaves.
function declarationOf(file) {
  if (declarations.has(file)) return declarations.get(file);
  const text = readFileSync(file, 'utf8');
  const imports = new Map();
  for (const match of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    imports.set(match[1], resolveImport(file, match[2]));
  }
  let properties = null;
  const body = text.match(/^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)^\}/m);
  if (body) {
    properties = new Map();
    for (const match of body[1].matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)) {
      properties.set(match[1], match[2]);
    }
  }
  const declaration = { properties, imports };
  declarations.set(file, declaration);
  return declaration;
}

function resolveImport(fromFile, specifier) {
  const base = specifier.startsWith('.') ? resolve(dirname(fromFile), specifier)
                                         : join(nodeModules, specifier);
  const file = base.replace(/\.js$/, '') + '.d.ts';
  if (!existsSync(file)) throw new Error(`kubernetes-models: cannot find ${file}`);
  return file;
}

function checkFields(value, declaration, path, unknown) {
  if (!declaration.properties || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) return;
  for (const [name, child] of Object.entries(value)) {
    const type = declaration.properties.get(name);
    if (type === undefined) {
      unknown.push(`${path}.${name}`);
      continue;
    }
    const element = type.match(/^Array<(\w+)>$/);
    const named = element ? element[1] : type;
    const file = declaration.imports.get(named);
    if (!file) continue;  // a primitive, a literal, or a map ({ [key: string]: ... })
    const childDeclaration = declarationOf(file);
    if (element && Array.isArray(child)) {
      child.forEach((item, i) => checkFields(item, childDeclaration, `${path}.${name}[${i}]`,
                                             unknown));
    } else {
      checkFields(child, childDeclaration, `${path}.${name}`, unknown);
    }
  }
}
