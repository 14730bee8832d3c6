// Community staff open the KPI dashboard on a phone: the three charts draw (ECharts
// canvases), the page fits the screen, and the period picker reloads it for 7 days.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { base, fitsWidth, login, phone } from "./browser.mjs";

test("the KPI dashboard draws its charts on a phone", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "shequ1");
    await page.goto(`${base}/stats/requests`);
    for (const id of ["kpi-compare", "kpi-gauge", "kpi-trend"]) {
      await page.locator(`#${id} canvas`).first().waitFor({ state: "attached" });
    }
    assert.ok(await fitsWidth(page), "the dashboard fits the phone");
    assert.ok(await page.locator("[data-testid=request-stats]").isVisible(), "the table stays");
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard-phone.png", fullPage: true });

    await Promise.all([
      page.waitForURL(/days=7/),
      page.selectOption("select[data-testid=kpi-days]", "7"),
    ]);
    await page.locator("#kpi-trend canvas").first().waitFor({ state: "attached" });
    assert.equal(await page.locator("select[data-testid=kpi-days]").inputValue(), "7");
  } finally {
    await close();
  }
});
