// The app's two languages. Every text the officer reads goes through `t` (keyed by its English,
// translated in `strings.ts`) or, for form fields and validation messages, comes from the Rust
// side in both languages as a `Label`. The officer switches language at any time; the current
// screen is drawn again.
import type { Label } from "./bindings";
import { ID } from "./strings";

export type Lang = "en" | "id";

const STORAGE_KEY = "enrollment-station.lang";

let current: Lang = localStorage.getItem(STORAGE_KEY) === "id" ? "id" : "en";

export function lang(): Lang {
  return current;
}

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
}

/** `english` in the current language, `{name}` placeholders filled from `params`. */
export function t(english: string, params: Record<string, string | number> = {}): string {
  const text = current === "id" ? (ID[english] ?? english) : english;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** Marks an English text kept in a table for translation at the place it is shown (`t(text)`). */
export function N(english: string): string {
  return english;
}

/** A Rust-side `Label` in the current language. */
export function pick(label: Label): string {
  return current === "id" ? label.id : label.en;
}

document.documentElement.lang = current;
