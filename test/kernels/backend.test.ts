// Backend selection in a fresh process: the native addon when it loads, otherwise the reference backend with one
// warning; MOD_BACKEND forces either.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { nativeBackend, referenceKernels } from '../../src/kernels/node.js';

const indexUrl = new URL('../../src/kernels/node.js', import.meta.url).href;
// Under tsx the sources are .ts and the child needs the tsx loader; compiled tests import dist's .js.
const loader = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
const script = `const k = await import(${JSON.stringify(indexUrl)}); console.log(k.kernels().name);`;

function run(env: Record<string, string>): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [...loader, '--input-type=module', '-e', script], {
    env: { ...process.env, MOD_BACKEND: '', MOD_ADDON_PATH: '', ...env },
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    encoding: 'utf8',
  });
  return { stdout: r.stdout.trim(), stderr: r.stderr, status: r.status };
}

describe('native backend', () => {
  it('provides every kernel of the interface itself (none falls back to TypeScript)', () => {
    const n = nativeBackend();
    assert.notEqual(typeof n, 'string', `addon unavailable: ${String(n)}`);
    if (typeof n === 'string') return;
    assert.deepEqual(n.missing, []);
    const names = Object.keys(referenceKernels).filter((k) => k !== 'name');
    for (const k of names) assert.equal(typeof (n.addon as unknown as Record<string, unknown>)[k], 'function', `addon lacks ${k}`);
  });
});

describe('backend selection', () => {
  it('uses the native addon by default', () => {
    const r = run({});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'native');
    assert.doesNotMatch(r.stderr, /addon unavailable/);
  });

  it('falls back to the reference backend with exactly one warning when the addon is missing', () => {
    const r = run({ MOD_ADDON_PATH: '/nonexistent/mod_native.node' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'reference');
    const warnings = r.stderr.split('\n').filter((l) => l.includes('native addon unavailable'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0]!, /MOD_ADDON_PATH=\/nonexistent\/mod_native\.node not found/);
  });

  it('MOD_BACKEND=reference forces the reference backend without a warning', () => {
    const r = run({ MOD_BACKEND: 'reference' });
    assert.equal(r.stdout, 'reference');
    assert.doesNotMatch(r.stderr, /addon unavailable/);
  });

  it('MOD_BACKEND=native fails loudly when the addon is missing, and a bad MOD_BACKEND names the fix', () => {
    const missing = run({ MOD_BACKEND: 'native', MOD_ADDON_PATH: '/nonexistent/mod_native.node' });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /MOD_BACKEND=native but the native addon is unavailable/);
    const bad = run({ MOD_BACKEND: 'gpu' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /MOD_BACKEND=gpu is not a backend; use MOD_BACKEND=native or MOD_BACKEND=reference/);
  });
});
