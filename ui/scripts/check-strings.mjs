// Fails when a text passed to `t("…")` (or marked `N("…")`) anywhere under src/ has no
// Indonesian entry in src/strings.ts, or when strings.ts holds an entry no code uses any more.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const src = new URL("../src/", import.meta.url).pathname;
/** Every .ts file under `dir`, subfolders included (the screens live in src/screens/). */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}
const skipped = new Set([join(src, "bindings.ts"), join(src, "strings.ts")]);
const used = new Set();
for (const file of sources(src).filter((f) => !skipped.has(f))) {
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(/\b[tN]\(\s*"((?:[^"\\]|\\.)*)"/g)) used.add(JSON.parse(`"${match[1]}"`));
}
const strings = readFileSync(join(src, "strings.ts"), "utf8");
const known = new Set();
for (const match of strings.matchAll(/^\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][\w]*))\s*:/gm)) {
  known.add(match[1] !== undefined ? JSON.parse(`"${match[1]}"`) : match[2]);
}
const missing = [...used].filter((s) => !known.has(s));
const unused = [...known].filter((s) => !used.has(s));
for (const s of missing) console.error(`no Indonesian for: ${JSON.stringify(s)}`);
for (const s of unused) console.error(`unused translation: ${JSON.stringify(s)}`);
if (missing.length || unused.length) process.exit(1);
console.log(`${used.size} texts, each with its Indonesian`);
