// Drives the built client against a running gateway; ManagementClientTests runs it and checks what it prints.
// node test/smoke.mjs MANAGEMENT_URL API_KEY STORED_URL
import { createClient } from "../dist/index.js";

const [management, key, url] = process.argv.slice(2);
const client = createClient(management, key);
const before = await client.inspect.get({ queryParameters: { url } });
const purged = await client.purge.post({ urls: [url] });
const after = await client.inspect.get({ queryParameters: { url } });
const stats = await client.stats.get({ queryParameters: { window: 10 } });
let refused = null;
try {
  await client.purge.post({});
} catch (error) {
  refused = { status: error.responseStatusCode, detail: error.detail ?? null };
}
console.log(JSON.stringify({
  stored: before?.stored, tags: before?.tags, purged: purged?.purged, storedAfter: after?.stored, requests: stats?.all?.requests, refused,
}));
