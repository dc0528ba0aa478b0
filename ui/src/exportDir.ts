// Where CSV exports go: a folder the manager picked (kept on this till, shared by the Reports and
// Chain tabs), else null for the exports folder beside the ledger.

const DIR_KEY = 'paydesk.exportDir';

export function readExportDir(): string | null {
  try {
    return localStorage.getItem(DIR_KEY);
  } catch {
    return null;
  }
}

/** Asks for a folder (starting at `current`); returns the one picked and keeps it, or null. */
export async function pickExportDir(current: string | null, title: string): Promise<string | null> {
  const { open } = await import('@tauri-apps/plugin-dialog');
  const picked = await open({ directory: true, multiple: false, defaultPath: current ?? undefined, title });
  if (typeof picked !== 'string' || picked === '') return null;
  try {
    localStorage.setItem(DIR_KEY, picked);
  } catch {
    // not kept past this session; still used now
  }
  return picked;
}
