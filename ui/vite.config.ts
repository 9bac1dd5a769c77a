import { defineConfig } from "vite";

// The desktop shell loads ui/dist (release) or this dev server (plain `cargo run`).
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2021", outDir: "dist", emptyOutDir: true },
});
