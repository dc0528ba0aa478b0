#!/usr/bin/env node
// Verifies the signatures of requests paydesk itself made, with the wallets' own client libraries:
//
//   node verify-requests.mjs [--alipay-mode=public-key|cert] <requests.jsonl>
//
// One JSON object a line: `{channel, path, query, content_type, body}` (`query` without the `?`,
// `body` as text), as a capture server recorded them.
//
// - alipay: the query string and the form body, decoded, are the parameters (a name given twice
//   fails). An `AlipaySdk` whose "Alipay public key" is the app's own public key
//   (`alipay_app_public.pem`; in cert mode the key of `alipay_app_cert.pem`, the SDK reading the
//   certificate) checks them with `checkNotifySignV2`. Its first pass verifies over every
//   parameter but `sign` (with `sign_type`): how a request is signed. Its second pass drops
//   `sign_type` too; a request that only that pass accepts fails here. In cert mode `app_cert_sn`
//   and `alipay_root_cert_sn` must equal the SNs the SDK computes from the certificates. Which
//   parameters travel in the query string and which in the body must match the SDK's own layout.
// - wechat: the body is parsed by the plugin's `Transformer.toObject`; `Hash.sign(sign_type or
//   MD5, every field but sign, API key)` must equal `sign`.
//
// One line per request; exits 1 if any request does not verify or the file holds none, 2 on bad
// arguments.

import { readFileSync } from 'node:fs';

import { Hash, Transformer } from 'wechatpay-axios-plugin';

import { CheckFailed, Report, WECHAT_API_KEY, alipaySdk, checkNotifySignPasses, expect, key } from './common.mjs';

const USAGE = 'usage: node verify-requests.mjs [--alipay-mode=public-key|cert] <requests.jsonl>';

function parseArgs(argv) {
  const opts = { alipayMode: null, file: null };
  for (const arg of argv) {
    const mode = /^--alipay-mode=(public-key|cert)$/.exec(arg);
    if (mode) {
      [, opts.alipayMode] = mode;
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg}`);
    } else if (opts.file === null) {
      opts.file = arg;
    } else {
      throw new Error('one file only');
    }
  }
  if (opts.file === null) {
    throw new Error('no file given');
  }
  return opts;
}

// ---------------------------------------------------------------- alipay

/** The SDKs that verify requests: the app's public key, or (cert mode) the app's certificate. */
const verifiers = {
  'public-key': () => alipaySdk({ mode: 'public-key', alipayPublicKey: key('alipay_app_public.pem') }),
  // `alipayPublicCertContent` is where the SDK takes the verifying key from: here the app's
  // certificate, whose key signs requests.
  cert: () => alipaySdk({
    mode: 'cert',
    certs: { app: key('alipay_app_cert.pem'), alipay: key('alipay_app_cert.pem'), root: key('alipay_root_cert.pem') },
  }),
};
const sdks = {};
const sdkFor = (mode) => {
  sdks[mode] ??= verifiers[mode]();
  return sdks[mode];
};

function verifyAlipay(rec, expectedMode) {
  expect(/^application\/x-www-form-urlencoded/i.test(rec.content_type ?? ''), `content type ${rec.content_type}`);
  expect(rec.path.endsWith('/gateway.do'), `path ${rec.path} is not the gateway`);
  const inQuery = [...new URLSearchParams(rec.query ?? '')];
  const inBody = [...new URLSearchParams(rec.body ?? '')];
  const params = {};
  for (const [name, value] of [...inQuery, ...inBody]) {
    expect(!Object.hasOwn(params, name), `parameter ${name} is given twice`);
    params[name] = value;
  }
  expect(typeof params.sign === 'string' && params.sign.length > 0, 'no sign');
  expect(params.sign_type === 'RSA2', `sign_type ${params.sign_type}`);
  const mode = params.app_cert_sn !== undefined || params.alipay_root_cert_sn !== undefined ? 'cert' : 'public-key';
  expect(expectedMode === null || mode === expectedMode, `a ${mode}-mode request where ${expectedMode} mode was expected`, params);
  const sdk = sdkFor(mode);
  if (mode === 'cert') {
    expect(params.app_cert_sn === sdk.config.appCertSn, `app_cert_sn ${params.app_cert_sn}, the SDK's SN of alipay_app_cert.pem is ${sdk.config.appCertSn}`);
    expect(params.alipay_root_cert_sn === sdk.config.alipayRootCertSn, `alipay_root_cert_sn ${params.alipay_root_cert_sn}, the SDK's root SN of alipay_root_cert.pem is ${sdk.config.alipayRootCertSn}`);
  }
  const { accepted, pass, tried } = checkNotifySignPasses(sdk, params);
  const strings = tried.map((t) => `${t.ok ? 'verified' : 'did not verify'}: ${t.content}`).join('\n     ');
  expect(accepted, 'the SDK does not verify the signature', strings);
  expect(pass === 'with sign_type', 'the SDK verified it only without sign_type: the request was not signed over sign_type', strings);
  // The SDK's layout: its formatUrl puts the common parameters in the URL and the rest in the body.
  const { url, execParams } = sdk.formatUrl('http://127.0.0.1/gateway.do', params);
  const sdkQuery = [...new URL(url).searchParams.keys()].sort();
  const sdkBody = Object.keys(execParams).sort();
  const ours = [inQuery.map(([k]) => k).sort(), inBody.map(([k]) => k).sort()];
  expect(
    JSON.stringify(ours) === JSON.stringify([sdkQuery, sdkBody]),
    `query ${ours[0]} / body ${ours[1]}, the SDK sends query ${sdkQuery} / body ${sdkBody}`,
  );
  return `${params.method} (${mode}${mode === 'cert' ? `, SNs = the SDK's` : ''}): checkNotifySignV2 accepted it on its first pass (with sign_type); query/body as the SDK lays them out`;
}

