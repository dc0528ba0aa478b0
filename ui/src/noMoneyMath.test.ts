// Guard: the UI never turns amounts into numbers. No parseFloat / parseInt / Number() anywhere in
// the shipped source (tests excluded).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|svelte)$/.test(e.name) && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('no money arithmetic in the UI', () => {
  it('has no parseFloat, parseInt or Number() in src', () => {
    const files = sources(new URL('.', import.meta.url).pathname);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toMatch(/\bparseFloat\b|\bparseInt\b|\bNumber\s*\(|\btoFixed\s*\(\s*2\s*\)/);
    }
  });
});
