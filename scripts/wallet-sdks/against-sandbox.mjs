#!/usr/bin/env node
// The wallets' own client libraries act as the merchant against a running paydesk sandbox:
//
//   node against-sandbox.mjs [--alipay-cert-mode] [--no-alipay] [--no-wechat] <base url> [tls base url]
//
// - Alipay (`alipay-sdk`): `exec(…, {validateSign: true})` of every call paydesk makes, so the
//   sandbox verifies the SDK's request signature and the SDK verifies the sandbox's reply
//   signature; a precreated order paid on the customer page whose notify the SDK verifies
//   (`checkNotifySignV2`); a request signed with another key is refused; a reply whose signature
//   the sandbox spoils (fault `badSignaturePercent`) is refused by the SDK. `--alipay-cert-mode`
//   when the sandbox runs with `--alipay-cert-mode`: the SDK is set up with the certificates and
//   computes the SNs itself.
// - WeChat Pay v2 (`wechatpay-axios-plugin`): every v2 call paydesk makes, HMAC-SHA256 and MD5,
//   each reply verified by the plugin's own verifier; reverse and refund with the client
//   certificate through the sandbox's mutual-TLS listener (the tls base url, required); NATIVE
//   notifies (both algorithms) checked with the plugin's `Hash.sign`; a TLS handshake without a
//   client certificate fails; a request signed with another key is refused; a spoiled reply sign
//   is refused by the plugin.
//
// One line per check; exits 1 if any check fails, 2 on bad arguments.

import http from 'node:http';
import https from 'node:https';

import { Wechatpay, Hash, Transformer } from 'wechatpay-axios-plugin';

import {
  ALIPAY_APP_ID,
  WECHAT_API_KEY,
  WECHAT_APPID,
  WECHAT_MCH_ID,
  CheckFailed,
  Report,
  alipaySdk,
  checkNotifySignPasses,
  expect,
  key,
} from './common.mjs';

const USAGE = 'usage: node against-sandbox.mjs [--alipay-cert-mode] [--no-alipay] [--no-wechat] <base url> [tls base url]';
const WECHAT_NOTIFY_ACK =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

function parseArgs(argv) {
  const opts = { alipayMode: 'public-key', alipay: true, wechat: true, urls: [] };
  for (const arg of argv) {
    if (arg === '--alipay-cert-mode') {
      opts.alipayMode = 'cert';
    } else if (arg === '--no-alipay') {
      opts.alipay = false;
    } else if (arg === '--no-wechat') {
      opts.wechat = false;
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg}`);
    } else {
      opts.urls.push(arg.replace(/\/+$/, ''));
    }
  }
  [opts.base, opts.tls] = opts.urls;
  if (!opts.base || opts.urls.length > 2) {
    throw new Error('one base url, and at most one tls base url');
  }
  if (opts.wechat && !opts.tls) {
    throw new Error('the WeChat checks need the sandbox\'s TLS listener (start it with --tls-listen 127.0.0.1:0) or --no-wechat');
  }
  if (opts.tls && !opts.tls.startsWith('https://')) {
    throw new Error(`the tls base url must be https://…, not ${opts.tls}`);
  }
  return opts;
}

// ---------------------------------------------------------------- the sandbox's own endpoints

async function sandboxFetch(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, text };
}

/** The customer scans (GET of the page) and pays (POST) on the sandbox's customer page. */
async function customerPays(base, orderNo) {
  const page = await sandboxFetch(`${base}/pay/${encodeURIComponent(orderNo)}`);
  expect(page.status === 200, `customer page of ${orderNo}: HTTP ${page.status}`, page.text.slice(0, 300));
  const paid = await sandboxFetch(`${base}/pay/${encodeURIComponent(orderNo)}`, { method: 'POST' });
  expect(paid.status === 200, `paying ${orderNo} on the customer page: HTTP ${paid.status}`, paid.text.slice(0, 300));
}

