#!/usr/bin/env node
// Starts a real s3rver (the npm package, from tests/node_modules) on loopback for the sync tests
// and the sync benchmark, and adds what they need on top of it:
//
// - SigV4 verification. s3rver 3.x checks only that the access key exists and never computes V4
//   signatures; here every signed request is verified against --access-key/--secret and
//   --region (canonical request built from the method, the path and query as AWS canonicalises
//   them, the signed headers and x-amz-content-sha256), so a signing mistake in our client fails
//   the tests instead of passing silently. Unsigned requests pass (s3rver allows anonymous).
// - Control endpoints on /__control/ (test fixtures, never part of S3):
//     put?bucket=B&key=K&file=/abs/path   store a local file as an object (streamed)
//     delete?bucket=B&key=K
//     fault?key=K&status=503&count=2      the next `count` GETs of any key ending in K answer
//                                         `status` (an S3 XML error body)
//     requests?key=K                      how many GET requests for keys ending in K were seen
//     redirect?key=K&location=URL&status=302   every GET/HEAD of a key ending in K answers a
//                                         redirect to URL (an empty location clears the rule)
//     pad-listings?bytes=N                ListObjects answers get N bytes of trailing whitespace
//                                         (a hostile store's bloated listing; 0 turns it off)
//     understate?key=K&size=N             ListObjects answers claim <Size>N</Size> for keys
//                                         ending in K, while GET still sends the whole object
//     misrange?key=K                      a ranged GET of a key ending in K is answered from
//                                         byte 0 (206 with the wrong Content-Range)
// - Hostile keys: in ListObjects answers "__DOTDOT__" becomes "..", so a test can make the store
//   list a key such as "prefix/../../escape.txt" (s3rver cannot store one itself).
//
// Usage: node s3rver_launcher.js --directory DIR [--port N] [--bucket NAME]
//          [--access-key ID --secret KEY] [--region us-east-1]
// Prints "S3RVER_PORT <port>" on stdout once it accepts connections.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

function parseArgs(argv) {
  const args = {port: 0, bucket: [], accessKey: 'S3RVER', secret: 'S3RVER', region: 'us-east-1'};
  for (let i = 2; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--directory': args.directory = next(); break;
      case '--port': args.port = Number(next()); break;
      case '--bucket': args.bucket.push(next()); break;
      case '--access-key': args.accessKey = next(); break;
      case '--secret': args.secret = next(); break;
      case '--region': args.region = next(); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.directory) throw new Error('--directory is required');
  return args;
}

// s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (and so Node 17+)
// only has in its legacy provider: without this, every second page is an HTTP 500. The token is
// opaque to clients, so any cipher does: substitute AES-128-CBC with the key and IV doubled.
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = function(algorithm, key, iv, ...rest) {
    if (algorithm === 'des') {
      try {
        return original.call(crypto, algorithm, key, iv, ...rest);
      } catch (err) {
        return original.call(crypto, 'aes-128-cbc', Buffer.concat([key, key]),
            Buffer.concat([iv, iv]), ...rest);
      }
    }
    return original.call(crypto, algorithm, key, iv, ...rest);
  };
}

const args = parseArgs(process.argv);
fs.mkdirSync(args.directory, {recursive: true});
AWSAccount.DUMMY_ACCOUNT.createKeyPair(args.accessKey, args.secret);

// --- SigV4 -------------------------------------------------------------------------------------

function rfc3986(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g,
      (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  return rawQuery.split('&').filter((p) => p.length > 0).map((pair) => {
    const eq = pair.indexOf('=');
    const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, '%20'));
    return [rfc3986(name), rfc3986(value)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
      .map(([n, v]) => `${n}=${v}`).join('&');
}

function canonicalPath(rawPath) {
  // S3 canonicalises the path as sent, each segment URI-encoded once.
  return rawPath.split('/').map((s) => rfc3986(decodeURIComponent(s))).join('/');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function verifySigV4(req) {
  const auth = req.headers['authorization'];
  if (!auth) return null;  // anonymous
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/
      .exec(auth);
  if (!m) return 'malformed Authorization header';
  const [accessKey, date, region, service, terminator] = m[1].split('/');
  if (accessKey !== args.accessKey) return null;  // s3rver answers InvalidAccessKeyId itself
  if (region !== args.region) return `credential scope region "${region}", expected "${args.region}"`;
  if (service !== 's3' || terminator !== 'aws4_request') return 'bad credential scope';
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || !amzDate.startsWith(date)) return 'x-amz-date missing or not matching the scope';
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!payloadHash) return 'x-amz-content-sha256 missing';
  const signedHeaders = m[2].split(';');
  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) return `${required} is not signed`;
  }
  const canonicalHeaders = signedHeaders.map((name) => {
    const value = req.headers[name];
    if (value === undefined) return null;
    return `${name}:${String(value).trim().replace(/\s+/g, ' ')}\n`;
  });
  if (canonicalHeaders.includes(null)) return 'a signed header is missing';
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalRequest = [req.method, canonicalPath(rawPath), canonicalQuery(rawQuery),
    canonicalHeaders.join(''), signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope,
    crypto.createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + args.secret, date), region), service), 'aws4_request');
  const expected = crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  return expected === m[3] ? null : 'signature does not match';
}

function s3ErrorXml(code, message) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
      `<Message>${message}</Message></Error>`;
}

