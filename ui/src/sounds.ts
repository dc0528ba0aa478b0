// The two UI sounds, bundled by Vite from assets/sounds (made by scripts/make-sounds.mjs).
import successUrl from '../../assets/sounds/success.wav';
import failureUrl from '../../assets/sounds/failure.wav';

export type SoundName = 'success' | 'failure';

const urls: Record<SoundName, string> = { success: successUrl, failure: failureUrl };
const players = new Map<SoundName, HTMLAudioElement>();

/** Plays a sound; never throws (a webview without audio support just stays silent). */
export function playSound(name: SoundName): void {
  try {
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
