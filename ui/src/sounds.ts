// The UI sounds. `success` and `failure` are bundled by Vite from assets/sounds (made by
// scripts/make-sounds.mjs); `read` is the short scanner beep for a code read by the serial scanner
// or the camera, synthesized with Web Audio (no file needed).
import successUrl from '../../assets/sounds/success.wav';
import failureUrl from '../../assets/sounds/failure.wav';

export type SoundName = 'success' | 'failure' | 'read';

const urls: Record<'success' | 'failure', string> = { success: successUrl, failure: failureUrl };
const players = new Map<SoundName, HTMLAudioElement>();

/** the read beep: one short tone like a handheld scanner's */
const READ_HZ = 2_400;
const READ_SECONDS = 0.09;
const READ_GAIN = 0.18;

let audioContext: AudioContext | null = null;

function readBeep(): void {
  const Ctx: typeof AudioContext | undefined =
    globalThis.AudioContext ?? (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx) return;
  audioContext ??= new Ctx();
  const ctx = audioContext;
  if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
  const t0 = ctx.currentTime;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = 'square';
  osc.frequency.value = READ_HZ;
  gain.gain.setValueAtTime(0, t0);
  gain.gain.linearRampToValueAtTime(READ_GAIN, t0 + 0.005);
  gain.gain.setValueAtTime(READ_GAIN, t0 + READ_SECONDS - 0.01);
  gain.gain.linearRampToValueAtTime(0, t0 + READ_SECONDS);
  osc.connect(gain).connect(ctx.destination);
  osc.start(t0);
  osc.stop(t0 + READ_SECONDS + 0.01);
}

/** Plays a sound; never throws (a webview without audio support just stays silent). */
export function playSound(name: SoundName): void {
  try {
    if (name === 'read') {
      readBeep();
      return;
    }
    if (typeof Audio === 'undefined') return;
    let a = players.get(name);
    if (!a) {
      a = new Audio(urls[name]);
      a.preload = 'auto';
      players.set(name, a);
    }
    a.currentTime = 0;
    void a.play().catch(() => undefined);
  } catch {
    // no audio: nothing to do
  }
}
