// Generates the two UI sounds into ../assets/sounds (16-bit PCM mono WAV, 22.05 kHz):
//   success.wav  a soft two-tone chime (A5 then E6), ~0.3 s
//   failure.wav  a low double buzz, ~0.4 s
// Run: node scripts/make-sounds.mjs   (deterministic: same bytes every run)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RATE = 22050;
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'sounds');

/** @param {number} seconds */
function silence(seconds) {
  return new Float64Array(Math.round(seconds * RATE));
}

/**
 * A bell-like tone: fundamental plus a quiet octave, fast attack, exponential decay.
 * @param {number} freq @param {number} seconds @param {number} decay
 */
function chime(freq, seconds, decay) {
  const n = Math.round(seconds * RATE);
  const out = new Float64Array(n);
  const attack = Math.round(0.004 * RATE);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const env = Math.min(1, i / attack) * Math.exp(-t * decay);
    out[i] =
      env *
      (0.8 * Math.sin(2 * Math.PI * freq * t) + 0.2 * Math.sin(2 * Math.PI * 2 * freq * t));
  }
  return out;
}

/**
 * A low buzz: a sine with odd harmonics (soft square), flat envelope with short fades.
 * @param {number} freq @param {number} seconds
 */
function buzz(freq, seconds) {
  const n = Math.round(seconds * RATE);
  const out = new Float64Array(n);
  const fade = Math.round(0.01 * RATE);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    let s = 0;
    for (const [h, a] of [
      [1, 1],
      [3, 0.33],
      [5, 0.2],
      [7, 0.14],
    ]) {
      s += a * Math.sin(2 * Math.PI * h * freq * t);
    }
    out[i] = env * s * 0.6;
  }
  return out;
}

/** Mixes `src` into `dst` starting at `at` seconds. @param {Float64Array} dst @param {Float64Array} src @param {number} at */
function mix(dst, src, at) {
  const off = Math.round(at * RATE);
  for (let i = 0; i < src.length && off + i < dst.length; i++) dst[off + i] += src[i];
  return dst;
}

/** @param {Float64Array} samples @param {number} gain */
function toWav(samples, gain) {
  const dataBytes = samples.length * 2;
  const buf = Buffer.alloc(44 + dataBytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + dataBytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(RATE, 24);
  buf.writeUInt32LE(RATE * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(dataBytes, 40);
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  const scale = peak > 0 ? (gain * 32767) / peak : 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round(samples[i] * scale)));
    buf.writeInt16LE(v, 44 + i * 2);
  }
  return buf;
}

// success: A5 (880 Hz) then E6 (1318.5 Hz), overlapping like a two-note door chime
const success = silence(0.32);
mix(success, chime(880, 0.32, 9), 0);
mix(success, chime(1318.51, 0.22, 11), 0.1);

// failure: two low buzzes at 180 Hz, 0.14 s each with a 0.08 s gap
const failure = silence(0.38);
mix(failure, buzz(180, 0.14), 0.0);
mix(failure, buzz(180, 0.14), 0.22);

mkdirSync(outDir, { recursive: true });
for (const [name, samples, gain] of [
  ['success.wav', success, 0.7],
  ['failure.wav', failure, 0.6],
]) {
  const wav = toWav(/** @type {Float64Array} */ (samples), /** @type {number} */ (gain));
  writeFileSync(join(outDir, /** @type {string} */ (name)), wav);
  console.log(`${name}: ${wav.length} bytes`);
}
