#!/usr/bin/env node
// An independent RFC 9421 signer/verifier for the gateway's interop tests, built on the
// npm package `http-message-signatures` (not written by this project) and Node's own
// crypto for Ed25519 and the RFC 9530 Content-Digest.
//
// Reads one JSON object on stdin and writes one JSON object on stdout.
//   {"op": "sign", "method", "url", "headers", "body_b64", "private_key_pem", "keyid",
//    "created", "expires"?, "nonce", "label", "components"}
//     -> {"headers": {...the request's headers with content-digest, signature-input, signature}}
//   {"op": "verify", "method", "url", "headers", "body_b64", "public_key_pem", "keyid",
//    "required_components", "tolerance", "status"?}   (with "status": verify a response)
//     -> {"verified": bool, "digest_ok": bool, "error": string | null}
'use strict';

const crypto = require('node:crypto');
const { httpbis, createSigner, createVerifier } = require('http-message-signatures');

function contentDigest(body) {
  return `sha-256=:${crypto.createHash('sha256').update(body).digest('base64')}:`;
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function sign(input) {
  const body = Buffer.from(input.body_b64, 'base64');
  const headers = { ...input.headers, 'content-digest': contentDigest(body) };
  const key = createSigner(crypto.createPrivateKey(input.private_key_pem), 'ed25519', input.keyid);
  const params = ['created'];
  const paramValues = { created: new Date(input.created * 1000) };
  if (input.expires !== undefined && input.expires !== null) {
    params.push('expires');
    paramValues.expires = new Date(input.expires * 1000);
  }
  params.push('nonce', 'keyid', 'alg');
  paramValues.nonce = input.nonce;
  const signed = await httpbis.signMessage(
    { key, name: input.label, fields: input.components, params, paramValues },
    { method: input.method, url: input.url, headers },
  );
  return { headers: signed.headers };
}

async function verify(input) {
  const body = Buffer.from(input.body_b64, 'base64');
  const lower = Object.fromEntries(
    Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const digestOk = lower['content-digest'] === contentDigest(body)
    || (lower['content-digest'] || '').split(/,\s*/).includes(contentDigest(body));
  const publicKey = crypto.createPublicKey(input.public_key_pem);
  const verifier = createVerifier(publicKey, 'ed25519');
  try {
    const verified = await httpbis.verifyMessage(
      {
        keyLookup: async (params) => (params.keyid === input.keyid
          ? { id: input.keyid, algs: ['ed25519'], verify: verifier }
          : null),
        requiredParams: ['created', 'keyid', 'nonce'],
        requiredFields: input.required_components,
        tolerance: input.tolerance,
      },
      input.status !== undefined && input.status !== null
        ? { status: input.status, headers: input.headers }
        : { method: input.method, url: input.url, headers: input.headers },
    );
    return { verified: verified === true, digest_ok: digestOk, error: null };
  } catch (err) {
    return { verified: false, digest_ok: digestOk, error: `${err.name}: ${err.message}` };
  }
}

async function main() {
  const input = JSON.parse(await readStdin());
  const ops = { sign, verify };
  if (!(input.op in ops)) {
    throw new Error(`unknown op ${JSON.stringify(input.op)}; expected sign or verify`);
  }
  process.stdout.write(`${JSON.stringify(await ops[input.op](input))}\n`);
}

main().catch((err) => {
  process.stderr.write(`rfc9421.js: ${err.stack || err}\n`);
  process.exit(1);
});
