// Evaluates flags through the OpenFeature server SDK and its OFREP provider,
// as an application would, and prints what the SDK reports. Driven by
// conformance_test.go, which starts the engine and checks the output.
//
// Usage: ENGINE_URL=http://127.0.0.1:port SDK_TOKEN=prog_... [ALL_ON_TOKEN=prog_...] \
//          node conformance.mjs cases.json
//
// cases.json is a JSON array of
//   {"name": "...", "type": "boolean|string|number|object", "flag": "key",
//    "default": <value of that type>, "context": {...}, "token": "sdk|all_on"}
// and stdout gets one JSON object per case, in order:
//   {"name", "value", "variant", "reason", "errorCode", "errorMessage", "flagMetadata"}
import { readFile } from 'node:fs/promises';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

function env(name, required = true) {
  const v = process.env[name];
  if (required && !v) {
    console.error(`conformance.mjs: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const baseUrl = env('ENGINE_URL');
const tokens = { sdk: env('SDK_TOKEN'), all_on: env('ALL_ON_TOKEN', false) };
if (process.argv.length !== 3) {
  console.error('usage: node conformance.mjs cases.json');
  process.exit(2);
}
const cases = JSON.parse(await readFile(process.argv[2], 'utf8'));

// One OpenFeature domain per token, each with its own provider.
const clients = {};
for (const [domain, token] of Object.entries(tokens)) {
  if (!token) continue;
  const provider = new OFREPProvider({ baseUrl, headers: [['Authorization', `Bearer ${token}`]] });
  await OpenFeature.setProviderAndWait(domain, provider);
  clients[domain] = OpenFeature.getClient(domain);
}

const methods = {
  boolean: 'getBooleanDetails',
  string: 'getStringDetails',
  number: 'getNumberDetails',
  object: 'getObjectDetails',
};

for (const c of cases) {
  const client = clients[c.token ?? 'sdk'];
  const method = methods[c.type];
  if (!client || !method) {
    console.error(`conformance.mjs: case ${JSON.stringify(c.name)}: no client for token ${c.token} or unknown type ${c.type}`);
    process.exit(2);
  }
  const d = await client[method](c.flag, c.default, c.context ?? {});
  console.log(JSON.stringify({
    name: c.name,
    value: d.value,
    variant: d.variant,
    reason: d.reason,
    errorCode: d.errorCode,
    errorMessage: d.errorMessage,
    flagMetadata: d.flagMetadata,
  }));
}
await OpenFeature.close();