async function customerScans(base, orderNo) {
  const page = await sandboxFetch(`${base}/pay/${encodeURIComponent(orderNo)}`);
  expect(page.status === 200, `customer page of ${orderNo}: HTTP ${page.status}`, page.text.slice(0, 300));
}

async function setFaults(base, faults) {
  const res = await sandboxFetch(`${base}/admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(res.status === 200, `setting sandbox faults: HTTP ${res.status}`, res.text);
}

/** With the sandbox's reply signatures spoiled on `path` for the duration of `fn`. */
async function withSpoiledReplies(base, path, fn) {
  await setFaults(base, { onlyPath: path, badSignaturePercent: 100 });
  try {
    return await fn();
  } finally {
    await setFaults(base, {});
  }
}

/** Waits until the sandbox records the notify of `orderNo` as acknowledged. */
async function notifyAcknowledged(base, orderNo) {
  const until = Date.now() + 5000;
  let last = '';
  while (Date.now() < until) {
    const res = await sandboxFetch(`${base}/admin/notifies?orderNo=${encodeURIComponent(orderNo)}`);
    last = res.text;
    if (res.status === 200 && JSON.parse(res.text).some((r) => r.acknowledged)) {
      return;
    }
    await new Promise((r) => { setTimeout(r, 100); });
  }
  throw new CheckFailed(`the sandbox did not record the notify of ${orderNo} as acknowledged`, last);
}

// ---------------------------------------------------------------- the merchant's notify receiver

/**
 * A loopback HTTP server standing in for the merchant's notify address. `next(path, answer)`
 * waits for the next POST to `path`; `answer(body)` checks it and returns
 * `{status, reply, verdict}`: the HTTP answer, and what the waiter gets.
 */
class NotifyReceiver {
  constructor() {
    this.waiters = new Map();
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const waiter = this.waiters.get(req.url);
        if (!waiter || req.method !== 'POST') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not expected');
          return;
        }
        this.waiters.delete(req.url);
        let answer;
        try {
          answer = waiter.answer(body, req.headers);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('check crashed');
          waiter.reject(err);
          return;
        }
        res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' }).end(answer.reply);
        waiter.resolve({ body, headers: req.headers, verdict: answer.verdict });
      });
    });
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
  }

  url(path) {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  next(path, answer, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(path);
        reject(new CheckFailed(`no notify reached ${this.url(path)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(path, {
        answer,
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }

  close() {
    this.server.close();
  }
}

// ---------------------------------------------------------------- helpers

/** Thrown to stop a section after its first failed check (later checks build on earlier ones). */
class SectionStopped extends Error {}

function stepper(report) {
  return async (name, fn) => {
    if (!(await report.check(name, fn))) {
      throw new SectionStopped(name);
    }
  };
}

async function section(report, name, fn) {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SectionStopped) {
      console.log(`     (the rest of ${name} is not run: it builds on the failed check)`);
    } else {
      report.fail(name, err);
    }
  }
}

/** Order numbers unique per run (the sandbox keeps orders in memory, numbers ≤ 32 characters). */
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
const orderNo = (tag) => `sdk${tag}${RUN}`;

/** `yyyyMMddHHmmss`, Beijing time, `minutes` from now (WeChat's `time_expire`). */
function beijingStamp(minutes) {
  const d = new Date(Date.now() + minutes * 60000 + 8 * 3600000);
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

const ALIPAY_CODE = (ending) => `2800000000000000${ending}`;
const WECHAT_CODE = (ending) => `1300000000000000${ending}`;

// ---------------------------------------------------------------- Alipay

async function alipayChecks(report, { base, alipayMode: mode }, receiver) {
  const gateway = `${base}/gateway.do`;
  const tag = `alipay(${mode})`;
  const step = stepper(report);
  const sdk = alipaySdk({ gateway, mode });
  const t = mode === 'cert' ? 'C' : 'P';
  const paid = orderNo(`${t}pay`);
  const paying = orderNo(`${t}wait`);
  const qrPaid = orderNo(`${t}qr`);
  const qrClosed = orderNo(`${t}qrx`);
  const refundNo = orderNo(`${t}rf`);
  const exec = (method, bizContent, extra = {}) => sdk.exec(method, { bizContent, ...extra }, { validateSign: true });
  const signed = 'the sandbox verified the SDK\'s request, the SDK verified the reply';

  await step(`${tag} alipay.trade.pay (code ending 00)`, async () => {
    const r = await exec('alipay.trade.pay', {
      out_trade_no: paid,
      scene: 'bar_code',
      auth_code: ALIPAY_CODE('00'),
      subject: 'SDK 核对 check',
      total_amount: '12.34',
      product_code: 'FACE_TO_FACE_PAYMENT',
    });
    expect(r.code === '10000' && r.out_trade_no === paid && r.total_amount === '12.34', 'not a 10000 for our order', r);
    return `10000 paid; ${signed}`;
  });
  await step(`${tag} alipay.trade.pay (code ending 83)`, async () => {
    const r = await exec('alipay.trade.pay', {
      out_trade_no: paying,
      scene: 'bar_code',
      auth_code: ALIPAY_CODE('83'),
      subject: 'SDK check',
      total_amount: '5.00',
      product_code: 'FACE_TO_FACE_PAYMENT',
    });
    expect(r.code === '10003' && r.out_trade_no === paying, 'not a 10003 for our order', r);
    return `10003 (the customer is confirming); ${signed}`;
  });
  await step(`${tag} alipay.trade.query`, async () => {
    const r = await exec('alipay.trade.query', { out_trade_no: paid });
    expect(r.code === '10000' && r.trade_status === 'TRADE_SUCCESS' && r.out_trade_no === paid, 'not TRADE_SUCCESS', r);
    return `10000 TRADE_SUCCESS; ${signed}`;
  });
  await step(`${tag} alipay.trade.refund`, async () => {
    const r = await exec('alipay.trade.refund', {
      out_trade_no: paid,
      refund_amount: '2.34',
      out_request_no: refundNo,
      refund_reason: 'SDK 核对',
    });
    expect(r.code === '10000' && r.fund_change === 'Y' && r.refund_fee === '2.34', 'not refunded', r);
    return `10000 fund_change Y; ${signed}`;
  });
  await step(`${tag} alipay.trade.fastpay.refund.query`, async () => {
    const r = await exec('alipay.trade.fastpay.refund.query', { out_trade_no: paid, out_request_no: refundNo });
    expect(r.code === '10000' && r.refund_status === 'REFUND_SUCCESS' && r.refund_amount === '2.34', 'not REFUND_SUCCESS', r);
    return `10000 REFUND_SUCCESS; ${signed}`;
  });
  await step(`${tag} alipay.trade.cancel (the confirming trade)`, async () => {
    const r = await exec('alipay.trade.cancel', { out_trade_no: paying });
    expect(r.code === '10000' && r.action === 'close' && r.retry_flag === 'N', 'not closed', r);
    return `10000 action close; ${signed}`;
  });
  await step(`${tag} alipay.trade.precreate (with notify_url)`, async () => {
    const r = await exec(
      'alipay.trade.precreate',
      { out_trade_no: qrPaid, total_amount: '8.88', subject: 'SDK QR', timeout_express: '10m' },
      { notifyUrl: receiver.url(`/alipay/${qrPaid}`) },
    );
    expect(r.code === '10000' && r.out_trade_no === qrPaid && typeof r.qr_code === 'string' && r.qr_code.startsWith(`${base}/pay/`), 'no qr_code', r);
    return `10000 qr_code ${r.qr_code}; ${signed}`;
  });
  await step(`${tag} alipay.trade.close (a scanned QR)`, async () => {
    const r1 = await exec('alipay.trade.precreate', { out_trade_no: qrClosed, total_amount: '3.21', subject: 'SDK QR', timeout_express: '10m' });
    expect(r1.code === '10000', 'precreate refused', r1);
    await customerScans(base, qrClosed);
    const r = await exec('alipay.trade.close', { out_trade_no: qrClosed });
    expect(r.code === '10000' && r.out_trade_no === qrClosed, 'not closed', r);
    return `10000; ${signed}`;
  });
  await step(`${tag} notify of the QR paid on the customer page`, async () => {
    const got = receiver.next(`/alipay/${qrPaid}`, (body) => {
      const form = new URLSearchParams(body);
      const names = [...form.keys()];
      const params = Object.fromEntries(form);
      const result = checkNotifySignPasses(sdk, params);
      const ok = result.accepted && names.length === new Set(names).size;
      return { status: 200, reply: ok ? 'success' : 'fail', verdict: { params, names, ...result } };
    });
    await customerPays(base, qrPaid);
    const { verdict } = await got;
    const { params } = verdict;
    expect(verdict.names.length === new Set(verdict.names).size, 'a form field appears twice', verdict.names);
    expect(verdict.accepted, 'checkNotifySignV2 refused the notify', verdict.tried);
    // The contract: a notify is signed over every parameter but `sign` and `sign_type`.
    expect(verdict.pass === 'without sign_type', `the SDK accepted the notify ${verdict.pass}, the contract signs it without sign_type`, verdict.tried);
    expect(
      params.out_trade_no === qrPaid && params.trade_status === 'TRADE_SUCCESS' && params.total_amount === '8.88'
        && params.app_id === ALIPAY_APP_ID && params.sign_type === 'RSA2' && params.notify_type === 'trade_status_sync',
      'the notify does not say our order is paid',
      params,
    );
    expect(!sdk.checkNotifySignV2({ ...params, total_amount: '88.80' }), 'checkNotifySignV2 also accepted a notify with another total_amount');
    await notifyAcknowledged(base, qrPaid);
    return 'checkNotifySignV2 true (over all fields but sign and sign_type), false once total_amount is changed; answered success, which the sandbox took';
  });
  await step(`${tag} a request signed with another key`, async () => {
    const intruder = alipaySdk({ gateway, mode, privateKey: key('merchant_private.pem') });
    // The refusal is unsigned (the contract), so the SDK is not asked to verify it.
    const r = await intruder.exec('alipay.trade.query', { bizContent: { out_trade_no: paid } });
    expect(r.code === '40002' && r.sub_code === 'isv.invalid-signature', 'not refused with isv.invalid-signature', r);
    return 'the sandbox answered 40002 isv.invalid-signature';
  });
  await step(`${tag} a reply whose sign the sandbox spoiled`, async () => {
    const outcome = await withSpoiledReplies(base, '/gateway.do', async () => {
      try {
        return { reply: await exec('alipay.trade.query', { out_trade_no: paid }) };
      } catch (err) {
        return { err };
      }
    });
    expect(outcome.err, 'the SDK accepted a reply with a spoiled sign', outcome.reply);
    expect(/验签失败/.test(outcome.err.message), `the SDK failed for another reason: ${outcome.err.message}`);
    return 'exec(…, {validateSign: true}) threw 验签失败';
  });
  if (mode === 'cert') {
    await step(`${tag} the reply's alipay_cert_sn`, async () => {
      // sdkExecute gives the SDK's signed parameters; posted as a form, the raw reply can be read.
      const form = sdk.sdkExecute('alipay.trade.query', { bizContent: { out_trade_no: paid } });
      const res = await sandboxFetch(gateway, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
        body: form,
      });
      const top = JSON.parse(res.text);
      expect(top.alipay_cert_sn === sdk.config.alipayCertSn, `alipay_cert_sn ${top.alipay_cert_sn} is not the SDK's SN of alipay_cert.pem, ${sdk.config.alipayCertSn}`, res.text);
      sdk.checkResponseSign(res.text, 'alipay_trade_query_response', top.sign, '');
      return `alipay_cert_sn ${top.alipay_cert_sn} = the SDK's SN of alipay_cert.pem (app ${sdk.config.appCertSn}, root ${sdk.config.alipayRootCertSn} accepted by the sandbox)`;
    });
  }
}

// ---------------------------------------------------------------- WeChat Pay v2

function wechatpay(base, secret = WECHAT_API_KEY) {
  return new Wechatpay({
    mchid: WECHAT_MCH_ID,
    // v3's set-up, required by the constructor; the v2 calls below do not use it.
    serial: 'paydesk-sandbox-unused',
    privateKey: key('merchant_private.pem'),
    certs: { 'paydesk-sandbox-unused-platform': key('alipay_public.pem') },
    secret,
    merchant: {
      cert: key('wechat_apiclient_cert.pem'),
      key: key('wechat_apiclient_key.pem'),
      ca: key('wechat_ca_cert.pem'),
    },
    baseURL: `${base}/`,
  });
}

/** The plugin's promise; a rejection keeps its code and the reply it carried. */
async function v2(call) {
  try {
    const res = await call();
    return res.data;
  } catch (err) {
    throw new CheckFailed(`the plugin rejected the call: ${err.code ?? ''} ${err.message}`, err.response?.data ?? err.cause?.message);
  }
}

const signTypeOf = (sign) => (sign && sign.length === 64 ? 'HMAC-SHA256' : 'MD5');

async function wechatChecks(report, { base, tls }, receiver) {
  const step = stepper(report);
  const wx = wechatpay(base);
  const secure = { security: true, baseURL: `${tls}/` };
  const common = (signType) => ({
    appid: WECHAT_APPID,
    mch_id: WECHAT_MCH_ID,
    ...(signType === 'HMAC-SHA256' ? { sign_type: 'HMAC-SHA256' } : {}),
  });
  const hmacPaid = orderNo('Wh');
  const md5Paid = orderNo('Wm');
  const nativeHmac = orderNo('Wnh');
  const nativeMd5 = orderNo('Wnm');
  const nativeClosed = orderNo('Wnx');
  const refundNo = orderNo('Wrf');
  const verified = (ty, data) => {
    // The plugin picks the algorithm by the sign's length; the contract: the request's algorithm.
    expect(signTypeOf(data.sign) === ty, `the reply is signed ${signTypeOf(data.sign)}, the request ${ty}`, data);
    return `the sandbox verified the plugin's ${ty} request, the plugin verified the ${ty} reply`;
  };

  for (const [ty, no, fee] of [['HMAC-SHA256', hmacPaid, '1234'], ['MD5', md5Paid, '500']]) {
    await step(`wechat micropay ${ty} (code ending 00)`, async () => {
      const d = await v2(() => wx.v2.pay.micropay.post({
        ...common(ty),
        body: 'SDK 核对 check',
        out_trade_no: no,
        total_fee: fee,
        spbill_create_ip: '127.0.0.1',
        auth_code: WECHAT_CODE('00'),
      }));
      expect(d.result_code === 'SUCCESS' && d.trade_type === 'MICROPAY' && d.out_trade_no === no && d.total_fee === fee, 'not paid', d);
      return `SUCCESS paid; ${verified(ty, d)}`;
    });
  }
  for (const [ty, no] of [['HMAC-SHA256', hmacPaid], ['MD5', md5Paid]]) {
    await step(`wechat orderquery ${ty}`, async () => {
      const d = await v2(() => wx.v2.pay.orderquery.post({ ...common(ty), out_trade_no: no }));
      expect(d.result_code === 'SUCCESS' && d.trade_state === 'SUCCESS' && d.out_trade_no === no, 'not SUCCESS', d);
      return `trade_state SUCCESS; ${verified(ty, d)}`;
    });
  }
  const native = (ty, no, fee, notifyPath) => v2(() => wx.v2.pay.unifiedorder.post({
    ...common(ty),
    body: 'SDK QR',
    out_trade_no: no,
    total_fee: fee,
    spbill_create_ip: '127.0.0.1',
    notify_url: receiver.url(notifyPath),
    trade_type: 'NATIVE',
    product_id: no,
    time_expire: beijingStamp(10),
  }));
  await step('wechat unifiedorder NATIVE HMAC-SHA256', async () => {
    const d = await native('HMAC-SHA256', nativeHmac, '888', `/wechat/${nativeHmac}`);
    expect(d.result_code === 'SUCCESS' && d.trade_type === 'NATIVE' && String(d.code_url).startsWith(`${base}/pay/`), 'no code_url', d);
    return `SUCCESS code_url ${d.code_url}; ${verified('HMAC-SHA256', d)}`;
  });
  await step('wechat unifiedorder NATIVE MD5, closeorder HMAC-SHA256', async () => {
    const d1 = await native('MD5', nativeClosed, '321', `/wechat/${nativeClosed}`);
    expect(d1.result_code === 'SUCCESS', 'unifiedorder refused', d1);
    verified('MD5', d1);
    const d = await v2(() => wx.v2.pay.closeorder.post({ ...common('HMAC-SHA256'), out_trade_no: nativeClosed }));
    expect(d.result_code === 'SUCCESS', 'not closed', d);
    return `SUCCESS; ${verified('HMAC-SHA256', d)}`;
  });
  for (const [ty, no, fee] of [['HMAC-SHA256', nativeHmac, null], ['MD5', nativeMd5, '666']]) {
    await step(`wechat notify of a NATIVE ${ty} order paid on the customer page`, async () => {
      if (fee) {
        const d = await native(ty, no, fee, `/wechat/${no}`);
        expect(d.result_code === 'SUCCESS', 'unifiedorder refused', d);
      }
      const got = receiver.next(`/wechat/${no}`, (body) => {
        const fields = Transformer.toObject(body);
        const { sign, ...rest } = fields ?? {};
        const type = signTypeOf(sign);
        const ours = Hash.sign(type, rest, WECHAT_API_KEY);
        const ok = typeof sign === 'string' && Hash.equals(ours, sign);
        return { status: 200, contentType: 'text/xml', reply: ok ? WECHAT_NOTIFY_ACK : '<xml><return_code><![CDATA[FAIL]]></return_code></xml>', verdict: { fields, type, ours, ok } };
      });
      await customerPays(base, no);
      const { verdict } = await got;
      const { fields } = verdict;
      expect(verdict.ok, `Hash.sign(${verdict.type}, fields without sign, key) is ${verdict.ours}, the notify's sign ${fields?.sign}`, fields);
      expect(verdict.type === ty, `the notify is signed ${verdict.type}, the order was made ${ty}`, fields);
      expect(
        fields.return_code === 'SUCCESS' && fields.result_code === 'SUCCESS' && fields.out_trade_no === no
          && fields.trade_type === 'NATIVE' && fields.appid === WECHAT_APPID && fields.mch_id === WECHAT_MCH_ID,
        'the notify does not say our order is paid',
        fields,
      );
      expect(Hash.sign(ty, { ...fields, sign: undefined, total_fee: '1' }, WECHAT_API_KEY) !== fields.sign, 'Hash.sign also matched with another total_fee');
      await notifyAcknowledged(base, no);
      return `Hash.sign(${ty}, …) equals the notify's sign; answered SUCCESS, which the sandbox took`;
    });
  }
  await step('wechat secapi/pay/reverse over mutual TLS (client certificate), MD5 order', async () => {
    const d = await v2(() => wx.v2.secapi.pay.reverse.post({ ...common('HMAC-SHA256'), out_trade_no: md5Paid }, secure));
    expect(d.result_code === 'SUCCESS' && d.recall === 'N', 'not reversed', d);
    const q = await v2(() => wx.v2.pay.orderquery.post({ ...common('MD5'), out_trade_no: md5Paid }));
    expect(q.trade_state === 'REVOKED', 'the order is not REVOKED after the reverse', q);
    return `SUCCESS recall N (then REVOKED) through ${tls}; ${verified('HMAC-SHA256', d)}`;
  });
  await step('wechat secapi/pay/refund over mutual TLS (client certificate)', async () => {
    const d = await v2(() => wx.v2.secapi.pay.refund.post({
      ...common('HMAC-SHA256'),
      out_trade_no: hmacPaid,
      out_refund_no: refundNo,
      total_fee: '1234',
      refund_fee: '234',
      refund_desc: 'SDK 核对',
    }, secure));
    expect(d.result_code === 'SUCCESS' && d.out_refund_no === refundNo && d.refund_fee === '234', 'not accepted', d);
    return `SUCCESS through ${tls}; ${verified('HMAC-SHA256', d)}`;
  });
  await step('wechat refundquery MD5', async () => {
    const d = await v2(() => wx.v2.pay.refundquery.post({ ...common('MD5'), out_refund_no: refundNo }));
    expect(d.result_code === 'SUCCESS' && d.out_refund_no_0 === refundNo && d.refund_status_0 === 'SUCCESS', 'not SUCCESS', d);
    return `refund_status_0 SUCCESS; ${verified('MD5', d)}`;
  });
  await step('wechat TLS listener without a client certificate', async () => {
    const err = await new Promise((resolve) => {
      const req = https.request(`${tls}/secapi/pay/reverse`, { method: 'POST', ca: key('wechat_ca_cert.pem'), timeout: 5000 }, (res) => {
        res.resume();
        resolve(null);
      });
      req.on('error', resolve);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end('<xml></xml>');
    });
    expect(err, 'the TLS listener answered a client without a certificate');
    return `refused (${err.code ?? err.message})`;
  });
  await step('wechat a request signed with another key', async () => {
    const intruder = wechatpay(base, 'x'.repeat(32));
    let err = null;
    try {
      await intruder.v2.pay.orderquery.post({ ...common('HMAC-SHA256'), out_trade_no: hmacPaid });
    } catch (e) {
      err = e;
    }
    expect(err && err.code === 'EV2_RES_STATUS_CODE_NOT_SUCESS', `not refused: ${err?.code}`, err?.response?.data);
    const d = err.response.data;
    expect(d.return_code === 'FAIL' && d.return_msg === '签名错误', 'not return_code FAIL 签名错误', d);
    return 'the sandbox answered return_code FAIL 签名错误';
  });
  await step('wechat a reply whose sign the sandbox spoiled', async () => {
    const err = await withSpoiledReplies(base, '/pay/orderquery', async () => {
      try {
        await wx.v2.pay.orderquery.post({ ...common('HMAC-SHA256'), out_trade_no: hmacPaid });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(err && err.code === 'EV2_RES_SIGNATURE_NOT_EQUAL', `the plugin did not refuse the sign: ${err?.code ?? 'accepted'}`, err?.response?.data);
    return 'the plugin\'s verifier refused it (EV2_RES_SIGNATURE_NOT_EQUAL)';
  });
}

// ---------------------------------------------------------------- main

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`against-sandbox: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  const report = new Report();
  const receiver = new NotifyReceiver();
  await receiver.start();
  try {
    if (opts.alipay) {
      await section(report, `alipay(${opts.alipayMode})`, () => alipayChecks(report, opts, receiver));
    }
    if (opts.wechat) {
      await section(report, 'wechat', () => wechatChecks(report, opts, receiver));
    }
  } finally {
    receiver.close();
  }
  if (report.passed === 0 && report.failed === 0) {
    console.log('FAIL nothing was checked');
    process.exit(1);
  }
  console.log(`against-sandbox: ${report.passed} checks passed, ${report.failed} failed`);
  process.exit(report.failed ? 1 : 0);
}

main().catch((err) => {
  console.error(`against-sandbox: ${err.stack ?? err}`);
  process.exit(1);
});
