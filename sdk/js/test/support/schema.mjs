// Checks the server's answers against provider/rest/openapi.yaml: a fetch
// wrapper that validates every JSON body the SDK receives against the
// response schema the document gives for that operation and status. The
// types the SDK exports are generated from the same document, so a mismatch
// here is a mismatch between the SDK's types and the server.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { ROUTES } from '@arsaka/puguh-sdk';
import { repoRoot } from './paths.mjs';

const doc = parse(readFileSync(path.join(repoRoot, 'provider/rest/openapi.yaml'), 'utf8'));

// The document extends closed schemas with allOf (CreatedAPIKey = APIKey + key), which JSON Schema
// 2020-12 reads as "no key allowed": additionalProperties of APIKey does not see allOf's siblings.
// What the document means is the union, closed: inline the members without their
// additionalProperties and close the whole with unevaluatedProperties.
for (const schema of Object.values(doc.components.schemas)) {
  if (!Array.isArray(schema.allOf)) continue;
  schema.allOf = schema.allOf.map((member) => {
    const target = member.$ref ? member.$ref.split('/').slice(1).reduce((o, k) => o[k], doc) : member;
    const { additionalProperties, ...open } = target;
    return open;
  });
  schema.unevaluatedProperties = false;
}
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components });

/** Routes as regexps, literal paths before templated ones (/applications/grants before /applications/{id}). */
const routes = Object.entries(ROUTES)
  .map(([operationId, r]) => ({
    operationId,
    method: r.method,
    path: r.path,
    re: new RegExp(`^${r.path.replace(/\{\w+\}/g, '[^/]+')}$`),
    literal: r.path.split('/').filter((s) => s && !s.startsWith('{')).length,
  }))
  .sort((a, b) => b.literal - a.literal);

const compiled = new Map();

function operationOf(method, pathname) {
  return routes.find((r) => r.method === method && r.re.test(pathname));
}

/** The JSON schema of an answer, following $refs into components/responses; null when the document has none. */
function responseSchema(route, status) {
  const op = doc.paths[route.path][route.method.toLowerCase()];
  let res = op.responses[String(status)];
  if (!res) return { missing: true };
  if (res.$ref) res = res.$ref.split('/').slice(1).reduce((o, k) => o[k], doc);
  const schema = res.content?.['application/json']?.schema;
  if (!schema) return null;
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'));
}

/**
 * A fetch that validates every answer. `problems` collects the disagreements;
 * `checked` the operationId/status pairs validated.
 */
export function validatingFetch(inner = globalThis.fetch) {
  const problems = [];
  const checked = new Set();
  const f = async (url, init = {}) => {
    const res = await inner(url, init);
    const u = new URL(url);
    const route = operationOf(init.method ?? 'GET', u.pathname);
    if (!route) return res;
    const where = `${route.operationId} ${res.status}`;
    const schema = responseSchema(route, res.status);
    const text = await res.clone().text();
    if (schema?.missing) {
      problems.push(`${where}: the document lists no ${res.status} answer for this operation (body ${text.slice(0, 200)})`);
      return res;
    }
    checked.add(where);
    if (schema === null) {
      if (text !== '') problems.push(`${where}: the document says no body, the server sent ${text.slice(0, 200)}`);
      return res;
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push(`${where}: not JSON: ${text.slice(0, 200)}`);
      return res;
    }
    let validate = compiled.get(where);
    if (!validate) {
      validate = ajv.compile(schema);
      compiled.set(where, validate);
    }
    if (!validate(body)) {
      problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`);
    }
    return res;
  };
  f.problems = problems;
  f.checked = checked;
  return f;
}
