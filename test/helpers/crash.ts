/**
 * Simulated kills for fault-injection tests: counts the file-system operations that change
 * anything under a folder and "kills" the process at the k-th one. From then on every change under
 * that folder fails, as nothing more would reach the disk after a real kill (the code's own
 * clean-up in catch/finally blocks included). A write or append hit by the kill is torn: half of
 * its bytes land first.
 */
import * as path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';

// The module object itself (an `import * as` namespace is read-only); ES imports see the patch after syncBuiltinESMExports.
const fs = createRequire(__filename)('node:fs');

export class SimulatedKill extends Error {
  constructor(op: string) {
    super(`simulated kill at ${op}`);
  }
}

export interface FsOp {
  name: string;
  path: string;
}

type AnyFn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Runs `fn` with the kill set at operation number `killAt` (1-based; Infinity: never) under
 * `root`. Returns the operations seen, whether the kill happened, and fn's error if any.
 */
export async function runWithKill(root: string, killAt: number, fn: () => Promise<unknown>): Promise<{ ops: FsOp[]; killed: boolean; error: unknown }> {
  const mod = fs as Record<string, AnyFn>;
  const real: Record<string, AnyFn> = {};
  const ops: FsOp[] = [];
  const fds = new Map<number, string>();
  let killed = false;
  const under = (p: unknown) => typeof p === 'string' && path.resolve(p).startsWith(path.resolve(root) + path.sep);
  const step = (name: string, p: string, torn?: () => void) => {
    if (killed) throw new SimulatedKill(`${name} ${p} (after the kill)`);
    ops.push({ name, path: p });
    if (ops.length === killAt) {
      killed = true;
      torn?.();
      throw new SimulatedKill(`${name} ${p}`);
    }
  };
  const wrap = (name: string, pathOf: (args: unknown[]) => string | null, torn?: (args: unknown[]) => void) => {
    real[name] = mod[name];
    mod[name] = (...args: unknown[]) => {
      const p = pathOf(args);
      if (p !== null) step(name, p, torn && (() => torn(args)));
      return real[name](...args);
    };
  };
  const firstPath = (args: unknown[]) => (under(args[0]) ? (args[0] as string) : null);
  const half = (data: unknown) => {
    const b = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data as Uint8Array);
    return b.subarray(0, b.length >> 1);
  };
  wrap('openSync', (args) => (under(args[0]) && /[wa]/.test(String(args[1] ?? 'r')) ? (args[0] as string) : null));
  wrap('writeSync', (args) => fds.get(args[0] as number) ?? null, (args) => real.writeSync(args[0], half(args[1])));
  wrap('appendFileSync', firstPath, (args) => real.appendFileSync(args[0], half(args[1])));
  wrap('writeFileSync', firstPath);
  wrap('renameSync', (args) => (under(args[0]) || under(args[1]) ? `${args[0]} -> ${args[1]}` : null));
  wrap('rmSync', firstPath);
  wrap('mkdirSync', firstPath);
  wrap('unlinkSync', firstPath);
  // Remember which descriptors point under root, so their writes count.
  const open = mod.openSync;
  mod.openSync = (...args: unknown[]) => {
    const fd = open(...args) as number;
    if (under(args[0])) fds.set(fd, args[0] as string);
    return fd;
  };
  syncBuiltinESMExports();
  let error: unknown = null;
  try {
    await fn();
  } catch (err) {
    error = err;
  } finally {
    Object.assign(mod, real);
    syncBuiltinESMExports();
  }
  return { ops, killed, error };
}
