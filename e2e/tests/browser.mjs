// Shared set-up: Debian's Chromium driven by playwright-core (never a downloaded browser).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const base = process.env.MULIN_BASE_URL;
export const password = process.env.MULIN_DEMO_PASSWORD;

export function requireServer() {
  if (!base || !password) {
    throw new Error("MULIN_BASE_URL and MULIN_DEMO_PASSWORD must be set: run e2e/run.sh");
  }
}

/** A phone-sized page (390×844) in a fresh browser; call close() when done. */
export async function phone() {
  requireServer();
  const profile = mkdtempSync(join(tmpdir(), "mulin-e2e-"));
  // The machine's network is closed: background connections would only fail.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { page, close };
}

export async function login(page, username) {
  await page.goto(`${base}/login`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith("/login")), page.click("button[type=submit]")]);
}

/** True when the page fits the viewport's width (no sideways scrolling on a phone). */
export async function fitsWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
}
