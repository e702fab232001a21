// Shared by the Node tests: load the built packages, generate orgs with the
// real generator, small helpers. No test framework beyond node:test.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const wasmDir = path.resolve(here, "..");
export const root = path.resolve(wasmDir, "..");
const require = createRequire(import.meta.url);

/**
 * The Node package (`pkg-node`, CommonJS). `SATCHEL_NODE_PKG` names another
 * build of it (a directory), e.g. one linked with a larger memory cap for a
 * benchmark at a size the 64 MiB module cannot hold.
 */
export function nodePackage() {
  const dir = process.env.SATCHEL_NODE_PKG ?? path.join(wasmDir, "pkg-node");
  return require(path.join(path.resolve(dir), "satchel_wasm.js"));
}

/** An ES-module package (`pkg-web` or `pkg-legacy`), initialised from its bytes. */
export async function esPackage(dir) {
  const mod = await import(path.join(wasmDir, dir, "satchel_wasm.js"));
  mod.initSync({ module: readFileSync(path.join(wasmDir, dir, "satchel_wasm_bg.wasm")) });
  return mod;
}

export function wasmBytes(dir) {
  return readFileSync(path.join(wasmDir, dir, "satchel_wasm_bg.wasm"));
}

export const fieldRepRules = readFileSync(path.join(root, "fixtures/rules/field-rep.json"), "utf8");
/** The generator's default reference time: the context's `now` in tests. */
export const NOW = 1790000000;

/**
 * Runs the real generator (`satchel-fixtures generate`) and hands each stdout
 * chunk to `onChunk` as it arrives; resolves when the generator exits 0.
 */
export function generate(accounts, seed, onChunk) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "cargo",
      ["run", "--release", "-q", "-p", "satchel-fixtures", "--", "generate",
        "--accounts", String(accounts), "--seed", String(seed)],
      { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
    );
    child.stdout.on("data", (chunk) => {
      try {
        onChunk(chunk);
      } catch (e) {
        child.kill();
        reject(e);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`generator exited ${code}`))));
  });
}

/** The whole NDJSON of a small org as one Buffer. */
export async function org(accounts, seed) {
  const parts = [];
  await generate(accounts, seed, (c) => parts.push(c));
  return Buffer.concat(parts);
}

/** Asserts `fn` throws a SatchelError with `code`; returns the error. */
export function throwsCode(assert, fn, code) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected a throw with code ${code}`);
  assert.ok(err instanceof Error, `thrown value is an Error: ${err}`);
  assert.equal(err.name, "SatchelError");
  assert.equal(err.code, code, err.message);
  return err;
}

/** The memory section's limits, read from the binary: { min, max } in 64 KiB pages. */
export function memoryLimits(bytes) {
  let i = 8;
  const leb = () => {
    let result = 0, shift = 0, b;
    do {
      b = bytes[i++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return result;
  };
  while (i < bytes.length) {
    const id = bytes[i++];
    const size = leb();
    const end = i + size;
    if (id === 5) {
      leb(); // count
      const flags = bytes[i++];
      const min = leb();
      const max = flags & 1 ? leb() : undefined;
      return { min, max };
    }
    i = end;
  }
  return undefined;
}
