// Test-only: the core's commands and events mocked for the tests that run the real AppState. Every
// command of `api` becomes a `vi.fn()`, and `subscribe` keeps the handlers the app subscribed with.
// A test file mocks './api' with it and then reads the mocks from here:
//
//   vi.mock('./api', async (importOriginal) => (await import('./testApiMock')).mockApiModule(await importOriginal()));
//   import { apiMock, coreEvents } from './testApiMock';
//
// (`vi.mock`'s factory is hoisted above the imports, so it loads this module itself; the test's own
// import gets the same module, and so the same mocks.) Only types come from './api' here: the real
// module is the one `importOriginal` hands over.
import { vi, type Mock } from 'vitest';
import type * as ApiModule from './api';
import type { CoreEvents } from './api';

type Api = typeof ApiModule.api;

/** One mock per command of `api`; filled in when './api' is mocked (before the test's code runs). */
export const apiMock = {} as { [K in keyof Api]: Mock };

/** The handlers the app gave `subscribe` (null until it subscribed). */
export const coreEvents: { handlers: Partial<CoreEvents> | null } = { handlers: null };

/** Resets every command's mock, then gives the answers the flows take for granted: the amount is
 * checked as typed (`check_amount`), arming and disarming the scan succeed. */
export function resetApiMock(): void {
  for (const m of Object.values(apiMock)) m.mockReset();
  apiMock.checkAmount.mockImplementation(async (amountText: string) => ({ amountFen: 1234, amountText }));
  apiMock.armScan.mockResolvedValue(null);
  apiMock.disarmScan.mockResolvedValue(null);
}

/** './api' with every command mocked and `subscribe` recording the handlers (it unsubscribes nothing). */
export function mockApiModule(real: typeof ApiModule): typeof ApiModule {
  for (const key of Object.keys(real.api) as (keyof Api)[]) apiMock[key] = vi.fn();
  return {
    ...real,
    api: apiMock as unknown as Api,
    subscribe: vi.fn(async (h: Partial<CoreEvents>) => {
      coreEvents.handlers = h;
      return () => undefined;
    }),
  };
}
