// What both scripts share: the sandbox's test keys and ids, the SDK set-ups, and how a check is
// reported. The SDKs (alipay-sdk, wechatpay-axios-plugin) are the wallets' own npm client
// libraries: nothing here signs or verifies by itself, it only feeds them and reads their verdicts.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AlipaySdk } from 'alipay-sdk';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The sandbox's committed test keys (`src-tauri/sandbox/keys`, see its README). */
export const KEY_DIR = process.env.PAYDESK_KEY_DIR || path.resolve(HERE, '../../src-tauri/sandbox/keys');

export function key(name) {
  return readFileSync(path.join(KEY_DIR, name), 'utf8');
}

/** The demo profile's ids (paydesk_sandbox::ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID, WECHAT_API_KEY). */
export const ALIPAY_APP_ID = '2021000000000001';
export const WECHAT_APPID = 'wxd930ea5d5a258f4f';
export const WECHAT_MCH_ID = '1900000109';
export const WECHAT_API_KEY = 'paydesksandboxwechatv2apikey0032';

/** A check that did not hold; `detail` is printed under it. */
export class CheckFailed extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail;
  }
}

export function expect(condition, message, detail) {
  if (!condition) {
    throw new CheckFailed(message, detail);
  }
}

/** One line per check: `ok  <name>: <what held>` or `FAIL <name>: <why>`. */
export class Report {
  constructor() {
    this.passed = 0;
    this.failed = 0;
  }

  ok(name, what) {
    this.passed += 1;
    console.log(`ok   ${name}: ${what}`);
  }

  fail(name, err) {
    this.failed += 1;
    const why = err instanceof Error ? err.message : String(err);
    console.log(`FAIL ${name}: ${why}`);
    const detail = err && (err.detail ?? err.responseDataRaw ?? err.response?.data);
    if (detail !== undefined) {
      const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
      console.log(`     ${text.slice(0, 2000)}`);
    }
  }

  /** Runs one check; a failure is reported and returned as false (the caller decides whether to go on). */
  async check(name, fn) {
    try {
      const what = await fn();
      this.ok(name, what ?? 'held');
      return true;
    } catch (err) {
      this.fail(name, err);
      return false;
    }
  }
}

/**
 * An AlipaySdk for the gateway at `gateway`. `mode` is `public-key` (`alipayPublicKey`) or `cert`
 * (`appCertContent`, `alipayPublicCertContent`, `alipayRootCertContent`: the SDK computes the SNs).
 * Keys are PKCS#8 (`BEGIN PRIVATE KEY`), as the sandbox's are.
 */
export function alipaySdk({ gateway, mode = 'public-key', privateKey, alipayPublicKey, certs }) {
  const config = {
    appId: ALIPAY_APP_ID,
    privateKey: privateKey ?? key('alipay_app_private.pem'),
    keyType: 'PKCS8',
    gateway: gateway ?? 'http://127.0.0.1:9/gateway.do',
    timeout: 10000,
    camelcase: false,
  };
  if (mode === 'cert') {
    config.appCertContent = certs?.app ?? key('alipay_app_cert.pem');
    config.alipayPublicCertContent = certs?.alipay ?? key('alipay_cert.pem');
    config.alipayRootCertContent = certs?.root ?? key('alipay_root_cert.pem');
  } else {
    config.alipayPublicKey = alipayPublicKey ?? key('alipay_public.pem');
  }
  return new AlipaySdk(config);
}

/**
 * `sdk.checkNotifySignV2(params)`, and which of its passes accepted: the SDK first verifies over
 * every parameter but `sign` (so with `sign_type`: how a request is signed), then, if that fails,
 * without `sign_type` too (how a notify is signed). Every string it tried is returned, to show
 * what it verified when nothing did.
 */
export function checkNotifySignPasses(sdk, params) {
  const tried = [];
  const original = sdk.rsaCheck;
  sdk.rsaCheck = function recorded(content, sign, signType) {
    const ok = original.call(this, content, sign, signType);
    tried.push({ content, ok });
    return ok;
  };
  let accepted;
  try {
    accepted = sdk.checkNotifySignV2(params);
  } finally {
    sdk.rsaCheck = original;
  }
  let pass = null;
  if (accepted && tried[0]?.ok) {
    pass = 'with sign_type';
  } else if (accepted && tried[1]?.ok) {
    pass = 'without sign_type';
  }
  return { accepted, pass, tried };
}