// --- control endpoints and fault injection -----------------------------------------------------

const faults = [];  // {key, status, count}
const redirects = [];  // {key, location, status}
const understated = [];  // {key, size}
let listingPadding = 0;
const misranged = [];  // key suffixes
const getCounts = new Map();  // object key -> GET requests seen
let port = 0;

function objectKeyOf(urlPath, bucketNames) {
  const parts = urlPath.split('/');
  if (parts.length < 3 || !bucketNames.includes(parts[1])) return null;
  return decodeURIComponent(parts.slice(2).join('/'));
}

function putFile(bucket, key, file) {
  return new Promise((resolve, reject) => {
    const size = fs.statSync(file).size;
    const encoded = key.split('/').map(rfc3986).join('/');
    const req = http.request({host: '127.0.0.1', port, method: 'PUT',
      path: `/${bucket}/${encoded}`, headers: {'content-length': size}}, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(res.headers['etag'])
                                                  : reject(new Error(`PUT ${res.statusCode}`))));
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

function deleteKey(bucket, key) {
  return new Promise((resolve, reject) => {
    const encoded = key.split('/').map(rfc3986).join('/');
    const req = http.request({host: '127.0.0.1', port, method: 'DELETE',
      path: `/${bucket}/${encoded}`}, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

async function control(ctx) {
  const q = ctx.query;
  const op = ctx.path.slice('/__control/'.length);
  if (op === 'put') {
    ctx.body = (await putFile(q.bucket, q.key, q.file)) || '';
  } else if (op === 'delete') {
    ctx.body = String(await deleteKey(q.bucket, q.key));
  } else if (op === 'fault') {
    faults.push({key: q.key, status: Number(q.status), count: Number(q.count || 1)});
    ctx.body = 'ok';
  } else if (op === 'redirect') {
    const existing = redirects.findIndex((r) => r.key === q.key);
    if (existing >= 0) redirects.splice(existing, 1);
    if (q.location) redirects.push({key: q.key, location: q.location, status: Number(q.status || 302)});
    ctx.body = 'ok';
  } else if (op === 'pad-listings') {
    listingPadding = Number(q.bytes || 0);
    ctx.body = 'ok';
  } else if (op === 'misrange') {
    misranged.push(q.key);
    ctx.body = 'ok';
  } else if (op === 'understate') {
    understated.push({key: q.key, size: Number(q.size)});
    ctx.body = 'ok';
  } else if (op === 'requests') {
    let total = 0;
    for (const [key, count] of getCounts) if (key.endsWith(q.key)) total += count;
    ctx.body = String(total);
  } else {
    ctx.status = 404;
    ctx.body = `unknown control operation ${op}`;
  }
}

const server = new S3rver({
  address: '127.0.0.1',
  port: args.port,
  directory: path.resolve(args.directory),
  silent: true,
  configureBuckets: args.bucket.map((name) => ({name, configs: []})),
});

// Runs before s3rver's own middleware (Koa composes the array when the server starts).
server.middleware.unshift(async (ctx, next) => {
  if (ctx.path.startsWith('/__control/')) return control(ctx);
  const problem = verifySigV4(ctx.req);
  if (problem) {
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = s3ErrorXml('SignatureDoesNotMatch', `SigV4 check failed: ${problem}`);
    return;
  }
  const anyKey = ctx.method === 'GET' || ctx.method === 'HEAD' ? objectKeyOf(ctx.path, args.bucket)
                                                               : null;
  const redirect = anyKey === null ? null : redirects.find((r) => anyKey.endsWith(r.key));
  if (redirect) {
    ctx.status = redirect.status;
    ctx.set('Location', redirect.location);
    ctx.body = '';
    return;
  }
  const key = ctx.method === 'GET' ? objectKeyOf(ctx.path, args.bucket) : null;
  if (key !== null && ctx.req.headers['range'] && misranged.some((k) => key.endsWith(k))) {
    ctx.req.headers['range'] = 'bytes=0-';
  }
  if (key !== null) {
    getCounts.set(key, (getCounts.get(key) || 0) + 1);
    const fault = faults.find((f) => f.count > 0 && key.endsWith(f.key));
    if (fault) {
      fault.count--;
      ctx.status = fault.status;
      ctx.type = 'application/xml';
      ctx.body = s3ErrorXml({403: 'AccessDenied', 404: 'NoSuchKey'}[fault.status] || 'InternalError',
          `injected HTTP ${fault.status}`);
      return;
    }
  }
  await next();
  if (typeof ctx.body === 'string' && ctx.body.includes('<ListBucketResult')) {
    ctx.body = ctx.body.split('__DOTDOT__').join('..');
    for (const {key: suffix, size} of understated) {
      ctx.body = ctx.body.replace(/<Contents>([\s\S]*?)<\/Contents>/g, (whole, inner) => {
        const k = /<Key>([^<]*)<\/Key>/.exec(inner);
        if (!k || !k[1].endsWith(suffix)) return whole;
        return whole.replace(/<Size>\d+<\/Size>/, `<Size>${size}</Size>`);
      });
    }
    if (listingPadding > 0) ctx.body += ' '.repeat(listingPadding);
  }
});

server.run().then(({port: listening}) => {
  port = listening;
  process.stdout.write(`S3RVER_PORT ${listening}\n`);
}).catch((err) => {
  process.stderr.write(`s3rver_launcher: ${err.stack || err}\n`);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