// ---------------------------------------------------------------- wechat

function verifyWechat(rec) {
  expect(/^text\/xml/i.test(rec.content_type ?? ''), `content type ${rec.content_type}`);
  let fields;
  try {
    fields = Transformer.toObject(rec.body ?? '');
  } catch (err) {
    throw new CheckFailed(`Transformer.toObject cannot read the body: ${err.message}`, rec.body);
  }
  expect(fields && typeof fields === 'object', 'no XML fields', rec.body);
  const { sign, ...rest } = fields;
  const type = fields.sign_type ?? 'MD5';
  expect(type === Hash.ALGO_MD5 || type === Hash.ALGO_HMAC_SHA256, `sign_type ${type}`);
  expect(typeof sign === 'string' && sign.length > 0, 'no sign', fields);
  const theirs = Hash.sign(type, rest, WECHAT_API_KEY);
  expect(Hash.equals(theirs, sign), `Hash.sign(${type}, …) is ${theirs}, the request's sign ${sign}`, fields);
  return `${rec.path} ${type}: Hash.sign over the fields Transformer.toObject read equals sign`;
}

// ---------------------------------------------------------------- main

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`verify-requests: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  const lines = readFileSync(opts.file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const report = new Report();
  lines.forEach((line, i) => {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      report.fail(`#${i + 1}`, new CheckFailed(`not JSON: ${err.message}`, line));
      return;
    }
    const name = `#${i + 1} ${rec.channel}`;
    try {
      if (rec.channel === 'alipay') {
        report.ok(name, verifyAlipay(rec, opts.alipayMode));
      } else if (rec.channel === 'wechat') {
        report.ok(name, verifyWechat(rec));
      } else {
        throw new CheckFailed(`unknown channel ${rec.channel}`);
      }
    } catch (err) {
      report.fail(name, err);
    }
  });
  if (lines.length === 0) {
    console.log(`FAIL ${opts.file} holds no requests`);
    process.exit(1);
  }
  console.log(`verify-requests: ${report.passed} of ${lines.length} requests verified, ${report.failed} did not`);
  process.exit(report.failed ? 1 : 0);
}

main();
